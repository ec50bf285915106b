import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { context, propagation } from '@opentelemetry/api';
import { BaggageSpanProcessor } from '@opentelemetry/baggage-span-processor';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { isAppBaggageKey } from '../src/baggage';
import { extractTraceContext } from '../src/mqtt/context';
import { setupTracing } from './setup';

setupTracing(); // context manager and W3C propagators
const exporter = new InMemorySpanExporter();
// The same processor chain as telemetry.ts: the baggage copier before the exporting processor.
const provider = new BasicTracerProvider({
  spanProcessors: [new BaggageSpanProcessor(isAppBaggageKey), new SimpleSpanProcessor(exporter)],
});

describe('app.* baggage on spans', () => {
  it('copies app.* entries from the extracted MQTT context, and nothing else', () => {
    const { parent } = extractTraceContext({
      traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
      baggage: 'app.session=s-42,user=alice,app.tenant=shop%201,application=x',
    });
    provider.getTracer('test').startSpan('process analytics', {}, parent).end();
    const [span] = exporter.getFinishedSpans();
    assert.deepEqual(span.attributes, { 'app.session': 's-42', 'app.tenant': 'shop 1' });
  });

  it('reaches child spans started inside the parent context', () => {
    exporter.reset();
    const bag = propagation.createBaggage({ 'app.session': { value: 'abc' } });
    const tracer = provider.getTracer('test');
    context.with(propagation.setBaggage(context.active(), bag), () => {
      tracer.startActiveSpan('parent', (p) => {
        tracer.startSpan('child').end();
        p.end();
      });
    });
    for (const span of exporter.getFinishedSpans()) assert.equal(span.attributes['app.session'], 'abc', span.name);
  });

  it('uses the app. prefix as the rule', () => {
    assert.equal(isAppBaggageKey('app.session'), true);
    assert.equal(isAppBaggageKey('application'), false);
    assert.equal(isAppBaggageKey('App.session'), false);
  });
});
