"""Finding spans in a captured trace and asserting the relations between them."""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from polytrace.capture.golden import ancestors, is_descendant
from polytrace.capture.otlp import Span

__all__ = ["TraceParent", "ancestors", "is_descendant", "matching", "one", "orphans", "parse_traceresponse"]


@dataclass(frozen=True)
class TraceParent:
    trace_id: str
    span_id: str

    @classmethod
    def new(cls) -> TraceParent:
        return cls(secrets.token_hex(16), secrets.token_hex(8))

    @property
    def header(self) -> str:
        return f"00-{self.trace_id}-{self.span_id}-01"


def parse_traceresponse(value: str) -> TraceParent:
    version, trace_id, span_id, _flags = value.split("-")
    assert version == "00" and len(trace_id) == 32 and len(span_id) == 16, value
    return TraceParent(trace_id, span_id)


def matching(spans: Iterable[Span], **criteria: Any) -> list[Span]:
    """Spans whose fields equal the criteria; `attributes` matches a subset of attributes."""
    wanted_attributes = criteria.pop("attributes", {})
    found = []
    for span in spans:
        if all(getattr(span, key) == value for key, value in criteria.items()) and all(
            span.attributes.get(k) == v for k, v in wanted_attributes.items()
        ):
            found.append(span)
    return found


def one(spans: Iterable[Span], **criteria: Any) -> Span:
    spans = list(spans)
    found = matching(spans, **criteria)
    assert len(found) == 1, f"expected exactly one span with {criteria}, found {found} in {spans}"
    return found[0]


def orphans(trace: list[Span], allowed_parents: Iterable[str] = ()) -> list[Span]:
    """Spans whose parent is neither in the trace nor one of the allowed (external) parents."""
    ids = {s.span_id for s in trace} | set(allowed_parents)
    return [s for s in trace if s.parent_span_id and s.parent_span_id not in ids]
