"""pricing.telemetry: the SDK set-up `opentelemetry-instrument` runs, and the worker-exit flush."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import NoOpTracerProvider

from pricing import telemetry

# Run under opentelemetry-instrument: reports what the auto-instrumentation set up.
_PROBE = """
import json, logging
from opentelemetry import baggage, context, metrics, trace
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
provider = trace.get_tracer_provider()
exporter = InMemorySpanExporter()
provider.add_span_processor(SimpleSpanProcessor(exporter))
ctx = baggage.set_baggage("app.session", "s1", baggage.set_baggage("user", "u1"))
token = context.attach(ctx)
trace.get_tracer("probe").start_span("with baggage").end()
context.detach(token)
(span,) = exporter.get_finished_spans()
print(json.dumps({"resource": dict(provider.resource.attributes), "attributes": dict(span.attributes),
                  "meter_enabled": metrics.get_meter("probe")._is_enabled(),
                  "root_log_handlers": [type(h).__module__ for h in logging.getLogger().handlers]}))
"""


def _instrumented(env: dict[str, str]) -> dict:
    bindir = Path(sys.executable).parent
    clean = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    out = subprocess.run(
        [str(bindir / "opentelemetry-instrument"), sys.executable, "-c", _PROBE],
        env=clean | {"OTEL_SERVICE_NAME": "pricing", "OTEL_TRACES_EXPORTER": "none"} | env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_pricing_is_the_only_distro_and_configurator():
    # A second one (opentelemetry-distro left in an old venv) would race with ours for the SDK set-up.
    for group in ("opentelemetry_distro", "opentelemetry_configurator"):
        assert [e.value.split(":")[0] for e in entry_points(group=group)] == ["pricing.telemetry"], group


def test_resource_has_no_telemetry_auto_version():
    resource = _instrumented({"OTEL_RESOURCE_ATTRIBUTES": "service.namespace=polytrace"})["resource"]
    assert "telemetry.auto.version" not in resource
    assert resource["service.name"] == "pricing"
    assert resource["service.namespace"] == "polytrace"
    assert resource["telemetry.sdk.language"] == "python"


def test_only_app_baggage_becomes_span_attributes():
    assert _instrumented({})["attributes"] == {"app.session": "s1"}


def test_nothing_is_recorded_for_signals_that_are_not_exported():
    # Metrics and logs exporters are "none": no meter records and no OTel log handler runs per request.
    probe = _instrumented({})
    assert probe["meter_enabled"] is False
    assert not [m for m in probe["root_log_handlers"] if m.startswith("opentelemetry")]


def test_distro_defaults_fit_a_traces_only_http_exporter(monkeypatch):
    for name in telemetry.DEFAULTS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("OTEL_METRICS_EXPORTER", "otlp")  # a value that is set is kept
    telemetry.Distro().configure()
    assert os.environ["OTEL_TRACES_EXPORTER"] == "otlp"
    assert os.environ["OTEL_METRICS_EXPORTER"] == "otlp"
    assert os.environ["OTEL_LOGS_EXPORTER"] == "none"
    assert os.environ["OTEL_EXPORTER_OTLP_PROTOCOL"] == "http/protobuf"


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


def test_flush_without_an_sdk_provider_does_nothing():
    assert telemetry.flush(NoOpTracerProvider()) is False
