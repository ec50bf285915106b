import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { COUNT_BY_PATH, INSERT_VIEW, PING, nameQuerySpan } from '../src/db/statements';
import { setupTracing } from './setup';

const { exporter, provider } = setupTracing();

/** A span as instrumentation-pg starts it, passed through the hook, then ended. */
function hooked(text: string, connection: { database?: string } = { database: 'polytrace' }): ReadableSpan {
  exporter.reset();
  const span = provider.getTracer('test').startSpan(`pg.query:${text.split(' ')[0]} ${connection.database}`);
  nameQuerySpan(span, { query: { text }, connection });
  span.end();
  return exporter.getFinishedSpans()[0];
}

describe('pg span names: {db.operation.name} {target}', () => {
  it('names the insert after its table', () => {
    const span = hooked(INSERT_VIEW.text);
    assert.equal(span.name, 'INSERT analytics.page_view');
    assert.equal(span.attributes['db.operation.name'], 'INSERT');
    assert.equal(span.attributes['db.collection.name'], 'analytics.page_view');
    assert.equal(span.attributes['db.query.summary'], 'INSERT analytics.page_view');
  });

  it('names the count after its table', () => {
    assert.equal(hooked(COUNT_BY_PATH.text).name, 'SELECT analytics.page_view');
  });

  it('uses the namespace as the target of a statement without a table', () => {
    const span = hooked(PING.text);
    assert.equal(span.name, 'SELECT polytrace');
    assert.equal(span.attributes['db.collection.name'], undefined);
    assert.equal(hooked(PING.text, {}).name, 'SELECT');
  });

  it('leaves a statement it does not know as the instrumentation named it', () => {
    const span = hooked('DELETE FROM analytics.page_view');
    assert.equal(span.name, 'pg.query:DELETE polytrace');
    assert.equal(span.attributes['db.operation.name'], undefined);
  });

  it('declares each operation as the first keyword of its text', () => {
    for (const s of [INSERT_VIEW, COUNT_BY_PATH, PING]) assert.equal(s.text.split(' ')[0], s.operation);
  });
});
