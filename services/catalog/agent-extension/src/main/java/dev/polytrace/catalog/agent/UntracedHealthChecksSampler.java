package dev.polytrace.catalog.agent;

import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.context.Context;
import io.opentelemetry.sdk.trace.data.LinkData;
import io.opentelemetry.sdk.trace.samplers.Sampler;
import io.opentelemetry.sdk.trace.samplers.SamplingResult;
import java.util.List;

/**
 * Drops the SERVER span of {@code GET /health} and leaves every other decision to the configured
 * sampler. The CLI, Docker and Kubernetes poll {@code /health} every few seconds; each poll would
 * otherwise be a trace of its own (a SERVER span and the {@code SELECT 1} database span) that tells
 * nobody anything. The span's children (the database query) are dropped with it by the
 * parent-based default sampler. The agent reads {@code url.path} before the span starts, as the
 * HTTP semantic conventions make it a sampling-relevant attribute.
 */
final class UntracedHealthChecksSampler implements Sampler {
  static final String HEALTH_PATH = "/health";
  private static final AttributeKey<String> URL_PATH = AttributeKey.stringKey("url.path");

  private final Sampler delegate;

  UntracedHealthChecksSampler(Sampler delegate) {
    this.delegate = delegate;
  }

  @Override
  public SamplingResult shouldSample(
      Context parentContext,
      String traceId,
      String name,
      SpanKind spanKind,
      Attributes attributes,
      List<LinkData> parentLinks) {
    if (spanKind == SpanKind.SERVER && HEALTH_PATH.equals(attributes.get(URL_PATH))) {
      return SamplingResult.drop();
    }
    return delegate.shouldSample(parentContext, traceId, name, spanKind, attributes, parentLinks);
  }

  @Override
  public String getDescription() {
    return "UntracedHealthChecks{" + delegate.getDescription() + "}";
  }

  @Override
  public String toString() {
    return getDescription();
  }
}
