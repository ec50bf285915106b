"""Zipkin v2 JSON (what the bundled viewer's API returns) as a tree of spans, in waterfall order."""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

# Tags the OTLP bridge (polytrace/zipkin_bridge.py) adds to carry OTLP fields Zipkin has no place for.
SCOPE_TAG = "otel.scope.name"
LEGACY_SCOPE_TAG = "otel.library.name"  # what older OpenTelemetry → Zipkin exporters wrote
STATUS_TAG = "otel.status_code"
ERROR_TAG = "error"
BRIDGE_TAGS = {SCOPE_TAG, LEGACY_SCOPE_TAG, STATUS_TAG, ERROR_TAG, "otel.scope.version", "otel.library.version"}


@dataclass(frozen=True)
class TraceSpan:
    trace_id: str
    span_id: str
    parent_id: str
    service: str
    kind: str  # SERVER, CLIENT, PRODUCER, CONSUMER or INTERNAL (Zipkin leaves INTERNAL out)
    name: str
    start_us: int  # microseconds since the epoch, as Zipkin stores them
    duration_us: int
    status: str  # ERROR, OK or UNSET
    status_message: str
    scope: str  # the instrumentation scope that created the span ("" when the exporter did not say)
    attributes: dict[str, str] = field(default_factory=dict)
    depth: int = 0
    parent_missing: bool = False  # its parent is not (yet) in the trace

    @property
    def end_us(self) -> int:
        return self.start_us + self.duration_us


def from_zipkin(payload: list[dict[str, Any]]) -> list[TraceSpan]:
    """The spans of one trace, parents before children, siblings by start time, each with its depth."""
    spans = [_span(raw) for raw in payload]
    by_id = {s.span_id: s for s in spans}
    children: dict[str, list[TraceSpan]] = defaultdict(list)
    roots = []
    for span in spans:
        if span.parent_id and span.parent_id in by_id and span.parent_id != span.span_id:
            children[span.parent_id].append(span)
        else:
            roots.append(span)
    ordered: list[TraceSpan] = []
    seen: set[str] = set()

    def visit(span: TraceSpan, depth: int) -> None:
        if span.span_id in seen:  # a malformed trace with a cycle must not hang the CLI
            return
        seen.add(span.span_id)
        ordered.append(_with(span, depth=depth,
                             parent_missing=bool(span.parent_id) and span.parent_id not in by_id))
        for child in sorted(children[span.span_id], key=_order):
            visit(child, depth + 1)

    for root in sorted(roots, key=_order):
        visit(root, 0)
    for span in sorted(spans, key=_order):  # spans only reachable through a cycle
        visit(span, 0)
    return ordered


def _order(span: TraceSpan) -> tuple[int, str]:
    return span.start_us, span.span_id


def _with(span: TraceSpan, **changes: Any) -> TraceSpan:
    return TraceSpan(**{**span.__dict__, **changes})


def _span(raw: dict[str, Any]) -> TraceSpan:
    tags = {str(k): str(v) for k, v in (raw.get("tags") or {}).items()}
    status = tags.get(STATUS_TAG, "ERROR" if ERROR_TAG in tags else "UNSET").upper()
    message = tags.get(ERROR_TAG, "")
    return TraceSpan(
        trace_id=str(raw.get("traceId", "")).rjust(32, "0"),  # Zipkin may shorten 64-bit-high-zero ids
        span_id=str(raw.get("id", "")),
        parent_id=str(raw.get("parentId", "")),
        service=str((raw.get("localEndpoint") or {}).get("serviceName", "")) or "unknown",
        kind=str(raw.get("kind", "INTERNAL")),
        name=_restore_case(str(raw.get("name", "")), tags),
        start_us=int(raw.get("timestamp", 0)),
        duration_us=int(raw.get("duration", 0)),
        status=status if status in ("ERROR", "OK") else "UNSET",
        status_message="" if message == "true" else message,
        scope=tags.get(SCOPE_TAG) or tags.get(LEGACY_SCOPE_TAG, ""),
        attributes={k: v for k, v in tags.items() if k not in BRIDGE_TAGS},
    )


def _restore_case(name: str, tags: dict[str, str]) -> str:
    """Zipkin stores span names lower-cased; give each word back the case it has in the span's attributes.

    A word equal to an attribute's value takes that value's case (`get` → `GET` from
    http.request.method); otherwise each run of letters and digits takes the case it has where it
    stands as a whole word inside a value (`productcontroller.getproduct` → `ProductController.getProduct`
    from code.namespace and code.function), so the names read as the services wrote them.
    """
    whole = {value.lower(): value for value in tags.values() if value and " " not in value}
    haystack = "\n".join(tags.values())

    def run(match: re.Match[str]) -> str:
        found = re.search(rf"(?<![A-Za-z0-9]){re.escape(match.group())}(?![A-Za-z0-9])", haystack, re.IGNORECASE)
        return found.group() if found else match.group()

    return " ".join(whole.get(word) or re.sub(r"[A-Za-z0-9]+", run, word) for word in name.split(" "))
