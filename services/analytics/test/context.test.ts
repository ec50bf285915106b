import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ROOT_CONTEXT, propagation, TraceFlags } from '@opentelemetry/api';
import { extractTraceContext, userPropertiesGetter } from '../src/mqtt/context';
import { setupTracing } from './setup';

setupTracing();

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const SPAN_ID = '00f067aa0ba902b7';
const TRACEPARENT = `00-${TRACE_ID}-${SPAN_ID}-01`;

describe('userPropertiesGetter', () => {
  it('returns strings and string arrays, and nothing for missing carriers or keys', () => {
    assert.equal(userPropertiesGetter.get({ traceparent: 'x' }, 'traceparent'), 'x');
    assert.deepEqual(userPropertiesGetter.get({ traceparent: ['x', 'y'] }, 'traceparent'), ['x', 'y']);
    assert.equal(userPropertiesGetter.get({ traceparent: [] }, 'traceparent'), undefined);
    assert.equal(userPropertiesGetter.get({}, 'traceparent'), undefined);
    assert.equal(userPropertiesGetter.get(undefined, 'traceparent'), undefined);
    assert.deepEqual(userPropertiesGetter.keys({ a: '1', b: ['2'] }), ['a', 'b']);
    assert.deepEqual(userPropertiesGetter.keys(undefined), []);
  });

  it('ignores non-string members an array might carry', () => {
    const weird = { traceparent: [TRACEPARENT, 5 as unknown as string] };
    assert.deepEqual(userPropertiesGetter.get(weird, 'traceparent'), [TRACEPARENT]);
  });

  it('falls back to a case-insensitive match', () => {
    assert.equal(userPropertiesGetter.get({ TraceParent: 'x' }, 'traceparent'), 'x');
  });
});

describe('extractTraceContext', () => {
  it('continues a valid traceparent given as a string', () => {
    const got = extractTraceContext({ traceparent: TRACEPARENT });
    assert.equal(got.status, 'valid');
    assert.equal(got.remote?.traceId, TRACE_ID);
    assert.equal(got.remote?.spanId, SPAN_ID);
    assert.equal(got.remote?.isRemote, true);
    assert.equal(got.remote?.traceFlags, TraceFlags.SAMPLED);
  });

  it('continues a valid traceparent given as string[] (repeated property: first wins)', () => {
    const got = extractTraceContext({ traceparent: [TRACEPARENT, `00-${'a'.repeat(32)}-${'b'.repeat(16)}-01`] });
    assert.equal(got.status, 'valid');
    assert.equal(got.remote?.traceId, TRACE_ID);
  });

  it('carries tracestate and baggage along', () => {
    const got = extractTraceContext({ traceparent: TRACEPARENT, tracestate: 'vendor=abc', baggage: 'user=alice' });
    assert.equal(got.remote?.traceState?.get('vendor'), 'abc');
    assert.equal(propagation.getBaggage(got.parent)?.getEntry('user')?.value, 'alice');
  });

  it('reports an absent context (no user properties, or no traceparent) as a new trace, not an error', () => {
    for (const props of [undefined, {}, { other: 'x' }]) {
      const got = extractTraceContext(props);
      assert.equal(got.status, 'absent');
      assert.equal(got.parent, ROOT_CONTEXT);
    }
  });

  it('reports garbage and all-zero traceparents as invalid, with the root context as parent', () => {
    for (const traceparent of [
      'garbage',
      '',
      `00-${'0'.repeat(32)}-${'0'.repeat(16)}-01`,
      `00-${TRACE_ID}-${'0'.repeat(16)}-01`,
      `00-${'0'.repeat(32)}-${SPAN_ID}-01`,
      `ff-${TRACE_ID}-${SPAN_ID}-01`,
      `00-${TRACE_ID.toUpperCase()}-${SPAN_ID}-01x`,
      ['garbage'],
    ]) {
      const got = extractTraceContext({ traceparent, baggage: 'user=mallory' });
      assert.equal(got.status, 'invalid', `traceparent ${JSON.stringify(traceparent)}`);
      assert.equal(got.parent, ROOT_CONTEXT);
    }
  });
});
