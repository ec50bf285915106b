"""OTLP/HTTP trace payloads decoded into plain spans, with the official opentelemetry-proto classes.

Shared by the viewer's Zipkin bridge and the end-to-end suite's receiver.
"""

from __future__ import annotations

import base64
import gzip
from dataclasses import dataclass, field
from typing import Any

from google.protobuf import json_format
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span as ProtoSpan
from opentelemetry.proto.trace.v1.trace_pb2 import Status

KINDS = {value: name.removeprefix("SPAN_KIND_") for name, value in ProtoSpan.SpanKind.items()}
STATUSES = {value: name.removeprefix("STATUS_CODE_") for name, value in Status.StatusCode.items()}


@dataclass
class Span:
    trace_id: str
    span_id: str
    parent_span_id: str
    name: str
    kind: str
    service: str
    attributes: dict[str, Any]
    resource: dict[str, Any]
    status: str
    status_message: str
    start_ns: int
    end_ns: int
    events: list[dict[str, Any]] = field(default_factory=list)  # name, time_ns, attributes
    scope: str = ""
    trace_state: str = ""  # the W3C tracestate the span carries (OTLP Span.trace_state)
    sender_pid: int | None = None  # the exporting process, when identify_senders is on

    def __repr__(self) -> str:
        return f"<{self.service} {self.kind} {self.name!r} {self.span_id}←{self.parent_span_id or '-'}>"


def _value(value: AnyValue) -> Any:
    which = value.WhichOneof("value")
    if which == "array_value":
        return [_value(v) for v in value.array_value.values]
    if which == "kvlist_value":
        return {kv.key: _value(kv.value) for kv in value.kvlist_value.values}
    return getattr(value, which) if which else None


def _attributes(pairs) -> dict[str, Any]:
    return {kv.key: _value(kv.value) for kv in pairs}


def decode(request: ExportTraceServiceRequest) -> list[Span]:
    spans = []
    for resource_spans in request.resource_spans:
        resource = _attributes(resource_spans.resource.attributes)
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                spans.append(Span(
                    trace_id=span.trace_id.hex(),
                    span_id=span.span_id.hex(),
                    parent_span_id=span.parent_span_id.hex(),
                    name=span.name,
                    kind=KINDS.get(span.kind, str(span.kind)),
                    service=str(resource.get("service.name", "")),
                    attributes=_attributes(span.attributes),
                    resource=resource,
                    status=STATUSES.get(span.status.code, str(span.status.code)),
                    status_message=span.status.message,
                    start_ns=span.start_time_unix_nano,
                    end_ns=span.end_time_unix_nano,
                    trace_state=span.trace_state,
                    events=[
                        {"name": e.name, "time_ns": e.time_unix_nano, "attributes": _attributes(e.attributes)}
                        for e in span.events
                    ],
                    scope=scope_spans.scope.name,
                ))
    return spans


class PayloadError(ValueError):
    pass


def parse_body(body: bytes, content_type: str, content_encoding: str = "") -> list[Span]:
    """Spans of one `POST /v1/traces` body (protobuf or JSON, gzip or not)."""
    spans = decode(parse_request(body, content_type, content_encoding))
    if content_type == "application/json":
        spans = [_fix_json_ids(s) for s in spans]
    return spans


def parse_request(body: bytes, content_type: str, content_encoding: str = "") -> ExportTraceServiceRequest:
    """The protobuf message of one `POST /v1/traces` body, for readers that need no Span objects.

    JSON bodies keep their hex ids as json_format read them (see _fix_json_ids).
    """
    if content_encoding.lower() == "gzip":
        try:
            body = gzip.decompress(body)
        except OSError as exc:
            raise PayloadError(f"bad gzip body: {exc}") from None
    message = ExportTraceServiceRequest()
    try:
        if content_type == "application/json":
            json_format.Parse(body, message, ignore_unknown_fields=True)
        else:
            message.ParseFromString(body)
    except Exception as exc:  # noqa: BLE001 - protobuf raises several types
        raise PayloadError(f"cannot decode {content_type}: {exc}") from None
    return message


def response_body(content_type: str) -> tuple[bytes, str]:
    """An empty ExportTraceServiceResponse in the request's encoding."""
    if content_type == "application/json":
        return b"{}", "application/json"
    return ExportTraceServiceResponse().SerializeToString(), "application/x-protobuf"


def _fix_json_ids(span: Span) -> Span:
    """OTLP/JSON carries ids as hex strings, which json_format read as base64: undo that."""

    def fix(value: str) -> str:
        return base64.b64encode(bytes.fromhex(value)).decode().lower() if value else value

    span.trace_id, span.span_id, span.parent_span_id = (
        fix(span.trace_id), fix(span.span_id), fix(span.parent_span_id)
    )
    return span
