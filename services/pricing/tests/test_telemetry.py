"""pricing.telemetry against a real SDK provider (the global one is left alone)."""

from __future__ import annotations

from opentelemetry import baggage, context
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import NoOpTracerProvider

from pricing import telemetry


def test_flush_exports_what_the_batch_processor_holds():
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    # A delay no test waits for: only the flush can export the span in time.
    provider.add_span_processor(BatchSpanProcessor(exporter, schedule_delay_millis=60_000))
    provider.get_tracer("t").start_span("held").end()
    assert exporter.get_finished_spans() == ()
    assert telemetry.flush(provider) is True
    assert [s.name for s in exporter.get_finished_spans()] == ["held"]
    provider.shutdown()


def test_without_an_sdk_provider_nothing_is_done():
    assert telemetry.flush(NoOpTracerProvider()) is False
    assert telemetry.install_baggage_processor(NoOpTracerProvider()) is False


def test_only_app_baggage_becomes_attributes():
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    assert telemetry.install_baggage_processor(provider) is True
    provider.add_span_processor(BatchSpanProcessor(exporter))
    ctx = baggage.set_baggage("app.session", "s1", baggage.set_baggage("user", "u1"))
    token = context.attach(ctx)
    try:
        provider.get_tracer("t").start_span("with baggage").end()
    finally:
        context.detach(token)
    telemetry.flush(provider)
    (span,) = exporter.get_finished_spans()
    assert span.attributes == {"app.session": "s1"}
    provider.shutdown()
