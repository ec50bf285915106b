"""The viewer bridge against a real HTTP stand-in for Zipkin's span API."""

from __future__ import annotations

import gzip
import json
import threading

import pytest
import requests
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from polytrace.zipkin_bridge import Bridge

TRACE = bytes(range(1, 17))


def serve(app):
    """A WSGI app on a free loopback port, in a background thread; returns the server and its URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_port}"


def export_request() -> ExportTraceServiceRequest:
    message = ExportTraceServiceRequest()
    resource_spans = message.resource_spans.add()
    resource_spans.resource.attributes.append(KeyValue(key="service.name", value=AnyValue(string_value="catalog")))
    scope_spans = resource_spans.scope_spans.add()
    scope_spans.scope.name = "io.opentelemetry.r2dbc"
    server = scope_spans.spans.add(trace_id=TRACE, span_id=bytes(8 * [1]), name="GET /products/{id}",
                                   kind=Span.SPAN_KIND_SERVER, start_time_unix_nano=2_000_000,
                                   end_time_unix_nano=9_000_000)
    server.status.CopyFrom(Status(code=Status.STATUS_CODE_ERROR, message="boom"))
    db = scope_spans.spans.add(trace_id=TRACE, span_id=bytes(8 * [2]), parent_span_id=bytes(8 * [1]),
                               name="SELECT catalog.product", kind=Span.SPAN_KIND_CLIENT,
                               start_time_unix_nano=3_000_000, end_time_unix_nano=4_000_000)
    db.attributes.extend([
        KeyValue(key="db.system.name", value=AnyValue(string_value="postgresql")),
        KeyValue(key="server.port", value=AnyValue(int_value=55432)),
    ])
    return message


@pytest.fixture
def zipkin():
    received: list = []

    @Request.application
    def app(request: Request) -> Response:
        if request.path == "/health":
            return Response('{"status":"UP"}')
        received.extend(json.loads(request.get_data()))
        return Response(status=202)

    server, url = serve(app)
    yield url, received
    server.shutdown()


@pytest.fixture
def bridge(zipkin):
    zipkin_url, received = zipkin
    server, url = serve(Bridge(zipkin_url).app)
    yield url, received
    server.shutdown()


def test_protobuf_spans_reach_zipkin_with_parents_kinds_and_errors(bridge):
    url, received = bridge
    response = requests.post(f"{url}/v1/traces", data=export_request().SerializeToString(),
                             headers={"Content-Type": "application/x-protobuf"}, timeout=5)

    assert response.status_code == 200
    server, db = sorted(received, key=lambda s: s["timestamp"])
    assert server["traceId"] == TRACE.hex() and server["kind"] == "SERVER"
    assert server["localEndpoint"] == {"serviceName": "catalog"}
    assert server["tags"]["error"] == "boom"
    assert db["parentId"] == "01" * 8
    assert db["remoteEndpoint"] == {"serviceName": "postgresql", "port": 55432}
    assert db["timestamp"] == 3000 and db["duration"] == 1000


def test_gzip_and_chunked_bodies_are_read(bridge):
    url, received = bridge
    body = gzip.compress(export_request().SerializeToString())
    response = requests.post(f"{url}/v1/traces", data=iter([body[:10], body[10:]]),  # chunked, no length
                             headers={"Content-Type": "application/x-protobuf", "Content-Encoding": "gzip"},
                             timeout=5)
    assert response.status_code == 200
    assert len(received) == 2


def test_garbage_is_a_400_and_nothing_is_forwarded(bridge):
    url, received = bridge
    response = requests.post(f"{url}/v1/traces", data=b"\xff\x00garbage",
                             headers={"Content-Type": "application/x-protobuf"}, timeout=5)
    assert response.status_code == 400
    assert received == []


def test_zipkin_down_is_a_retryable_503():
    server, url = serve(Bridge("http://127.0.0.1:9").app)
    try:
        response = requests.post(f"{url}/v1/traces", data=export_request().SerializeToString(),
                                 headers={"Content-Type": "application/x-protobuf"}, timeout=10)
        assert response.status_code == 503
        assert response.headers["Retry-After"] == "1"
        assert requests.get(f"{url}/health", timeout=10).status_code == 503
    finally:
        server.shutdown()
