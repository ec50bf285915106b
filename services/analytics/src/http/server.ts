// HTTP interface: GET /views and GET /health, JSON everywhere (errors are {"error": "..."}).
// node:http is enough for two routes; the http instrumentation makes the SERVER spans and we
// only tell it the route (http.route, span name "GET /views").
import http from 'node:http';
import { context } from '@opentelemetry/api';
import { RPCType, getRPCMetadata } from '@opentelemetry/core';
import type { PageViewStore } from '../db/store';
import type { Logger } from '../log';
import { parseCalls, postCall, readBody } from '../debug/tracecontext';

export interface HttpDeps {
  store: PageViewStore;
  /** MQTT side of readiness */
  subscriberStatus: () => { ready: boolean; reason?: string };
  logger: Logger;
  /** how long /health waits for the database */
  healthTimeoutMs?: number;
  /** POLYTRACE_DEBUG_ENDPOINTS=1: serve POST /debug/tracecontext */
  debugEndpoints?: boolean;
}

function send(res: http.ServerResponse, status: number, body: unknown, headers: http.OutgoingHttpHeaders = {}): void {
  const json = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(json),
    'cache-control': 'no-store',
    ...headers,
  });
  res.end(json);
}

function setRoute(route: string): void {
  const meta = getRPCMetadata(context.active());
  if (meta?.type === RPCType.HTTP) meta.route = route;
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

const ROUTES = new Set(['/views', '/health']);

const DEBUG_TRACECONTEXT = '/debug/tracecontext';

export function createHttpServer({
  store,
  subscriberStatus,
  logger,
  healthTimeoutMs = 2_000,
  debugEndpoints = false,
}: HttpDeps): http.Server {
  async function route(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (debugEndpoints && path === DEBUG_TRACECONTEXT) {
      setRoute(path);
      if (req.method !== 'POST') return send(res, 405, { error: 'method not allowed' }, { allow: 'POST' });
      const calls = parseCalls(await readBody(req));
      if (!calls) return send(res, 400, { error: 'body must be a JSON array of {"url": ..., "arguments": ...}' });
      for (const call of calls) await postCall(call); // in order, inside this request's span
      return send(res, 200, { calls: calls.length });
    }
    if (!ROUTES.has(path)) return send(res, 404, { error: 'not found' });
    setRoute(path);
    if (req.method !== 'GET') return send(res, 405, { error: 'method not allowed' }, { allow: 'GET' });

    if (path === '/views') {
      try {
        const { total, byPath } = await store.counts();
        return send(res, 200, { total, by_path: byPath });
      } catch (err) {
        logger.error({ reason: (err as Error).message }, 'views.query_failed');
        return send(res, 503, { error: 'database unavailable' });
      }
    }

    // /health: ready only when the database answers AND the MQTT subscription is live.
    try {
      await withTimeout(store.ping(), healthTimeoutMs, 'database ping');
    } catch (err) {
      return send(res, 503, { status: 'unavailable', error: `database unreachable: ${(err as Error).message}` });
    }
    const mqtt = subscriberStatus();
    if (!mqtt.ready) return send(res, 503, { status: 'unavailable', error: mqtt.reason ?? 'mqtt not ready' });
    return send(res, 200, { status: 'ok' });
  }

  const server = http.createServer((req, res) => {
    route(req, res).catch((err: unknown) => {
      logger.error({ reason: (err as Error).message }, 'http.unhandled_error');
      if (!res.headersSent) send(res, 500, { error: 'internal error' });
      else res.destroy();
    });
  });
  server.keepAliveTimeout = 5_000;
  return server;
}
