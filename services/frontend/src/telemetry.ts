// The browser's OpenTelemetry setup, and the only module that touches providers or exporters.
// main.ts imports it before anything else, so the instrumentations patch fetch and the event
// listeners before the page registers any.
import 'zone.js';

import { ZoneContextManager } from '@opentelemetry/context-zone';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { DocumentLoadInstrumentation } from '@opentelemetry/instrumentation-document-load';
import { FetchInstrumentation } from '@opentelemetry/instrumentation-fetch';
import { UserInteractionInstrumentation } from '@opentelemetry/instrumentation-user-interaction';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, type Span, type SpanProcessor, WebTracerProvider } from '@opentelemetry/sdk-trace-web';
import { ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions';

/** Requests that are plumbing, not the shop: exports, the viewer's API, the page's config. */
export const UNTRACED_URLS = [/\/v1\/traces$/, /\/viewer\//, /\/config\.json$/];

/**
 * sdk-trace-web 2.12's addSpanNetworkEvents still writes the pre-1.0 `http.response_content_length`
 * on fetch and resource spans; the stable name is `http.response.body.size`. Renamed as it is
 * set (spans are read-only once ended), until the SDK moves to the stable name.
 */
const RENAMED: Record<string, string> = { 'http.response_content_length': 'http.response.body.size' };

class StableAttributeNames implements SpanProcessor {
  onStart(span: Span): void {
    const setAttribute = span.setAttribute.bind(span);
    span.setAttribute = (key, value) => setAttribute(RENAMED[key] ?? key, value);
  }
  onEnd(): void {}
  forceFlush(): Promise<void> {
    return Promise.resolve();
  }
  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}

const provider = new WebTracerProvider({
  resource: resourceFromAttributes({ [ATTR_SERVICE_NAME]: 'frontend' }),
  spanProcessors: [
    new StableAttributeNames(),
    new BatchSpanProcessor(
      // Same origin: the gateway forwards /v1/traces to wherever the services export, so the
      // browser needs no CORS and no collector address.
      new OTLPTraceExporter({ url: '/v1/traces' }),
      // Local mode's 500 ms (docs/ARCHITECTURE.md, Decisions): the waterfall under a click fills within a second.
      { scheduledDelayMillis: 500 },
    ),
  ],
});

// The zone context manager carries the click span across the handler's awaits, so it is the
// parent of the fetch; the default propagator is W3C trace context + baggage.
provider.register({ contextManager: new ZoneContextManager() });

registerInstrumentations({
  tracerProvider: provider,
  instrumentations: [
    new DocumentLoadInstrumentation(),
    new UserInteractionInstrumentation({ eventNames: ['click'] }),
    // Same-origin requests get traceparent without propagateTraceHeaderCorsUrls: the SDK
    // compares the request's origin with location.origin (shouldPropagateTraceHeaders).
    new FetchInstrumentation({ ignoreUrls: UNTRACED_URLS }),
  ],
});
