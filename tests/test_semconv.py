"""Semantic conventions over every span the session captured (tests/semconv.yaml).

Marked `last` (conftest.py runs it after every other test), so it sees the spans of the whole
suite: golden traces, errors, outages, the MQTT edge and the trace-context cases. The span list is
sorted and problems are grouped by (service, kind, name), so a failure reads the same every run.
"""

from __future__ import annotations

from collections import defaultdict

import pytest

from polytrace.capture.otlp import Span
from tests.semconv import problems


@pytest.mark.last
def test_every_captured_span_follows_the_semantic_conventions(stack):
    spans = stack.receiver.spans()
    assert spans, "no span captured"
    grouped: dict[tuple[str, str, str], set[str]] = defaultdict(set)
    for span in spans:
        for problem in problems(span):
            grouped[(span.service, span.kind, span.name)].add(problem)
    report = "\n".join(f"{service} {kind} {name!r}: {'; '.join(sorted(found))}"
                       for (service, kind, name), found in sorted(grouped.items()))
    assert not grouped, f"{len(grouped)} kinds of span break the conventions:\n{report}"


@pytest.mark.last
def test_every_service_emitted_spans(stack):
    services = {span.service for span in stack.receiver.spans()}
    assert {"catalog", "pricing", "stock", "analytics"} <= services, services


# ---- the checker itself, on made-up spans (no stack): each rule must be able to fail -------------

def _span(name: str, kind: str = "CLIENT", resource: dict | None = None, **attributes) -> Span:
    return Span(trace_id="1" * 32, span_id="2" * 16, parent_span_id="", name=name, kind=kind, service="x",
                attributes={k.replace("__", "."): v for k, v in attributes.items()},
                resource=resource or {}, status="UNSET", status_message="", start_ns=0, end_ns=1)


DB = {"db__system__name": "postgresql", "db__query__text": "SELECT 1", "db__operation__name": "SELECT",
      "db__namespace": "polytrace"}


def test_a_database_span_without_a_table_is_named_after_its_namespace():
    assert problems(_span("SELECT polytrace", **DB)) == []
    assert any("namespace is the target" in p for p in problems(_span("SELECT", **DB)))


def test_a_database_span_is_named_after_its_collection_or_summary():
    assert problems(_span("SELECT pricing.price", **DB, db__collection__name="pricing.price")) == []
    assert problems(_span("pg.query:SELECT polytrace", **DB, db__collection__name="pricing.price")) != []


def test_deprecated_code_attributes_and_unregistered_resource_keys_are_reported():
    internal = _span("ProductController.getProduct", kind="INTERNAL", code__function="getProduct")
    assert any("code.function.name" in p for p in problems(internal))
    unregistered = _span("x", kind="INTERNAL", resource={"telemetry.auto.version": "0.1"})
    assert any("telemetry.auto.version" in p for p in problems(unregistered))
