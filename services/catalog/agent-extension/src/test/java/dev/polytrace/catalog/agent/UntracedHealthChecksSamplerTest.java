package dev.polytrace.catalog.agent;

import static org.assertj.core.api.Assertions.assertThat;

import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.context.Context;
import io.opentelemetry.sdk.trace.samplers.Sampler;
import io.opentelemetry.sdk.trace.samplers.SamplingDecision;
import java.util.List;
import org.junit.jupiter.api.Test;

class UntracedHealthChecksSamplerTest {
  private static final String TRACE_ID = "12345678901234567890123456789012";
  private final Sampler sampler = new UntracedHealthChecksSampler(Sampler.parentBased(Sampler.alwaysOn()));

  private SamplingDecision decide(SpanKind kind, String path) {
    Attributes attributes = Attributes.of(AttributeKey.stringKey("url.path"), path);
    return sampler
        .shouldSample(Context.root(), TRACE_ID, "GET", kind, attributes, List.of())
        .getDecision();
  }

  @Test
  void dropsTheHealthCheckServerSpan() {
    assertThat(decide(SpanKind.SERVER, "/health")).isEqualTo(SamplingDecision.DROP);
  }

  @Test
  void leavesEverythingElseToTheConfiguredSampler() {
    assertThat(decide(SpanKind.SERVER, "/products/1")).isEqualTo(SamplingDecision.RECORD_AND_SAMPLE);
    assertThat(decide(SpanKind.SERVER, "/healthz")).isEqualTo(SamplingDecision.RECORD_AND_SAMPLE);
    assertThat(decide(SpanKind.CLIENT, "/health")).isEqualTo(SamplingDecision.RECORD_AND_SAMPLE);
    Sampler none = new UntracedHealthChecksSampler(Sampler.alwaysOff());
    assertThat(
            none.shouldSample(Context.root(), TRACE_ID, "GET", SpanKind.SERVER, Attributes.empty(), List.of())
                .getDecision())
        .isEqualTo(SamplingDecision.DROP);
    assertThat(none.getDescription()).isEqualTo("UntracedHealthChecks{AlwaysOffSampler}");
  }
}
