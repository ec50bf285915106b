"""An in-process OTLP/HTTP trace receiver: the end-to-end suite's and the benchmark's.

Accepts protobuf and JSON bodies, gzip or not, with Content-Length or chunked (the JS exporter
sends chunked bodies), and keeps every span it decoded.
"""

from __future__ import annotations

import threading
from collections import defaultdict

import psutil
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from polytrace.capture.otlp import PayloadError, Span, parse_body, response_body

__all__ = ["OtlpReceiver", "Span"]


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

    def trace(self, trace_id: str) -> list[Span]:
        with self._lock:
            return list(self._by_trace.get(trace_id, ()))

    def spans(self) -> list[Span]:
        with self._lock:
            return [span for spans in self._by_trace.values() for span in spans]

    @Request.application
    def _app(self, request: Request) -> Response:
        if request.method != "POST" or request.path != "/v1/traces":
            return Response("not found", status=404)
        try:
            spans = parse_body(request.get_data(), request.mimetype, request.headers.get("Content-Encoding", ""))
        except PayloadError as exc:  # record and reject, like a real collector
            self.rejected.append(str(exc))
            return Response(str(exc), status=400)
        if self.identify_senders:
            pid = _local_pid(request.remote_addr, request.environ.get("REMOTE_PORT"))
            for span in spans:
                span.sender_pid = pid
        with self._lock:
            self.requests += 1
            for span in spans:
                self._by_trace[span.trace_id].append(span)
        body, content_type = response_body(request.mimetype)
        return Response(body, content_type=content_type)


def _local_pid(address: str | None, port: str | None) -> int | None:
    if not address or not port:
        return None
    for connection in psutil.net_connections(kind="tcp"):
        if connection.laddr and connection.laddr.port == int(port) and connection.laddr.ip == address:
            return connection.pid
    return None
