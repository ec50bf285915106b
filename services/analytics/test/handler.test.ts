import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { type InsertResult, type PageViewStore, RowRejectedError, type ViewCounts } from '../src/db/store';
import { createLogger } from '../src/log';
import {
  REASON_PAYLOAD_FORMAT_INVALID,
  REASON_SUCCESS,
  REASON_UNSPECIFIED_ERROR,
  createMessageHandler,
  storeReadiness,
} from '../src/pageview/handler';
import type { PageView } from '../src/pageview/payload';
import { setupTracing } from './setup';

const { exporter, provider } = setupTracing();

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const PRODUCER_SPAN_ID = '00f067aa0ba902b7';
const TRACEPARENT = `00-${TRACE_ID}-${PRODUCER_SPAN_ID}-01`;
const ID = '11111111-2222-4333-8444-555555555501';

/** Same idempotency contract as the SQL (ON CONFLICT (id) DO NOTHING); remembers the active span. */
class FakeStore implements PageViewStore {
  readonly rows = new Map<string, PageView>();
  readonly activeSpanIds: (string | undefined)[] = [];
  failWith: Error | undefined;

  async insert(view: PageView): Promise<InsertResult> {
    this.activeSpanIds.push(trace.getActiveSpan()?.spanContext().spanId);
    if (this.failWith) throw this.failWith;
    if (this.rows.has(view.id)) return 'duplicate';
    this.rows.set(view.id, view);
    return 'stored';
  }
  async counts(): Promise<ViewCounts> {
    const byPath: Record<string, number> = {};
    for (const v of this.rows.values()) byPath[v.path] = (byPath[v.path] ?? 0) + 1;
    return { total: this.rows.size, byPath };
  }
  async ping(): Promise<void> {}
  async close(): Promise<void> {}
}

function setup() {
  const store = new FakeStore();
  const flags = { analyticsFailure: async () => false };
  const handle = createMessageHandler({ tracer: provider.getTracer('test'), store, flags, logger: createLogger('silent') });
  return { store, handle };
}

const payload = (over: Record<string, unknown> = {}) =>
  Buffer.from(JSON.stringify({ id: ID, path: '/products/1', clientIp: '127.0.0.1', ts: '2026-11-25T04:50:00Z', ...over }));

function onlySpan(): ReadableSpan {
  const spans = exporter.getFinishedSpans();
  assert.equal(spans.length, 1, 'exactly one span');
  return spans[0];
}

afterEach(() => exporter.reset());

describe('consumer span', () => {
  it('is a CONSUMER span "process analytics", child of the producer span, with the messaging attributes', async () => {
    const { store, handle } = setup();
    const outcome = await handle({ topic: 'analytics', payload: payload(), userProperties: { traceparent: TRACEPARENT } });
    assert.deepEqual(outcome, { kind: 'stored', ack: true, reasonCode: REASON_SUCCESS });

    const span = onlySpan();
    assert.equal(span.name, 'process analytics');
    assert.equal(span.kind, SpanKind.CONSUMER);
    assert.equal(span.spanContext().traceId, TRACE_ID);
    assert.equal(span.parentSpanContext?.spanId, PRODUCER_SPAN_ID);
    assert.equal(span.status.code, SpanStatusCode.UNSET);
    assert.deepEqual(span.attributes, {
      'messaging.system': 'mqtt',
      'messaging.destination.name': 'analytics',
      'messaging.operation.type': 'process',
      'messaging.operation.name': 'process',
      'messaging.message.body.size': payload().length,
      'messaging.message.id': ID,
      'url.path': '/products/1',
      'client.address': '127.0.0.1',
      'app.page_view.outcome': 'stored',
    });
    // the insert ran inside the consumer span, so the pg span is its child
    assert.deepEqual(store.activeSpanIds, [span.spanContext().spanId]);
  });

  it('accepts the traceparent as string[]', async () => {
    const { handle } = setup();
    await handle({ topic: 'analytics', payload: payload(), userProperties: { traceparent: [TRACEPARENT] } });
    assert.equal(onlySpan().parentSpanContext?.spanId, PRODUCER_SPAN_ID);
  });

  it('starts a new trace, without error, when there is no trace context', async () => {
    const { handle } = setup();
    await handle({ topic: 'analytics', payload: payload() });
    const span = onlySpan();
    assert.equal(span.parentSpanContext, undefined);
    assert.equal(span.status.code, SpanStatusCode.UNSET);
  });

  for (const traceparent of [`00-${'0'.repeat(32)}-${'0'.repeat(16)}-01`, 'garbage']) {
    it(`starts a new trace and records an ERROR for traceparent ${JSON.stringify(traceparent)}, but stores the view`, async () => {
      const { store, handle } = setup();
      const outcome = await handle({ topic: 'analytics', payload: payload(), userProperties: { traceparent } });
      assert.equal(outcome.kind, 'stored');
      assert.equal(store.rows.size, 1);
      const span = onlySpan();
      assert.equal(span.parentSpanContext, undefined);
      assert.notEqual(span.spanContext().traceId, '0'.repeat(32));
      assert.equal(span.status.code, SpanStatusCode.ERROR);
      assert.equal(span.attributes['error.type'], 'invalid_trace_context');
      assert.equal(span.events[0]?.name, 'exception');
    });
  }
});

describe('malformed payloads', () => {
  const cases: [string, Buffer, string][] = [
    ['not JSON', Buffer.from('this is not json'), 'payload_not_json'],
    ['missing field', Buffer.from(JSON.stringify({ id: ID, path: '/x', clientIp: '127.0.0.1' })), 'payload_invalid'],
    ['wrong type', payload({ path: 17 }), 'payload_invalid'],
    ['bad uuid', payload({ id: 'nope' }), 'payload_invalid'],
    ['bad ts', payload({ ts: '2026-02-30T00:00:00Z' }), 'payload_invalid'],
    ['oversized', Buffer.alloc(70_000, 0x61), 'payload_too_large'],
  ];
  for (const [label, body, errorType] of cases) {
    it(`${label}: ERROR span with error.type=${errorType} and an exception event; acknowledged, not stored`, async () => {
      const { store, handle } = setup();
      const outcome = await handle({ topic: 'analytics', payload: body, userProperties: { traceparent: TRACEPARENT } });
      assert.deepEqual(outcome, { kind: 'rejected', ack: true, reasonCode: REASON_PAYLOAD_FORMAT_INVALID, errorType });
      assert.equal(store.rows.size, 0);
      const span = onlySpan();
      assert.equal(span.status.code, SpanStatusCode.ERROR);
      assert.equal(span.attributes['error.type'], errorType);
      assert.equal(span.attributes['app.page_view.outcome'], 'rejected');
      assert.equal(span.events[0]?.name, 'exception');
      assert.equal(span.spanContext().traceId, TRACE_ID, 'still part of the producer trace');
    });
  }

  it('a poison message does not stop the next good one', async () => {
    const { store, handle } = setup();
    await handle({ topic: 'analytics', payload: Buffer.from('{') });
    const outcome = await handle({ topic: 'analytics', payload: payload() });
    assert.equal(outcome.kind, 'stored');
    assert.equal(store.rows.size, 1);
  });
});

describe('idempotency and store failures', () => {
  it('stores a redelivered id once and acknowledges both deliveries', async () => {
    const { store, handle } = setup();
    const first = await handle({ topic: 'analytics', payload: payload() });
    const second = await handle({ topic: 'analytics', payload: payload({ id: ID.toUpperCase() }) });
    assert.equal(first.kind, 'stored');
    assert.deepEqual(second, { kind: 'duplicate', ack: true, reasonCode: REASON_SUCCESS });
    assert.deepEqual(await store.counts(), { total: 1, byPath: { '/products/1': 1 } });
    const outcomes = exporter.getFinishedSpans().map((s) => s.attributes['app.page_view.outcome']);
    assert.deepEqual(outcomes, ['stored', 'duplicate']);
  });

  it('does not acknowledge when the database is unavailable', async () => {
    const { store, handle } = setup();
    store.failWith = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:55432'), { code: 'ECONNREFUSED' });
    const outcome = await handle({ topic: 'analytics', payload: payload() });
    assert.deepEqual(outcome, { kind: 'failed', ack: false, errorType: 'ECONNREFUSED' });
    const span = onlySpan();
    assert.equal(span.status.code, SpanStatusCode.ERROR);
    assert.equal(span.attributes['error.type'], 'ECONNREFUSED');
    assert.equal(span.attributes['app.page_view.outcome'], 'failed');
    assert.equal(span.events[0]?.name, 'exception');
  });

  it('acknowledges a row the database refuses (it would never succeed)', async () => {
    const { store, handle } = setup();
    const pgError = Object.assign(new Error('date/time field value out of range'), { code: '22008' });
    store.failWith = new RowRejectedError('22008', pgError);
    const outcome = await handle({ topic: 'analytics', payload: payload() });
    assert.deepEqual(outcome, { kind: 'rejected', ack: true, reasonCode: REASON_UNSPECIFIED_ERROR, errorType: 'db_row_rejected' });
    assert.equal(onlySpan().attributes['error.type'], 'db_row_rejected');
  });
});

describe('storeReadiness', () => {
  it('passes only with the failure flag off and the database answering', async () => {
    const store = new FakeStore();
    let on = true;
    const ready = storeReadiness({ store, flags: { analyticsFailure: async () => on } });
    await assert.rejects(ready(), (err: Error) => err.name === 'FailureFlagError' && /analyticsFailure/.test(err.message));
    on = false;
    await ready();
    store.ping = async () => {
      throw Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    };
    await assert.rejects(ready(), /ECONNREFUSED/);
  });
});
