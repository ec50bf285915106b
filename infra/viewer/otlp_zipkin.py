#!/usr/bin/env python3
"""OTLP/HTTP -> Zipkin bridge for the local trace viewer.

Zipkin's server (the local viewer, see README.md) has no OTLP receiver, and the Zipkin module that
adds one (io.zipkin.contrib.otel:zipkin-module-otel) is not published on Maven Central. This
process is that receiver: it listens where the services export (OTLP/HTTP, default
127.0.0.1:4318), decodes `POST /v1/traces` (protobuf or JSON, plain or gzip, Content-Length or
chunked), converts every span to Zipkin v2 JSON and posts it to Zipkin's `/api/v2/spans`.

Standard library only (Python >= 3.9): the protobuf wire format of the OTLP trace messages is
decoded by hand below, so it runs with any python3 and needs no virtual environment.

    python3 infra/viewer/otlp_zipkin.py [--host 127.0.0.1] [--port 4318]
                                        [--zipkin-url http://127.0.0.1:16686]

Endpoints: POST /v1/traces; POST /v1/metrics and /v1/logs are accepted and discarded (the
demo exports traces only); GET /health is 200 {"status": "ok"} while Zipkin answers its
/health, 503 otherwise. SIGTERM/SIGINT stop it with exit 0.
"""

from __future__ import annotations

import argparse
import base64
import errno
import ipaddress
import json
import signal
import struct
import sys
import threading
import time
import urllib.error
import urllib.request
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MAX_BODY = 32 * 1024 * 1024  # bytes, after decompression too

# --------------------------------------------------------------------------------------------
# Protobuf wire format -> the OTLP/JSON shape (camelCase keys, hex ids, ints for enums), so that
# protobuf and JSON requests share one converter.


class DecodeError(ValueError):
    pass


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(buf):
            raise DecodeError("truncated varint")
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, pos
        shift += 7
        if shift > 63:
            raise DecodeError("varint too long")


def _fields(buf: bytes):
    """Yield (field_number, wire_type, value); value is int for varint/fixed, bytes for LEN."""
    pos, end = 0, len(buf)
    while pos < end:
        key, pos = _varint(buf, pos)
        field, wt = key >> 3, key & 7
        if wt == 0:
            val, pos = _varint(buf, pos)
        elif wt == 1:
            if pos + 8 > end:
                raise DecodeError("truncated fixed64")
            val = buf[pos:pos + 8]
            pos += 8
        elif wt == 2:
            n, pos = _varint(buf, pos)
            if pos + n > end:
                raise DecodeError("truncated length-delimited field")
            val = buf[pos:pos + n]
            pos += n
        elif wt == 5:
            if pos + 4 > end:
                raise DecodeError("truncated fixed32")
            val = buf[pos:pos + 4]
            pos += 4
        else:
            raise DecodeError(f"unsupported wire type {wt}")
        yield field, wt, val


def _u64(v) -> int:
    return struct.unpack("<Q", v)[0] if isinstance(v, (bytes, bytearray)) else int(v)


def _s64(v: int) -> int:
    return v - (1 << 64) if v >= 1 << 63 else v


def _any_value(buf: bytes) -> dict:
    for f, wt, v in _fields(buf):
        if f == 1 and wt == 2:
            return {"stringValue": v.decode("utf-8", "replace")}
        if f == 2 and wt == 0:
            return {"boolValue": bool(v)}
        if f == 3 and wt == 0:
            return {"intValue": _s64(v)}
        if f == 4 and wt == 1:
            return {"doubleValue": struct.unpack("<d", v)[0]}
        if f == 5 and wt == 2:
            return {"arrayValue": {"values": [_any_value(x) for g, w, x in _fields(v)
                                              if g == 1 and w == 2]}}
        if f == 6 and wt == 2:
            return {"kvlistValue": {"values": [_key_value(x) for g, w, x in _fields(v)
                                               if g == 1 and w == 2]}}
        if f == 7 and wt == 2:
            return {"bytesValue": base64.b64encode(v).decode()}
    return {}


def _key_value(buf: bytes) -> dict:
    kv = {"key": "", "value": {}}
    for f, wt, v in _fields(buf):
        if f == 1 and wt == 2:
            kv["key"] = v.decode("utf-8", "replace")
        elif f == 2 and wt == 2:
            kv["value"] = _any_value(v)
    return kv


def _attrs(out: dict, v: bytes) -> None:
    out.setdefault("attributes", []).append(_key_value(v))


def _span(buf: bytes) -> dict:
    s: dict = {}
    for f, wt, v in _fields(buf):
        if wt == 2 and f in (1, 2, 4):
            s[{1: "traceId", 2: "spanId", 4: "parentSpanId"}[f]] = v.hex()
        elif f == 5 and wt == 2:
            s["name"] = v.decode("utf-8", "replace")
        elif f == 6 and wt == 0:
            s["kind"] = v
        elif f in (7, 8) and wt == 1:
            s["startTimeUnixNano" if f == 7 else "endTimeUnixNano"] = _u64(v)
        elif f == 9 and wt == 2:
            _attrs(s, v)
        elif f == 11 and wt == 2:
            ev: dict = {}
            for g, w, x in _fields(v):
                if g == 1 and w == 1:
                    ev["timeUnixNano"] = _u64(x)
                elif g == 2 and w == 2:
                    ev["name"] = x.decode("utf-8", "replace")
                elif g == 3 and w == 2:
                    _attrs(ev, x)
            s.setdefault("events", []).append(ev)
        elif f == 13 and wt == 2:
            link: dict = {}
            for g, w, x in _fields(v):
                if g in (1, 2) and w == 2:
                    link["traceId" if g == 1 else "spanId"] = x.hex()
            s.setdefault("links", []).append(link)
        elif f == 15 and wt == 2:
            st: dict = {}
            for g, w, x in _fields(v):
                if g == 2 and w == 2:
                    st["message"] = x.decode("utf-8", "replace")
                elif g == 3 and w == 0:
                    st["code"] = x
            s["status"] = st
    return s


def decode_protobuf(buf: bytes) -> dict:
    """ExportTraceServiceRequest bytes -> OTLP/JSON-shaped dict."""
    request: dict = {"resourceSpans": []}
    for f, wt, rs_buf in _fields(buf):
        if f != 1 or wt != 2:
            continue
        rs: dict = {"resource": {}, "scopeSpans": []}
        for g, w, v in _fields(rs_buf):
            if g == 1 and w == 2:
                for h, x, a in _fields(v):
                    if h == 1 and x == 2:
                        _attrs(rs["resource"], a)
            elif g == 2 and w == 2:
                ss: dict = {"scope": {}, "spans": []}
                for h, x, a in _fields(v):
                    if h == 1 and x == 2:
                        for i, y, b in _fields(a):
                            if i in (1, 2) and y == 2:
                                ss["scope"]["name" if i == 1 else "version"] = b.decode(
                                    "utf-8", "replace")
                    elif h == 2 and x == 2:
                        ss["spans"].append(_span(a))
                rs["scopeSpans"].append(ss)
        request["resourceSpans"].append(rs)
    return request


# --------------------------------------------------------------------------------------------
# OTLP (JSON shape) -> Zipkin v2 JSON

KINDS = {2: "SERVER", 3: "CLIENT", 4: "PRODUCER", 5: "CONSUMER"}
KIND_NAMES = {"SPAN_KIND_SERVER": 2, "SPAN_KIND_CLIENT": 3, "SPAN_KIND_PRODUCER": 4,
              "SPAN_KIND_CONSUMER": 5, "SPAN_KIND_INTERNAL": 1}


def _get(d: dict, camel: str, default=None):
    """OTLP/JSON uses lowerCamelCase; proto3 JSON parsers also accept the proto field names."""
    if camel in d:
        return d[camel]
    snake = "".join("_" + c.lower() if c.isupper() else c for c in camel)
    return d.get(snake, default)


def _plain(value: dict):
    """AnyValue -> a plain Python value."""
    if not isinstance(value, dict) or not value:
        return None
    key, v = next(iter(value.items()))
    if key in ("stringValue", "string_value"):
        return v
    if key in ("boolValue", "bool_value"):
        return bool(v)
    if key in ("intValue", "int_value"):
        return int(v)
    if key in ("doubleValue", "double_value"):
        return float(v)
    if key in ("arrayValue", "array_value"):
        return [_plain(x) for x in (v or {}).get("values", [])]
    if key in ("kvlistValue", "kvlist_value"):
        return {kv.get("key", ""): _plain(kv.get("value", {})) for kv in (v or {}).get("values", [])}
    if key in ("bytesValue", "bytes_value"):
        return v
    return None


def _attr_map(attrs) -> dict:
    return {kv.get("key", ""): _plain(kv.get("value", {})) for kv in attrs or []}


def _tag(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (list, dict)):
        return json.dumps(v, separators=(",", ":"))
    if isinstance(v, float) and v.is_integer():
        return repr(v)
    return str(v)


def _hex_id(v, length: int) -> str | None:
    """Ids are hex in OTLP/JSON (and from decode_protobuf); tolerate base64 from generic
    proto3-JSON encoders."""
    if not v:
        return None
    s = str(v)
    if len(s) != length:
        try:
            s = base64.b64decode(s, validate=True).hex()
        except (ValueError, TypeError):
            return None
    s = s.lower()
    if len(s) != length or s.strip("0") == "" or any(c not in "0123456789abcdef" for c in s):
        return None
    return s


def _endpoint_ip(ep: dict, address) -> None:
    try:
        ip = ipaddress.ip_address(str(address))
    except ValueError:
        return
    ep["ipv4" if ip.version == 4 else "ipv6"] = str(ip)


def to_zipkin(request: dict) -> list[dict]:
    spans: list[dict] = []
    for rs in _get(request, "resourceSpans", []) or []:
        resource = _attr_map((_get(rs, "resource", {}) or {}).get("attributes"))
        service = str(resource.pop("service.name", None) or "unknown_service")
        for ss in _get(rs, "scopeSpans", []) or []:
            scope = _get(ss, "scope", {}) or {}
            for sp in _get(ss, "spans", []) or []:
                z = _span_to_zipkin(sp, service, resource, scope)
                if z is not None:
                    spans.append(z)
    return spans


def _span_to_zipkin(sp: dict, service: str, resource: dict, scope: dict) -> dict | None:
    trace_id = _hex_id(_get(sp, "traceId"), 32)
    span_id = _hex_id(_get(sp, "spanId"), 16)
    if trace_id is None or span_id is None:
        return None
    start = int(_get(sp, "startTimeUnixNano", 0) or 0)
    end = int(_get(sp, "endTimeUnixNano", 0) or 0)
    attrs = _attr_map(sp.get("attributes"))
    kind = _get(sp, "kind", 0)
    kind = KIND_NAMES.get(kind, 0) if isinstance(kind, str) else int(kind or 0)

    z: dict = {"traceId": trace_id, "id": span_id, "name": sp.get("name") or "unknown",
               "localEndpoint": {"serviceName": service}}
    parent = _hex_id(_get(sp, "parentSpanId"), 16)
    if parent:
        z["parentId"] = parent
    if kind in KINDS:
        z["kind"] = KINDS[kind]
    if start > 0:
        z["timestamp"] = start // 1000
        if end >= start:
            z["duration"] = max(1, (end - start) // 1000)

    # remote side, so Zipkin's dependency graph shows the database and the broker
    remote: dict = {}
    if kind == 3:
        name = attrs.get("peer.service") or attrs.get("db.system.name") or attrs.get("db.system")
    elif kind in (4, 5):
        name = attrs.get("peer.service") or attrs.get("messaging.system")
    else:
        name = None
    if name:
        remote["serviceName"] = str(name)
    if kind in (3, 4):
        _endpoint_ip(remote, attrs.get("network.peer.address") or attrs.get("server.address"))
        port = attrs.get("network.peer.port") or attrs.get("server.port")
        if isinstance(port, int) and 0 < port < 65536:
            remote["port"] = port
    if remote:
        z["remoteEndpoint"] = remote

    tags = {k: _tag(v) for k, v in resource.items() if v is not None}
    tags.update({k: _tag(v) for k, v in attrs.items() if v is not None})
    if scope.get("name"):
        tags["otel.scope.name"] = scope["name"]
    if scope.get("version"):
        tags["otel.scope.version"] = scope["version"]
    status = sp.get("status") or {}
    code = status.get("code", 0)
    code = {"STATUS_CODE_OK": 1, "STATUS_CODE_ERROR": 2}.get(code, 0) if isinstance(code, str) \
        else int(code or 0)
    if code == 1:
        tags["otel.status_code"] = "OK"
    elif code == 2:
        tags["otel.status_code"] = "ERROR"
        tags["error"] = status.get("message") or "true"  # Zipkin's UI marks these spans red
    links = sp.get("links") or []
    if links:
        tags["otel.links"] = json.dumps(
            [{"traceId": _hex_id(_get(x, "traceId"), 32), "spanId": _hex_id(_get(x, "spanId"), 16)}
             for x in links],
            separators=(",", ":"))
    if tags:
        z["tags"] = tags

    annotations = []
    for ev in sp.get("events") or []:
        ts = int(_get(ev, "timeUnixNano", 0) or 0) // 1000 or z.get("timestamp")
        if not ts:
            continue
        value = ev.get("name") or "event"
        ev_attrs = _attr_map(ev.get("attributes"))
        if ev_attrs:
            value += " " + json.dumps(ev_attrs, separators=(",", ":"), default=str)
        annotations.append({"timestamp": ts, "value": value})
    if annotations:
        z["annotations"] = annotations
    return z


# --------------------------------------------------------------------------------------------
# HTTP


def _status_pb(code: int, message: str) -> bytes:
    """google.rpc.Status{code, message} in protobuf, the OTLP error body."""
    msg = message.encode()
    out = bytearray([0x08])
    v = code
    while True:
        b = v & 0x7F
        v >>= 7
        out.append(b | (0x80 if v else 0))
        if not v:
            break
    out.append(0x12)
    n = len(msg)
    while True:
        b = n & 0x7F
        n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n:
            break
    return bytes(out) + msg


class HttpError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: exporters reuse their connection
    server_version = "polytrace-otlp-zipkin"
    zipkin_url = "http://127.0.0.1:16686"

    def log_message(self, fmt, *args):  # silence the per-request access log
        pass

    def _send(self, status: int, body: bytes, ctype: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        if status in (429, 502, 503, 504):
            self.send_header("Retry-After", "1")
        self.end_headers()
        self.wfile.write(body)

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks, total = [], 0
            while True:
                line = self.rfile.readline(65537)
                if not line:
                    raise HttpError(400, "truncated chunked body")
                try:
                    size = int(line.split(b";", 1)[0].strip(), 16)
                except ValueError:
                    raise HttpError(400, "bad chunk size") from None
                if size == 0:
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    break
                total += size
                if total > MAX_BODY:
                    raise HttpError(413, "body too large")
                chunks.append(self.rfile.read(size))
                self.rfile.readline(3)  # CRLF after each chunk
            body = b"".join(chunks)
        else:
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY:
                raise HttpError(413, "body too large")
            body = self.rfile.read(length) if length else b""
        enc = self.headers.get("Content-Encoding", "").strip().lower()
        try:
            if enc == "gzip":
                body = _bounded(zlib.decompressobj(16 + zlib.MAX_WBITS), body)
            elif enc == "deflate":
                body = _bounded(zlib.decompressobj(), body)
            elif enc not in ("", "identity"):
                raise HttpError(415, f"unsupported Content-Encoding {enc}")
        except zlib.error as e:
            raise HttpError(400, f"bad {enc} body: {e}") from None
        return body

    def do_GET(self):
        if self.path.split("?", 1)[0] != "/health":
            self._send(404, b'{"error": "not found"}', "application/json")
            return
        try:
            with urllib.request.urlopen(self.zipkin_url + "/health", timeout=2) as r:
                ok = r.status == 200
        except (OSError, urllib.error.URLError):
            ok = False
        if ok:
            self._send(200, b'{"status": "ok"}', "application/json")
        else:
            body = json.dumps({"status": "unavailable",
                               "error": f"zipkin not answering at {self.zipkin_url}/health"})
            self._send(503, body.encode(), "application/json")

    def do_POST(self):
        path = self.path.split("?", 1)[0]
        ctype = self.headers.get("Content-Type", "").split(";", 1)[0].strip().lower()
        is_json = ctype == "application/json"
        try:
            if path not in ("/v1/traces", "/v1/metrics", "/v1/logs"):
                raise HttpError(404, "not found")
            if not is_json and ctype not in ("application/x-protobuf", "application/protobuf"):
                raise HttpError(415, f"unsupported Content-Type {ctype!r}")
            body = self._read_body()
            if path == "/v1/traces":
                try:
                    request = json.loads(body or b"{}") if is_json else decode_protobuf(body)
                    spans = to_zipkin(request)
                except (ValueError, TypeError, AttributeError, KeyError) as e:
                    raise HttpError(400, f"cannot decode OTLP request: {e}") from None
                if spans:
                    forward(self.zipkin_url, spans)
        except HttpError as e:
            if e.status >= 500 or e.status == 400:
                log("error", path=path, status=e.status, error=str(e))
            if is_json:
                self._send(e.status, json.dumps({"code": 3, "message": str(e)}).encode(),
                           "application/json")
            else:
                self._send(e.status, _status_pb(3 if e.status < 500 else 14, str(e)),
                           "application/x-protobuf")
            if e.status in (400, 413):
                self.close_connection = True
            return
        # empty Export*ServiceResponse: full success
        if is_json:
            self._send(200, b"{}", "application/json")
        else:
            self._send(200, b"", "application/x-protobuf")


class Server(ThreadingHTTPServer):
    request_queue_size = 128  # socketserver's default listen backlog is 5
    daemon_threads = True


def _bounded(d, data: bytes) -> bytes:
    out = d.decompress(data, MAX_BODY + 1)
    if len(out) > MAX_BODY or d.unconsumed_tail:
        raise HttpError(413, "body too large")
    return out


def forward(zipkin_url: str, spans: list[dict]) -> None:
    req = urllib.request.Request(zipkin_url + "/api/v2/spans",
                                 data=json.dumps(spans, separators=(",", ":")).encode(),
                                 headers={"Content-Type": "application/json"}, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            r.read()
    except urllib.error.HTTPError as e:
        detail = e.read()[:500].decode("utf-8", "replace")
        # Zipkin rejected what we built: not worth a retry
        raise HttpError(400 if e.code < 500 else 503, f"zipkin said {e.code}: {detail}") from None
    except OSError as e:
        raise HttpError(503, f"zipkin unreachable at {zipkin_url}: {e}") from None


def log(level: str, **fields) -> None:
    rec = {"ts": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "level": level, "component": "otlp-zipkin"}
    rec.update(fields)
    print(json.dumps(rec), file=sys.stderr, flush=True)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=4318, help="OTLP/HTTP port (default 4318)")
    p.add_argument("--zipkin-url", default="http://127.0.0.1:16686",
                   help="Zipkin server base URL (default http://127.0.0.1:16686)")
    args = p.parse_args(argv)

    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    Handler.zipkin_url = args.zipkin_url.rstrip("/")
    try:
        server = Server((args.host, args.port), Handler)
    except OSError as e:
        if e.errno == errno.EADDRINUSE:
            log("error", error=f"{args.host}:{args.port} is already in use; "
                               "choose another with --port")
        else:
            log("error", error=f"cannot listen on {args.host}:{args.port}: {e}")
        return 1
    t = threading.Thread(target=server.serve_forever, name="otlp-http", daemon=True)
    t.start()
    log("info", msg="listening", otlp=f"http://{args.host}:{args.port}/v1/traces",
        zipkin=Handler.zipkin_url)
    stop.wait()
    server.shutdown()
    server.server_close()
    log("info", msg="stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
