"""The local viewer's OTLP receiver: OTLP/HTTP in, Zipkin v2 JSON out to the Zipkin server.

Zipkin's server has no OTLP receiver, and the Zipkin module that adds one is not published on
Maven Central (infra/viewer/README.md). The services export to this bridge (127.0.0.1:4318 by
default), which decodes with opentelemetry-proto and posts the spans to Zipkin's /api/v2/spans.

    python -m polytrace.zipkin_bridge --port 4318 --zipkin-url http://127.0.0.1:16686
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading
import urllib.error
import urllib.request
from typing import Any

from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from polytrace.capture.otlp import PayloadError, Span, parse_body, response_body

log = logging.getLogger("polytrace.zipkin_bridge")
ZIPKIN_KINDS = {"SERVER": "SERVER", "CLIENT": "CLIENT", "PRODUCER": "PRODUCER", "CONSUMER": "CONSUMER"}


def to_zipkin(span: Span) -> dict[str, Any]:
    zipkin: dict[str, Any] = {
        "traceId": span.trace_id,
        "id": span.span_id,
        "name": span.name or "unknown",
        "localEndpoint": {"serviceName": span.service or "unknown_service"},
        "timestamp": span.start_ns // 1000,
        "duration": max(1, (span.end_ns - span.start_ns) // 1000),
    }
    if span.parent_span_id:
        zipkin["parentId"] = span.parent_span_id
    if span.kind in ZIPKIN_KINDS:
        zipkin["kind"] = ZIPKIN_KINDS[span.kind]
    remote = _remote_endpoint(span)
    if remote:
        zipkin["remoteEndpoint"] = remote
    tags = {key: _tag(value) for key, value in span.attributes.items() if value is not None}
    if span.scope:
        tags["otel.scope.name"] = span.scope
    if span.status in ("OK", "ERROR"):
        tags["otel.status_code"] = span.status
    if span.status == "ERROR":
        tags["error"] = span.status_message or "true"  # what makes Zipkin's UI paint the span red
    if tags:
        zipkin["tags"] = tags
    annotations = [
        {"timestamp": (event["time_ns"] or span.start_ns) // 1000,
         "value": event["name"] + (" " + json.dumps(event["attributes"], default=str) if event["attributes"] else "")}
        for event in span.events
    ]
    if annotations:
        zipkin["annotations"] = annotations
    return zipkin


def _remote_endpoint(span: Span) -> dict[str, Any]:
    """The database or broker as Zipkin's remote service, so its dependency graph shows them."""
    attrs = span.attributes
    remote: dict[str, Any] = {}
    if span.kind == "CLIENT" and attrs.get("db.system.name"):
        remote["serviceName"] = str(attrs["db.system.name"])
    elif span.kind in ("PRODUCER", "CONSUMER") and attrs.get("messaging.system"):
        remote["serviceName"] = str(attrs["messaging.system"])
    port = attrs.get("server.port")
    if span.kind in ("CLIENT", "PRODUCER") and isinstance(port, int) and 0 < port < 65536:
        remote["port"] = port
    return remote


def _tag(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, dict)):
        return json.dumps(value, default=str)
    return str(value)


class Bridge:
    def __init__(self, zipkin_url: str, timeout: float = 5.0):
        self.spans_url = zipkin_url.rstrip("/") + "/api/v2/spans"
        self.health_url = zipkin_url.rstrip("/") + "/health"
        self.timeout = timeout

    def forward(self, spans: list[Span]) -> None:
        body = json.dumps([to_zipkin(span) for span in spans]).encode()
        request = urllib.request.Request(self.spans_url, data=body, headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=self.timeout):
            pass

    def zipkin_up(self) -> bool:
        try:
            with urllib.request.urlopen(self.health_url, timeout=self.timeout) as response:
                return response.status == 200
        except OSError:
            return False

    @Request.application
    def app(self, request: Request) -> Response:
        if request.method == "GET" and request.path == "/health":
            up = self.zipkin_up()
            return _json({"status": "ok" if up else "unavailable"}, 200 if up else 503)
        if request.method != "POST" or request.path not in ("/v1/traces", "/v1/metrics", "/v1/logs"):
            return _json({"error": "not found"}, 404)
        if request.path != "/v1/traces":  # the demo exports traces only; accept and drop the rest
            body, content_type = response_body(request.mimetype)
            return Response(body, content_type=content_type)
        try:
            spans = parse_body(request.get_data(), request.mimetype, request.headers.get("Content-Encoding", ""))
        except PayloadError as exc:
            log.warning("otlp.rejected error=%s", exc)
            return _json({"error": str(exc)}, 400)
        try:
            if spans:
                self.forward(spans)
        except (OSError, urllib.error.URLError) as exc:
            log.warning("zipkin.unavailable spans=%d error=%s", len(spans), exc)
            response = _json({"error": f"zipkin unavailable: {exc}"}, 503)
            response.headers["Retry-After"] = "1"  # OTLP exporters retry on 503
            return response
        body, content_type = response_body(request.mimetype)
        return Response(body, content_type=content_type)


def _json(payload: dict, status: int) -> Response:
    return Response(json.dumps(payload), status=status, content_type="application/json")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=4318)
    parser.add_argument("--zipkin-url", default="http://127.0.0.1:16686")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    try:
        server = make_server(args.host, args.port, Bridge(args.zipkin_url).app, threaded=True)
    except OSError as exc:
        print(f"zipkin_bridge: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 1
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    log.info("bridge.listening address=%s:%d zipkin=%s", args.host, args.port, args.zipkin_url)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
