import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { PageViewStore } from '../src/db/store';
import { createHttpServer } from '../src/http/server';
import { createLogger } from '../src/log';
import { parseCalls } from '../src/debug/tracecontext';

const store = {} as PageViewStore;
const logger = createLogger('silent');

function listen(server: http.Server): Promise<string> {
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)),
  );
}

describe('POST /debug/tracecontext', () => {
  const received: { body: string }[] = [];
  const callback = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      received.push({ body });
      res.end('{}');
    });
  });
  let callbackUrl = '';
  before(async () => {
    callbackUrl = `${await listen(callback)}/cb`;
  });
  after(() => callback.close());

  it('is 404 unless enabled', async () => {
    const server = createHttpServer({ store, logger, subscriberStatus: () => ({ ready: true }) });
    const base = await listen(server);
    const res = await fetch(`${base}/debug/tracecontext`, { method: 'POST', body: '[]' });
    assert.equal(res.status, 404);
    server.close();
  });

  it('posts each arguments to its url, then answers 200', async () => {
    const server = createHttpServer({
      store,
      logger,
      subscriberStatus: () => ({ ready: true }),
      debugEndpoints: true,
    });
    const base = await listen(server);
    const body = JSON.stringify([
      { url: callbackUrl, arguments: [1] },
      { url: callbackUrl, arguments: { a: 2 } },
    ]);
    const res = await fetch(`${base}/debug/tracecontext`, { method: 'POST', body });
    assert.equal(res.status, 200);
    assert.deepEqual(
      received.map((r) => JSON.parse(r.body)),
      [[1], { a: 2 }],
    );
    const bad = await fetch(`${base}/debug/tracecontext`, { method: 'POST', body: '{"url": 1}' });
    assert.equal(bad.status, 400);
    server.close();
  });

  it('accepts only an array of objects with a string url', () => {
    assert.deepEqual(parseCalls('[{"url": "http://x", "arguments": []}]'), [{ url: 'http://x', arguments: [] }]);
    assert.equal(parseCalls('{"url": "x"}'), undefined);
    assert.equal(parseCalls('[{"url": 5}]'), undefined);
    assert.equal(parseCalls('not json'), undefined);
  });
});
