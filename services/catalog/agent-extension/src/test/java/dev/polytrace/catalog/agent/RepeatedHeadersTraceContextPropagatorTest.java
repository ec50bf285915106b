package dev.polytrace.catalog.agent;

import static org.assertj.core.api.Assertions.assertThat;

import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanContext;
import io.opentelemetry.api.trace.propagation.W3CTraceContextPropagator;
import io.opentelemetry.context.Context;
import io.opentelemetry.context.propagation.TextMapPropagator;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The three W3C test-suite cases (level 1) the plain W3C propagator fails, and everything else unchanged. */
class RepeatedHeadersTraceContextPropagatorTest {
  private static final String TRACE_ID = "12345678901234567890123456789012";
  private static final String PARENT = "00-" + TRACE_ID + "-1234567890123456-00";
  private final TextMapPropagator propagator = RepeatedHeadersTraceContextPropagator.getInstance();

  private SpanContext extract(Headers headers) {
    return Span.fromContext(propagator.extract(Context.root(), headers, Headers.GETTER))
        .getSpanContext();
  }

  @Test
  void twoTraceparentHeadersAreNoParent() {
    SpanContext context =
        extract(
            Headers.of(
                "traceparent", "00-12345678901234567890123456789011-1234567890123456-01",
                "traceparent", "00-12345678901234567890123456789012-1234567890123456-01"));
    assertThat(context.isValid()).isFalse();
  }

  @Test
  void twoEqualTraceparentHeadersAreNoParentEither() {
    assertThat(extract(Headers.of("traceparent", PARENT, "traceparent", PARENT)).isValid()).isFalse();
  }

  @Test
  void repeatedTracestateHeadersAreCombinedInOrder() {
    SpanContext context =
        extract(
            Headers.of(
                "traceparent", PARENT,
                "tracestate", "foo=1,bar=2",
                "tracestate", "rojo=1,congo=2",
                "tracestate", "baz=3"));
    assertThat(context.getTraceId()).isEqualTo(TRACE_ID);
    assertThat(context.getTraceState().asMap().keySet())
        .containsExactly("foo", "bar", "rojo", "congo", "baz");
  }

  @Test
  void anEmptyTracestateHeaderAddsNothingWhereverItIs() {
    for (Headers headers :
        new Headers[] {
          Headers.of("traceparent", PARENT, "tracestate", "foo=1", "tracestate", ""),
          Headers.of("traceparent", PARENT, "tracestate", "", "tracestate", "foo=1"),
        }) {
      SpanContext context = extract(headers);
      assertThat(context.getTraceId()).isEqualTo(TRACE_ID);
      assertThat(context.getTraceState().asMap()).containsExactly(Map.entry("foo", "1"));
    }
  }

  @Test
  void onlyEmptyTracestateHeadersGiveAnEmptyTracestate() {
    SpanContext context =
        extract(Headers.of("traceparent", PARENT, "tracestate", "", "tracestate", " "));
    assertThat(context.getTraceId()).isEqualTo(TRACE_ID);
    assertThat(context.getTraceState().isEmpty()).isTrue();
  }

  @Test
  void aCombinedTracestateIsStillValidatedByTheW3cRules() {
    // 33 list-members in total: over the limit, the whole tracestate is discarded.
    StringBuilder first = new StringBuilder("k0=v0");
    for (int i = 1; i < 32; i++) {
      first.append(",k").append(i).append("=v").append(i);
    }
    SpanContext context =
        extract(Headers.of("traceparent", PARENT, "tracestate", first.toString(), "tracestate", "k32=v32"));
    assertThat(context.getTraceId()).isEqualTo(TRACE_ID);
    assertThat(context.getTraceState().isEmpty()).isTrue();
  }

  @Test
  void singleHeadersAreReadExactlyLikeTheW3cPropagator() {
    for (Headers headers :
        new Headers[] {
          Headers.of(),
          Headers.of("traceparent", PARENT),
          Headers.of("TraceParent", PARENT, "TraceState", "foo=1"),
          Headers.of("traceparent", "00-" + TRACE_ID + "-1234567890123456-01.", "tracestate", "foo=1"),
          Headers.of("traceparent", PARENT, "tracestate", "foo=1,foo=2"),
        }) {
      SpanContext expected =
          Span.fromContext(
                  W3CTraceContextPropagator.getInstance()
                      .extract(Context.root(), headers, Headers.GETTER))
              .getSpanContext();
      assertThat(extract(headers)).isEqualTo(expected);
    }
  }

  @Test
  void aGetterWithoutGetAllSeesTheFirstValueLikeTheW3cPropagator() {
    Headers headers =
        Headers.of("traceparent", PARENT, "tracestate", "foo=1", "tracestate", "bar=2");
    SpanContext context =
        Span.fromContext(propagator.extract(Context.root(), headers, Headers.FIRST_VALUE_ONLY))
            .getSpanContext();
    assertThat(context.getTraceId()).isEqualTo(TRACE_ID);
    assertThat(context.getTraceState().asMap()).containsExactly(Map.entry("foo", "1"));
  }

  @Test
  void injectsWhatItExtracted() {
    Headers headers = Headers.of("traceparent", PARENT, "tracestate", "foo=1", "tracestate", "bar=2");
    Context context = propagator.extract(Context.root(), headers, Headers.GETTER);
    Map<String, String> out = new HashMap<>();
    propagator.inject(context, out, Map::put);
    assertThat(out)
        .containsEntry("traceparent", PARENT)
        .containsEntry("tracestate", "foo=1,bar=2");
    assertThat(propagator.fields()).containsExactlyInAnyOrder("traceparent", "tracestate");
  }
}
