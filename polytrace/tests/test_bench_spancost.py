"""The span-cost harness without its programs: arithmetic, pins, commands, the counting receiver, the table."""

from __future__ import annotations

import json

import requests
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans
from opentelemetry.proto.trace.v1.trace_pb2 import Span as ProtoSpan

from polytrace.bench.spancost import programs
from polytrace.bench.spancost.measure import Plan, round_spans, shape_problems, spread, us_per_span
from polytrace.bench.spancost.receiver import CountingReceiver
from polytrace.bench.spancost.report import markdown
from polytrace.capture.otlp import Span
from polytrace.config import ROOT

PLAN = Plan(quick=False, warmup_spans=1024, rounds=3, round_cpu_s=2.0, burst=512, max_round_spans=100_000)


def test_a_round_aims_at_its_cpu_in_whole_bursts():
    assert round_spans(warmup_cpu_s=0.1, warmup_spans=1024, plan=PLAN) == 20_480  # 2 s at ~98 µs a span
    assert round_spans(0.1, 1000, PLAN) % 512 == 0


def test_a_warmup_below_one_tick_counts_as_one_tick_and_rounds_stay_capped():
    roomy = Plan(quick=False, warmup_spans=1024, rounds=1, round_cpu_s=2.0, max_round_spans=1_000_000)
    assert round_spans(0.0, 1024, roomy) == 204_800 == round_spans(0.01, 1024, roomy)  # 2 s at 9.8 µs a span
    cheap = Plan(quick=False, warmup_spans=1024, rounds=1, round_cpu_s=60.0, max_round_spans=10_000)
    assert round_spans(0.01, 1024, cheap) == 10_240  # the cap, rounded up to a whole burst


def test_quick_rounds_are_one_burst():
    assert round_spans(0.5, 512, Plan.make(quick=True)) == 512


def test_cpu_per_span_and_spread():
    assert us_per_span(0.9, 10_000) == 90.0
    assert spread([3.0, 1.0, 2.0]) == {"median": 2.0, "min": 1.0, "max": 3.0}


def _span(**changes) -> Span:
    values = {"trace_id": "1" * 32, "span_id": "2" * 16, "parent_span_id": "", "name": programs.SPAN["name"],
              "kind": "CLIENT", "service": "stock", "attributes": {**programs.SPAN["attributes"], "thread.id": 1},
              "resource": {}, "status": "UNSET", "status_message": "", "start_ns": 1, "end_ns": 2}
    return Span(**{**values, **changes})


def test_the_span_shape_is_checked_and_extra_attributes_are_allowed():
    assert shape_problems(_span()) == []
    assert shape_problems(None) == ["no span arrived"]
    wrong = _span(kind="INTERNAL", attributes={**programs.SPAN["attributes"], "server.port": "55432"})
    assert shape_problems(wrong) == ["kind is 'INTERNAL', not 'CLIENT'", "attribute server.port is '55432', not 55432"]


def test_versions_come_from_each_services_pins():
    for program in programs.PROGRAMS:
        versions = program.versions(ROOT)
        assert versions and all(v and v[0].isdigit() for v in versions.values()), (program.language, versions)
    pyproject = '[project]\ndependencies = ["psycopg[binary]==3.3.9", "opentelemetry-sdk==1.45.1", ' \
                '"opentelemetry-exporter-otlp-proto-http==1.45.1", "flask>=3"]'
    assert programs.pyproject_versions(pyproject) == {"opentelemetry-sdk": "1.45.1",
                                                      "opentelemetry-exporter-otlp-proto-http": "1.45.1"}
    names = ("sdk-node", "sdk-trace-base", "exporter-trace-otlp-proto", "api")
    lock = {"packages": {f"node_modules/@opentelemetry/{name}": {"version": str(i)} for i, name in enumerate(names)}}
    assert programs.npm_lock_versions(json.dumps(lock)) == {
        "@opentelemetry/sdk-node": "0", "@opentelemetry/sdk-trace-base": "1",
        "@opentelemetry/exporter-trace-otlp-proto": "2"}


def test_a_program_replaces_only_the_services_application():
    java, python = programs.PROGRAMS[0], programs.PROGRAMS[1]
    assert java.command(("java", "-Xmx256m", "-javaagent:a.jar", "-jar", "catalog.jar"), ROOT) == [
        "java", "-Xmx256m", "-javaagent:a.jar", "-jar", str(ROOT / "services/catalog/span-cost/target/span-cost.jar")]
    assert python.command(("opentelemetry-instrument", "gunicorn", "-c", "gunicorn.conf.py"), ROOT) == [
        "opentelemetry-instrument", str(ROOT / "services/pricing/.venv/bin/python"),
        str(ROOT / "services/pricing/bench/span_cost.py")]


def _export(service: str, spans: int) -> bytes:
    name = KeyValue(key="service.name", value=AnyValue(string_value=service))
    scope = ScopeSpans(spans=[ProtoSpan(trace_id=b"\x01" * 16, span_id=bytes([i + 1]) * 8, name=f"s{i}")
                              for i in range(spans)])
    request = ExportTraceServiceRequest(resource_spans=[ResourceSpans(scope_spans=[scope])])
    request.resource_spans[0].resource.attributes.append(name)
    return request.SerializeToString()


def test_the_receiver_counts_spans_and_exports_per_service_and_keeps_the_first_span():
    receiver = CountingReceiver().start()
    try:
        for service, spans in (("stock", 3), ("pricing", 2), ("stock", 4)):
            response = requests.post(f"{receiver.endpoint}/v1/traces", data=_export(service, spans),
                                     headers={"Content-Type": "application/x-protobuf"}, timeout=5)
            assert response.status_code == 200
        assert receiver.wait_for("stock", 7, timeout_s=1) and not receiver.wait_for("stock", 8, timeout_s=0.05)
        assert dict(receiver.counts) == {"stock": 7, "pricing": 2}
        assert dict(receiver.exports) == {"stock": 2, "pricing": 1}
        assert receiver.first["stock"].name == "s0" and receiver.first["stock"].service == "stock"
    finally:
        receiver.stop()


def test_the_table_has_one_row_per_language():
    language = {"language": "Rust", "service": "stock", "sdk": {"opentelemetry_sdk": "0.33.1"},
                "us_per_span": {"median": 3.21, "min": 3.0, "max": 3.5}, "rounds": [{"spans": 1024}],
                "spans_received": 5120, "spans_sent": 5120, "exports": 10, "extra_attributes": []}
    result = {"plan": {"rounds": 5, "warmup_spans": 512}, "span": programs.SPAN, "load_average_before": [1, 1, 1],
              "load_average_after": [1, 1, 1], "languages": [language, {**language, "language": "Java",
                                                                           "extra_attributes": ["thread.id"]}]}
    text = "\n".join(markdown(result))
    assert "| Rust (stock) | 3.2 (3.0–3.5) | 1,024 | 5,120 / 5,120 | 512 | opentelemetry_sdk 0.33.1 |" in text
    assert "Attributes an SDK added: Java: thread.id." in text
