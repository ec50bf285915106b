// The page-view event (docs/ARCHITECTURE.md, contracts) and its validation. Pure functions: no I/O, no telemetry.
//   {"id": "<uuid>", "path": "/products/1", "clientIp": "127.0.0.1", "ts": "<RFC 3339>"}
export interface PageView {
  /** lower-case canonical UUID text */
  id: string;
  path: string;
  clientIp: string;
  /** RFC 3339 text as received (PostgreSQL parses it; keeps sub-millisecond digits) */
  ts: string;
}

export const MAX_PAYLOAD_BYTES = 64 * 1024;
export const MAX_PATH_LENGTH = 2048;
export const MAX_CLIENT_ADDRESS_LENGTH = 255;

/** Why a payload was refused; `type` is what goes into the span's `error.type`. */
export class InvalidPayloadError extends Error {
  constructor(
    readonly type: 'payload_too_large' | 'payload_not_utf8' | 'payload_not_json' | 'payload_invalid',
    message: string,
  ) {
    super(message);
    this.name = 'InvalidPayloadError';
  }
}

const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
// RFC 3339 date-time (section 5.6): full-date "T" full-time, offset Z or ±hh:mm.
const RFC3339 =
  /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?(?:[Zz]|([+-])(\d{2}):(\d{2}))$/;
// C0 controls and DEL have no place in a URL path (and would forge log lines).
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;

function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/** True for an RFC 3339 timestamp that names a real instant (no 30 February, no 25:00). */
export function isRfc3339(value: string): boolean {
  const m = RFC3339.exec(value);
  if (!m) return false;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number);
  if (year < 1 || month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return false;
  if (hour > 23 || minute > 59 || second > 59) return false;
  if (m[8] !== undefined && (Number(m[9]) > 14 || Number(m[10]) > 59)) return false;
  return true;
}

function requireString(obj: Record<string, unknown>, field: string): string {
  const value = obj[field];
  if (value === undefined || value === null) {
    throw new InvalidPayloadError('payload_invalid', `missing field "${field}"`);
  }
  if (typeof value !== 'string') {
    throw new InvalidPayloadError('payload_invalid', `field "${field}" must be a string, got ${typeof value}`);
  }
  return value;
}

/** Best effort: the event id for the span/log even when the rest of the payload is bad. */
export function peekId(payload: Buffer): string | undefined {
  if (payload.length > MAX_PAYLOAD_BYTES) return undefined;
  try {
    const obj: unknown = JSON.parse(payload.toString('utf8'));
    const id = (obj as { id?: unknown } | null)?.id;
    return typeof id === 'string' && id.length <= 64 ? id : undefined;
  } catch {
    return undefined;
  }
}

/** Parses and validates an MQTT payload; throws InvalidPayloadError saying what is wrong. */
export function parsePageView(payload: Buffer): PageView {
  if (payload.length > MAX_PAYLOAD_BYTES) {
    throw new InvalidPayloadError('payload_too_large', `payload is ${payload.length} bytes, limit ${MAX_PAYLOAD_BYTES}`);
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(payload);
  } catch {
    throw new InvalidPayloadError('payload_not_utf8', 'payload is not valid UTF-8');
  }
  let obj: unknown;
  try {
    obj = JSON.parse(text);
  } catch {
    throw new InvalidPayloadError('payload_not_json', 'payload is not JSON');
  }
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) {
    throw new InvalidPayloadError('payload_invalid', 'payload must be a JSON object');
  }
  const record = obj as Record<string, unknown>;

  const id = requireString(record, 'id');
  if (!UUID.test(id)) throw new InvalidPayloadError('payload_invalid', 'field "id" must be a UUID');

  const path = requireString(record, 'path');
  if (!path.startsWith('/')) throw new InvalidPayloadError('payload_invalid', 'field "path" must start with "/"');
  if (path.length > MAX_PATH_LENGTH) {
    throw new InvalidPayloadError('payload_invalid', `field "path" is longer than ${MAX_PATH_LENGTH} characters`);
  }
  if (CONTROL.test(path)) throw new InvalidPayloadError('payload_invalid', 'field "path" contains control characters');

  // Normally an IPv4/IPv6 literal, but client.address may also be a host or socket name, and a
  // producer that could not see the peer sends a placeholder: store it rather than lose the view.
  const clientIp = requireString(record, 'clientIp');
  if (clientIp === '' || clientIp.length > MAX_CLIENT_ADDRESS_LENGTH || /\s/.test(clientIp) || CONTROL.test(clientIp)) {
    throw new InvalidPayloadError(
      'payload_invalid',
      `field "clientIp" must be an address of 1-${MAX_CLIENT_ADDRESS_LENGTH} characters without spaces`,
    );
  }

  const ts = requireString(record, 'ts');
  if (!isRfc3339(ts)) throw new InvalidPayloadError('payload_invalid', 'field "ts" must be an RFC 3339 timestamp');

  return { id: id.toLowerCase(), path, clientIp, ts };
}
