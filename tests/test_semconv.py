"""Semantic conventions over every span the session captured (tests/semconv.yaml).

Marked `last` (conftest.py runs it after every other test), so it sees the spans of the whole
suite: golden traces, errors, outages, the MQTT edge and the trace-context cases. The span list is
sorted and problems are grouped by (service, kind, name), so a failure reads the same every run.
"""

from __future__ import annotations

from collections import defaultdict

import pytest

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
