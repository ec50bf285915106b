"""An in-process OTLP/HTTP trace receiver for the end-to-end suite.

Accepts protobuf and JSON bodies, gzip or not, with Content-Length or chunked (the JS exporter
sends chunked bodies), and keeps every span it decoded.
"""

from __future__ import annotations

import base64
import gzip
import threading
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import psutil
from google.protobuf import json_format
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span as ProtoSpan
from opentelemetry.proto.trace.v1.trace_pb2 import Status
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

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
    events: list[dict[str, Any]] = field(default_factory=list)
    scope: str = ""
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
                    events=[{"name": e.name, "attributes": _attributes(e.attributes)} for e in span.events],
                    scope=scope_spans.scope.name,
                ))
    return spans


class OtlpReceiver:
    def __init__(self, host: str = "127.0.0.1", port: int = 0):
        self._lock = threading.Lock()
        self._by_trace: dict[str, list[Span]] = defaultdict(list)
        self.requests = 0
        self.rejected: list[str] = []
        # Which local process sent each export (looked up by the TCP peer): proves, for example,
        # that every gunicorn worker exports, which resource attributes cannot show after a fork.
        self.identify_senders = False
        self._server = make_server(host, port, self._app, threaded=True)
        self.port = self._server.server_port
        self.endpoint = f"http://{host}:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, name="otlp-receiver", daemon=True)

    def start(self) -> OtlpReceiver:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()

    # ---- queries -------------------------------------------------------------------------------

    def trace(self, trace_id: str) -> list[Span]:
        with self._lock:
            return list(self._by_trace.get(trace_id, ()))

    def spans(self) -> list[Span]:
        with self._lock:
            return [span for spans in self._by_trace.values() for span in spans]

    # ---- HTTP ----------------------------------------------------------------------------------

    @Request.application
    def _app(self, request: Request) -> Response:
        if request.method != "POST" or request.path != "/v1/traces":
            return Response("not found", status=404)
        body = request.get_data()
        if request.headers.get("Content-Encoding", "").lower() == "gzip":
            body = gzip.decompress(body)
        content_type = request.mimetype
        message = ExportTraceServiceRequest()
        try:
            if content_type == "application/json":
                json_format.Parse(body, message, ignore_unknown_fields=True)
            else:
                message.ParseFromString(body)
        except Exception as exc:  # noqa: BLE001 - record and reject, like a real collector
            self.rejected.append(f"{content_type}: {exc}")
            return Response(f"cannot decode: {exc}", status=400)
        spans = decode(message)
        if content_type == "application/json":
            # OTLP/JSON carries ids as hex strings, which json_format read as base64.
            spans = [_fix_json_ids(s) for s in spans]
        if self.identify_senders:
            pid = _local_pid(request.remote_addr, request.environ.get("REMOTE_PORT"))
            for span in spans:
                span.sender_pid = pid
        with self._lock:
            self.requests += 1
            for span in spans:
                self._by_trace[span.trace_id].append(span)
        if content_type == "application/json":
            return Response("{}", content_type="application/json")
        return Response(ExportTraceServiceResponse().SerializeToString(), content_type="application/x-protobuf")


def _local_pid(address: str | None, port: str | None) -> int | None:
    if not address or not port:
        return None
    for connection in psutil.net_connections(kind="tcp"):
        if connection.laddr and connection.laddr.port == int(port) and connection.laddr.ip == address:
            return connection.pid
    return None


def _fix_json_ids(span: Span) -> Span:
    def fix(value: str) -> str:
        return base64.b64encode(bytes.fromhex(value)).decode().lower() if value else value

    span.trace_id, span.span_id, span.parent_span_id = (
        fix(span.trace_id), fix(span.span_id), fix(span.parent_span_id)
    )
    return span
