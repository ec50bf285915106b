import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { createLogger } from '../src/log';
import { setupTracing } from './setup';

const { provider } = setupTracing();

function capture() {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      for (const line of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(line));
      done();
    },
  });
  // pino writes synchronously to a plain stream, so the lines are there right after the call.
  return { lines, logger: createLogger('info', sink) };
}

describe('log lines', () => {
  it('carry trace_id and span_id of the active span (issue 15 keys)', () => {
    const { lines, logger } = capture();
    const tracer = provider.getTracer('test');
    let ids = { traceId: '', spanId: '' };
    tracer.startActiveSpan('process analytics', (span) => {
      ids = span.spanContext();
      logger.info({ id: 'x' }, 'page_view.stored');
      span.end();
    });
    const [line] = lines;
    assert.equal(line.trace_id, ids.traceId);
    assert.equal(line.span_id, ids.spanId);
    assert.match(String(line.trace_id), /^[0-9a-f]{32}$/);
    assert.match(String(line.span_id), /^[0-9a-f]{16}$/);
    assert.equal(line.trace_flags, '01');
    // pino's own keys: ISO 8601 UTC time with milliseconds, the level as a word, msg.
    assert.match(String(line.time), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.equal(line.level, 'info');
    assert.equal(line.msg, 'page_view.stored');
    assert.equal(line.service, 'analytics');
  });

  it('have no ids outside a span', () => {
    const { lines, logger } = capture();
    logger.info('http.listening');
    assert.equal('trace_id' in lines[0], false);
    assert.equal('span_id' in lines[0], false);
  });
});
