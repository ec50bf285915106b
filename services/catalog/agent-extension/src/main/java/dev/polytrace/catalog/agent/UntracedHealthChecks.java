package dev.polytrace.catalog.agent;

import io.opentelemetry.sdk.autoconfigure.spi.AutoConfigurationCustomizer;
import io.opentelemetry.sdk.autoconfigure.spi.AutoConfigurationCustomizerProvider;

/**
 * Wraps whatever sampler {@code OTEL_TRACES_SAMPLER} selects (parent-based always-on by default) in
 * {@link UntracedHealthChecksSampler}, so loading the extension is all it takes.
 */
public final class UntracedHealthChecks implements AutoConfigurationCustomizerProvider {
  @Override
  public void customize(AutoConfigurationCustomizer autoConfiguration) {
    autoConfiguration.addSamplerCustomizer(
        (sampler, config) -> new UntracedHealthChecksSampler(sampler));
  }
}
