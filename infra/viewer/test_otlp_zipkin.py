"""Tests for the OTLP/HTTP -> Zipkin bridge (standard library only; run with pytest)."""

import gzip
import http.client
import json
import os
import struct
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import otlp_zipkin  # noqa: E402

TRACE = bytes(range(1, 17))
PARENT = bytes(range(20, 28))
CHILD = bytes(range(30, 38))


def _varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _len(field, payload):
    return _varint(field << 3 | 2) + _varint(len(payload)) + payload


def _fixed64(field, n):
    return _varint(field << 3 | 1) + struct.pack("<Q", n)


def _kv(key, any_value):
    return _len(1, key.encode()) + _len(2, any_value)


def _str(s):
    return _len(1, s.encode())


def _int(n):
    return _varint(3 << 3) + _varint(n & (2**64 - 1))


def _span(span_id, name, kind, parent=b"", attrs=b"", status=b""):
    return (_len(1, TRACE) + _len(2, span_id) + (_len(4, parent) if parent else b"")
            + _len(5, name.encode()) + _varint(6 << 3) + _varint(kind)
            + _fixed64(7, 1_700_000_000_000_000_000) + _fixed64(8, 1_700_000_000_002_000_000)
            + attrs + (_len(15, status) if status else b""))


def request_bytes():
    """ExportTraceServiceRequest: service "catalog", SERVER parent, CLIENT db child."""
    resource = _len(1, _kv("service.name", _str("catalog")))
    child_attrs = (_len(9, _kv("db.system.name", _str("postgresql")))
                   + _len(9, _kv("server.port", _int(55432)))
                   + _len(9, _kv("neg", _int(-3))))
    status = _len(2, b"boom") + _varint(3 << 3) + _varint(2)
    spans = (_len(2, _span(PARENT, "GET /products/{id}", 2))
             + _len(2, _span(CHILD, "SELECT catalog.product", 3, PARENT, child_attrs, status)))
    scope_spans = _len(1, _len(1, b"test-scope")) + spans
    return _len(1, _len(1, resource) + _len(2, scope_spans))


def check_zipkin_spans(spans):
    by_id = {s["id"]: s for s in spans}
    parent, child = by_id[PARENT.hex()], by_id[CHILD.hex()]
    assert parent["traceId"] == child["traceId"] == TRACE.hex()
    assert parent["kind"] == "SERVER" and "parentId" not in parent
    assert child["kind"] == "CLIENT" and child["parentId"] == PARENT.hex()
    assert parent["localEndpoint"] == {"serviceName": "catalog"}
    assert parent["timestamp"] == 1_700_000_000_000_000 and parent["duration"] == 2000
    assert child["remoteEndpoint"] == {"serviceName": "postgresql", "port": 55432}
    assert child["tags"]["neg"] == "-3"
    assert child["tags"]["error"] == "boom" and child["tags"]["otel.status_code"] == "ERROR"
    assert child["tags"]["otel.scope.name"] == "test-scope"


def test_protobuf_decode_and_convert():
    check_zipkin_spans(otlp_zipkin.to_zipkin(otlp_zipkin.decode_protobuf(request_bytes())))


def test_json_request_converts_the_same():
    request = {"resourceSpans": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "catalog"}}]},
        "scopeSpans": [{"scope": {"name": "test-scope"}, "spans": [
            {"traceId": TRACE.hex(), "spanId": PARENT.hex(), "name": "GET /products/{id}",
             "kind": 2, "startTimeUnixNano": "1700000000000000000",
             "endTimeUnixNano": "1700000000002000000"},
            {"traceId": TRACE.hex(), "spanId": CHILD.hex(), "parentSpanId": PARENT.hex(),
             "name": "SELECT catalog.product", "kind": 3,
             "startTimeUnixNano": "1700000000000000000", "endTimeUnixNano": "1700000000002000000",
             "attributes": [{"key": "db.system.name", "value": {"stringValue": "postgresql"}},
                            {"key": "server.port", "value": {"intValue": "55432"}},
                            {"key": "neg", "value": {"intValue": "-3"}}],
             "status": {"code": 2, "message": "boom"}}]}]}]}
    check_zipkin_spans(otlp_zipkin.to_zipkin(request))


def test_invalid_ids_are_dropped():
    request = {"resourceSpans": [{"scopeSpans": [{"spans": [
        {"traceId": "0" * 32, "spanId": PARENT.hex(), "name": "x"}]}]}]}
    assert otlp_zipkin.to_zipkin(request) == []


class _FakeZipkin(BaseHTTPRequestHandler):
    received = []

    def log_message(self, *a):
        pass

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        _FakeZipkin.received.append(json.loads(body))
        self.send_response(202)
        self.send_header("Content-Length", "0")
        self.end_headers()


def _serve(server):
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def test_http_chunked_gzip_protobuf_reaches_zipkin():
    zipkin = _serve(ThreadingHTTPServer(("127.0.0.1", 0), _FakeZipkin))
    otlp_zipkin.Handler.zipkin_url = f"http://127.0.0.1:{zipkin.server_address[1]}"
    bridge = _serve(ThreadingHTTPServer(("127.0.0.1", 0), otlp_zipkin.Handler))
    try:
        body = gzip.compress(request_bytes())
        conn = http.client.HTTPConnection("127.0.0.1", bridge.server_address[1], timeout=5)
        conn.putrequest("POST", "/v1/traces")
        conn.putheader("Content-Type", "application/x-protobuf")
        conn.putheader("Content-Encoding", "gzip")
        conn.putheader("Transfer-Encoding", "chunked")  # no Content-Length, as the JS exporter
        conn.endheaders()
        for i in range(0, len(body), 7):
            piece = body[i:i + 7]
            conn.send(b"%x\r\n%s\r\n" % (len(piece), piece))
        conn.send(b"0\r\n\r\n")
        resp = conn.getresponse()
        assert resp.status == 200 and resp.read() == b""
        assert resp.getheader("Content-Type") == "application/x-protobuf"
        check_zipkin_spans(_FakeZipkin.received[-1])

        # same keep-alive connection: garbage is a 400, an unknown type a 415
        conn.request("POST", "/v1/traces", body=b"\x07garbage",
                     headers={"Content-Type": "application/x-protobuf"})
        resp = conn.getresponse()
        assert resp.status == 400
        resp.read()
        conn.close()
        conn = http.client.HTTPConnection("127.0.0.1", bridge.server_address[1], timeout=5)
        conn.request("POST", "/v1/traces", body=b"x", headers={"Content-Type": "text/plain"})
        assert conn.getresponse().status == 415
        conn.close()
    finally:
        bridge.shutdown()
        zipkin.shutdown()


def test_zipkin_down_is_503_so_exporters_retry():
    probe = ThreadingHTTPServer(("127.0.0.1", 0), _FakeZipkin)
    dead_port = probe.server_address[1]
    probe.server_close()
    otlp_zipkin.Handler.zipkin_url = f"http://127.0.0.1:{dead_port}"
    bridge = _serve(ThreadingHTTPServer(("127.0.0.1", 0), otlp_zipkin.Handler))
    try:
        conn = http.client.HTTPConnection("127.0.0.1", bridge.server_address[1], timeout=5)
        conn.request("POST", "/v1/traces", body=request_bytes(),
                     headers={"Content-Type": "application/x-protobuf"})
        assert conn.getresponse().status == 503
        conn.close()
        conn = http.client.HTTPConnection("127.0.0.1", bridge.server_address[1], timeout=5)
        conn.request("GET", "/health")
        assert conn.getresponse().status == 503
        conn.close()
    finally:
        bridge.shutdown()
