import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidPayloadError, MAX_PAYLOAD_BYTES, isRfc3339, parsePageView, peekId } from '../src/pageview/payload';

const good = { id: '3F2504E0-4F89-41D3-9A0C-0305E82C3301', path: '/products/1', clientIp: '127.0.0.1', ts: '2026-11-25T04:50:00.123456789Z' };
const buf = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v));

function rejects(payload: Buffer, type: InvalidPayloadError['type'], message?: RegExp): void {
  assert.throws(
    () => parsePageView(payload),
    (err: unknown) => err instanceof InvalidPayloadError && err.type === type && (!message || message.test(err.message)),
  );
}

describe('parsePageView', () => {
  it('accepts the contract payload and normalises the uuid to lower case', () => {
    assert.deepEqual(parsePageView(buf(good)), { ...good, id: good.id.toLowerCase() });
  });

  it('accepts IPv6 addresses, offsets and extra fields', () => {
    const view = parsePageView(buf({ ...good, clientIp: '::ffff:127.0.0.1', ts: '2026-01-01T00:00:00+05:30', extra: 1 }));
    assert.equal(view.clientIp, '::ffff:127.0.0.1');
  });

  it('rejects what is not a JSON object', () => {
    rejects(buf('not json'), 'payload_not_json');
    rejects(buf(''), 'payload_not_json');
    rejects(buf('[1,2]'), 'payload_invalid', /object/);
    rejects(buf('null'), 'payload_invalid', /object/);
    rejects(buf('"a string"'), 'payload_invalid', /object/);
  });

  it('rejects invalid UTF-8', () => {
    rejects(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), 'payload_not_utf8');
  });

  it('rejects payloads over 64 KiB before parsing them', () => {
    const big = buf({ ...good, path: '/' + 'a'.repeat(MAX_PAYLOAD_BYTES) });
    rejects(big, 'payload_too_large');
  });

  for (const field of ['id', 'path', 'clientIp', 'ts'] as const) {
    it(`rejects a missing or non-string "${field}"`, () => {
      const { [field]: _omitted, ...rest } = good;
      rejects(buf(rest), 'payload_invalid', new RegExp(`missing field "${field}"`));
      rejects(buf({ ...good, [field]: null }), 'payload_invalid', new RegExp(`missing field "${field}"`));
      rejects(buf({ ...good, [field]: 42 }), 'payload_invalid', /must be a string, got number/);
    });
  }

  it('rejects a bad uuid', () => {
    for (const id of ['', 'not-a-uuid', '3f2504e0-4f89-41d3-9a0c-0305e82c330', '3f2504e0-4f89-41d3-9a0c-0305e82c3301x', "1' OR '1'='1"]) {
      rejects(buf({ ...good, id }), 'payload_invalid', /"id" must be a UUID/);
    }
  });

  it('rejects a bad path', () => {
    rejects(buf({ ...good, path: 'products/1' }), 'payload_invalid', /start with/);
    rejects(buf({ ...good, path: '/a\nforged log line' }), 'payload_invalid', /control/);
    rejects(buf({ ...good, path: '/' + 'a'.repeat(5000) }), 'payload_invalid', /longer/);
  });

  it('accepts IPs, zoned IPv6 and host names as the client address', () => {
    for (const clientIp of ['10.1.2.3', '0:0:0:0:0:0:0:1', 'fe80::1%lo', 'unknown', 'proxy.internal']) {
      assert.equal(parsePageView(buf({ ...good, clientIp })).clientIp, clientIp);
    }
  });

  it('rejects an empty, spaced, control-laden or huge client address', () => {
    for (const clientIp of ['', '1.2.3.4 5.6.7.8', 'a\u0000b', 'x'.repeat(256)]) {
      rejects(buf({ ...good, clientIp }), 'payload_invalid', /clientIp/);
    }
  });

  it('rejects a bad timestamp', () => {
    for (const ts of ['yesterday', '2026-11-25', '2026-11-25 04:50:00Z', '2026-11-25T04:50:00', '1732510200', '2026-02-30T00:00:00Z', '2026-13-01T00:00:00Z', '2026-11-25T24:00:00Z', '2026-11-25T04:60:00Z', '2026-11-25T04:50:00+25:00']) {
      rejects(buf({ ...good, ts }), 'payload_invalid', /"ts"/);
    }
  });
});

describe('isRfc3339', () => {
  it('knows leap years', () => {
    assert.equal(isRfc3339('2024-02-29T00:00:00Z'), true);
    assert.equal(isRfc3339('2026-02-29T00:00:00Z'), false);
  });
  it('accepts lower-case t/z and up to nanoseconds', () => {
    assert.equal(isRfc3339('2026-11-25t04:50:00.123456789z'), true);
    assert.equal(isRfc3339('2026-11-25T04:50:00.1234567891Z'), false);
  });
});

describe('peekId', () => {
  it('finds the id of an otherwise invalid payload, and nothing in garbage', () => {
    assert.equal(peekId(buf({ id: 'abc', path: 3 })), 'abc');
    assert.equal(peekId(buf('garbage')), undefined);
    assert.equal(peekId(buf({ id: 7 })), undefined);
    assert.equal(peekId(buf('null')), undefined);
  });
});
