package dev.polytrace.catalog.agent;

import static org.assertj.core.api.Assertions.assertThat;

import io.opentelemetry.api.trace.Span;
import io.opentelemetry.context.Context;
import io.opentelemetry.sdk.OpenTelemetrySdk;
import io.opentelemetry.sdk.autoconfigure.AutoConfiguredOpenTelemetrySdk;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** What the agent does at startup: SDK autoconfiguration finds both services in this jar's META-INF. */
class AgentExtensionSpiTest {
  private static OpenTelemetrySdk configure(Map<String, String> properties) {
    return AutoConfiguredOpenTelemetrySdk.builder()
        .addPropertiesSupplier(
            () ->
                Map.of(
                    "otel.traces.exporter", "none",
                    "otel.metrics.exporter", "none",
                    "otel.logs.exporter", "none"))
        .addPropertiesSupplier(() -> properties)
        .disableShutdownHook()
        .build()
        .getOpenTelemetrySdk();
  }

  @Test
  void otelPropagatorsSelectsThePropagatorByName() {
    try (OpenTelemetrySdk sdk = configure(Map.of("otel.propagators", "tracecontext-multiheader,baggage"))) {
      Headers headers =
          Headers.of(
              "traceparent", "00-12345678901234567890123456789011-1234567890123456-01",
              "traceparent", "00-12345678901234567890123456789012-1234567890123456-01");
      Context context =
          sdk.getPropagators().getTextMapPropagator().extract(Context.root(), headers, Headers.GETTER);
      assertThat(Span.fromContext(context).getSpanContext().isValid()).isFalse();
      assertThat(sdk.getPropagators().getTextMapPropagator().fields())
          .contains("traceparent", "tracestate", "baggage");
    }
  }

  @Test
  void theConfiguredSamplerIsWrapped() {
    try (OpenTelemetrySdk sdk = configure(Map.of("otel.traces.sampler", "parentbased_traceidratio", "otel.traces.sampler.arg", "0.1"))) {
      assertThat(sdk.getSdkTracerProvider().getSampler().getDescription())
          .startsWith("UntracedHealthChecks{ParentBased{root:TraceIdRatioBased{0.100000}");
    }
  }
}
