// OpenTelemetry SDK setup — and nothing else. Loaded before the application with
// `node --require ./dist/telemetry.js dist/main.js`, so `http` and `pg` are patched before
// any module requires them. Everything is configured by the standard OTEL_* variables
// (endpoint, headers, propagators, batch processor, sampler, resource, OTEL_SDK_DISABLED).
import { BaggageSpanProcessor } from '@opentelemetry/baggage-span-processor';
import { getBooleanFromEnv } from '@opentelemetry/core';
import { NodeSDK, tracing } from '@opentelemetry/sdk-node';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg';
import { isAppBaggageKey } from './baggage';
import { nameQuerySpan } from './db/statements';

/** Only what this service uses, not the auto-instrumentations bundle (see README). */
function instrumentations() {
  return [
    new HttpInstrumentation({
      // Readiness probes poll /health every second or so; their spans would bury the
      // page-view traces in the viewer.
      ignoreIncomingRequestHook: (req) => (req.url ?? '').split('?')[0] === '/health',
    }),
    new PgInstrumentation({
      // Statements outside any trace (the /health probe, the wait-for-database loop) make no
      // root spans of their own.
      requireParentSpan: true,
      // One span per statement: pool checkout / connect spans would double the span count
      // (bench/README.md cost drivers) without adding anything to the golden trace.
      ignoreConnectSpans: true,
      // Never put bound values (paths, client IPs) into db spans.
      enhancedDatabaseReporting: false,
      // `INSERT analytics.page_view` instead of `pg.query:INSERT polytrace` (see db/statements.ts).
      requestHook: nameQuerySpan,
    }),
  ];
}

const sdk = new NodeSDK({
  // app.* baggage entries of the parent context copied onto each span as it starts; then OTLP
  // over HTTP/protobuf to $OTEL_EXPORTER_OTLP_ENDPOINT/v1/traces behind the batch processor
  // (which reads OTEL_BSP_* itself).
  spanProcessors: [new BaggageSpanProcessor(isAppBaggageKey), new tracing.BatchSpanProcessor(new OTLPTraceExporter())],
  // service.name comes from OTEL_SERVICE_NAME; this is only the fallback when it is unset.
  serviceName: process.env.OTEL_SERVICE_NAME ? undefined : 'analytics',
  // An instrumentation patches `http` and `pg` as soon as it is constructed (InstrumentationBase's
  // constructor enables it), whatever start() then decides: with OTEL_SDK_DISABLED=true
  // (`polytrace up --no-tracing`, the benchmark's baseline) the service runs unpatched.
  instrumentations: getBooleanFromEnv('OTEL_SDK_DISABLED') ? [] : instrumentations(),
});

sdk.start();

let shutdownPromise: Promise<void> | undefined;

/** Flushes queued spans and stops the SDK; safe to call more than once. */
export function shutdownTelemetry(): Promise<void> {
  shutdownPromise ??= sdk.shutdown();
  return shutdownPromise;
}
