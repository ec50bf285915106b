"""The table of what makes each span stays true: its files exist, and it knows every scope the stack emits."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from polytrace.config import ROOT
from polytrace.inspect.origins import ORIGINS, origin_of
from polytrace.inspect.spans import TraceSpan, from_zipkin

GOLDEN = from_zipkin(json.loads((Path(__file__).parent / "data" / "zipkin-golden-trace.json").read_text()))


@pytest.mark.parametrize("rule", ORIGINS, ids=lambda rule: f"{rule.scope}:{rule.kind or rule.name_prefix or '*'}")
def test_every_file_the_table_names_exists(rule):
    assert rule.origin.file, "each origin says where it is created or switched on"
    assert (ROOT / rule.origin.file).is_file(), rule.origin.file


def test_every_span_of_the_recorded_golden_trace_has_a_listed_origin():
    for span in GOLDEN:
        origin = origin_of(span)
        assert origin.scope == span.scope and origin.file, (span, origin)
        assert any(rule.scope == span.scope for rule in ORIGINS), f"scope {span.scope!r} is missing from ORIGINS"


def test_explicit_spans_are_the_ones_this_repository_creates():
    explicit = {(s.service, s.kind) for s in GOLDEN if origin_of(s).explicit}
    assert {("catalog", "PRODUCER"), ("analytics", "CONSUMER"), ("stock", "SERVER"), ("stock", "CLIENT"),
            ("pricing", "INTERNAL")} <= explicit
    library = {(s.service, s.kind) for s in GOLDEN if not origin_of(s).explicit}
    assert {("catalog", "SERVER"), ("pricing", "SERVER"), ("pricing", "CLIENT"), ("analytics", "CLIENT")} <= library


def span(scope: str, service: str = "gateway", kind: str = "SERVER", name: str = "GET") -> TraceSpan:
    return TraceSpan("0" * 32, "1" * 16, "", service, kind, name, 0, 1, "UNSET", "", scope)


@pytest.mark.parametrize(("scope", "service", "label", "explicit"), [
    ("io.opentelemetry.jdbc", "catalog", "Java agent: jdbc", False),
    ("io.opentelemetry.kafka-clients-0.11", "catalog", "Java agent: kafka-clients", False),
    ("opentelemetry.instrumentation.urllib3", "pricing", "urllib3 instrumentation", False),
    ("@opentelemetry/instrumentation-fetch", "frontend", "fetch instrumentation", False),
    ("go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp", "gateway", "Go contrib: net/http/otelhttp",
     False),
    ("pricing.debug", "pricing", "explicit: tracer API", True),
    ("", "stock", "unknown (no scope exported)", False),
    ("something.else", "stock", "something.else", False),
])
def test_scopes_not_in_the_table_are_named_by_their_family(scope, service, label, explicit):
    origin = origin_of(span(scope, service))
    assert (origin.label, origin.explicit) == (label, explicit)
