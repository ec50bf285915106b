"""Whether a captured trace is complete: the expectations of tests/expectations.yaml.

The end-to-end suite asserts them; the benchmark counts the traces that meet the golden one.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from polytrace.capture.otlp import Span
from polytrace.config import ROOT

FILE = ROOT / "tests" / "expectations.yaml"


@cache
def expectations(path: Path = FILE) -> dict[str, Any]:
    return yaml.safe_load(path.read_text())


def services(name: str) -> set[str]:
    """The services whose spans the expectation `name` names."""
    return {rule["service"] for rule in expectations()[name]["spans"].values()}


def ancestors(trace: list[Span], span: Span) -> list[Span]:
    by_id = {s.span_id: s for s in trace}
    chain = []
    current = by_id.get(span.parent_span_id)
    while current is not None and current not in chain:
        chain.append(current)
        current = by_id.get(current.parent_span_id)
    return chain


def is_descendant(trace: list[Span], descendant: Span, ancestor: Span) -> bool:
    return ancestor in ancestors(trace, descendant)


def _matches(span: Span, rule: dict[str, Any], ports: dict[str, int]) -> bool:
    if any(rule.get(key) not in (None, getattr(span, key)) for key in ("service", "kind", "name")):
        return False
    if any(span.attributes.get(k) != v for k, v in rule.get("attributes", {}).items()):
        return False
    if any(k not in span.attributes for k in rule.get("present", [])):
        return False
    if "url_port" in rule:
        return urlsplit(str(span.attributes.get("url.full", ""))).port == ports[rule["url_port"]]
    return True


def missing_parts(trace: list[Span], name: str, ports: dict[str, int]) -> list[str]:
    """What the trace lacks compared with the expectation `name` (empty when it is complete)."""
    expected = expectations()[name]
    found: dict[str, list[Span]] = {
        role: [s for s in trace if _matches(s, rule, ports)] for role, rule in expected["spans"].items()
    }
    problems = [f"no span for {role}: {expected['spans'][role]}" for role, spans in found.items() if not spans]
    for ancestor, descendant in expected.get("edges", []):
        if not found[ancestor] or not found[descendant]:
            continue
        if not any(is_descendant(trace, d, a) for a in found[ancestor] for d in found[descendant]):
            problems.append(f"{descendant} is not below {ancestor}")
    return problems
