package dev.polytrace.catalog.agent;

import io.opentelemetry.context.propagation.TextMapPropagator;
import io.opentelemetry.sdk.autoconfigure.spi.ConfigProperties;
import io.opentelemetry.sdk.autoconfigure.spi.ConfigurablePropagatorProvider;

/**
 * Makes {@link RepeatedHeadersTraceContextPropagator} selectable by name:
 * {@code OTEL_PROPAGATORS=tracecontext-multiheader,baggage} (in place of {@code tracecontext}).
 */
public final class RepeatedHeadersTraceContextPropagatorProvider
    implements ConfigurablePropagatorProvider {
  public static final String NAME = "tracecontext-multiheader";

  @Override
  public TextMapPropagator getPropagator(ConfigProperties config) {
    return RepeatedHeadersTraceContextPropagator.getInstance();
  }

  @Override
  public String getName() {
    return NAME;
  }
}
