// POST /debug/tracecontext (only with POLYTRACE_DEBUG_ENDPOINTS=1): the service side of the
// W3C Trace Context test-suite protocol. The body is a JSON array of {url, arguments}; each
// `arguments` is POSTed as JSON to its `url` with node:http — traced by
// @opentelemetry/instrumentation-http, which injects the context through the global
// propagator — while the incoming request's SERVER span is the active context.
import http from 'node:http';

export interface TraceContextCall {
  url: string;
  arguments: unknown;
}

export function parseCalls(body: string): TraceContextCall[] | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return undefined;
  }
  if (!Array.isArray(parsed)) return undefined;
  const ok = parsed.every(
    (c) => typeof c === 'object' && c !== null && typeof (c as { url?: unknown }).url === 'string',
  );
  return ok ? (parsed as TraceContextCall[]) : undefined;
}

const TIMEOUT_MS = 5_000;

/** POSTs `call.arguments` to `call.url`; resolves when answered (or failed: the harness judges). */
export function postCall(call: TraceContextCall): Promise<void> {
  return new Promise((resolve) => {
    const json = JSON.stringify(call.arguments ?? null);
    let req: http.ClientRequest;
    try {
      req = http.request(call.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(json) },
        timeout: TIMEOUT_MS,
      });
    } catch {
      return resolve();
    }
    req.on('response', (res) => {
      res.resume();
      res.on('end', () => resolve());
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve());
    req.end(json);
  });
}

export function readBody(req: http.IncomingMessage, limit = 1 << 20): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) reject(new Error('body too large'));
      else chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}
