"""The gateway for real: the Caddy binary on this Caddyfile, in front of a small HTTP upstream that
records what reaches it, exporting to polytrace's OTLP test receiver.

Needs the binary that `services/gateway/build.sh` builds (or CADDY=/path/to/caddy); it fails, not
skips, without it.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.trace.v1.trace_pb2 import Span as ProtoSpan

from polytrace.capture.receiver import OtlpReceiver
from polytrace.wait import poll_until

HERE = Path(__file__).resolve().parent
GATEWAY = HERE.parent
CADDYFILE = GATEWAY / "Caddyfile"
TRACEPARENT = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-0[01]$")
CLIENT_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
CLIENT_SPAN = "00f067aa0ba902b7"


def caddy_binary() -> Path:
    if os.environ.get("CADDY"):
        return Path(os.environ["CADDY"])
    result = subprocess.run(["bash", str(GATEWAY / "build.sh"), "--print"], capture_output=True, text=True, check=True)
    return Path(result.stdout.strip())


@pytest.fixture(scope="session")
def caddy() -> Path:
    binary = caddy_binary()
    assert binary.is_file(), f"{binary} is missing: run services/gateway/build.sh first"
    return binary


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ----------------------------------------------------------------------------- a recording upstream


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]


@dataclass
class Upstream:
    """Answers like catalog (and like Zipkin's read API) and records every request it gets."""

    seen: list[Seen] = field(default_factory=list)

    def __post_init__(self) -> None:
        upstream = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                upstream.seen.append(Seen("GET", self.path, {k.lower(): v for k, v in self.headers.items()}))
                if self.path == "/products/abc":
                    status, body = 400, {"error": "product id must be an integer: abc"}
                elif self.path == "/products/503":
                    status, body = 503, {"error": "catalog database unavailable"}
                else:
                    status, body = 200, {"path": self.path}
                payload = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.send_header("traceresponse", "00-" + "1" * 32 + "-" + "2" * 16 + "-01")
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def last(self, path: str) -> Seen:
        return [s for s in self.seen if s.path == path][-1]


# ----------------------------------------------------------------------------- Caddy on this Caddyfile


@dataclass
class Gateway:
    process: subprocess.Popen
    url: str
    log: Path

    def get(self, path: str, **kwargs) -> requests.Response:
        return requests.get(self.url + path, timeout=10, **kwargs)

    def log_lines(self) -> list[dict]:
        return [json.loads(line) for line in self.log.read_text().splitlines() if line.startswith("{")]

    def stop(self) -> int:
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=15)


def start_gateway(caddy: Path, tmp: Path, env: dict[str, str]) -> Gateway:
    port = free_port()
    log = tmp / f"gateway-{port}.log"
    full_env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp),
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "OTEL_SERVICE_NAME": "gateway",
        "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
        "OTEL_TRACES_EXPORTER": "otlp",
        "OTEL_PROPAGATORS": "tracecontext,baggage",
        "OTEL_BSP_SCHEDULE_DELAY": "100",
        **env,
    }
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(caddy), "run", "--config", str(CADDYFILE), "--adapter", "caddyfile"],
            cwd=GATEWAY, env=full_env, stdout=out, stderr=subprocess.STDOUT,
        )
    gateway = Gateway(process, f"http://127.0.0.1:{port}", log)
    try:
        poll_until(lambda: gateway.get("/health").status_code == 200, "the gateway's /health", timeout=20)
    except Exception:
        process.kill()
        raise AssertionError(f"caddy did not start:\n{log.read_text()}") from None
    return gateway


@pytest.fixture(scope="module")
def frontend(tmp_path_factory) -> Path:
    dist = tmp_path_factory.mktemp("dist")
    (dist / "index.html").write_text("<!doctype html><title>shop</title><script src=app.js></script>")
    (dist / "app.js").write_text("console.log('shop');\n" * 100)
    return dist


@pytest.fixture(scope="module")
def receiver() -> Iterator[OtlpReceiver]:
    receiver = OtlpReceiver().start()
    yield receiver
    receiver.stop()


@pytest.fixture(scope="module")
def upstream() -> Upstream:
    return Upstream()


@pytest.fixture(scope="module")
def gateway(caddy, tmp_path_factory, frontend, receiver, upstream) -> Iterator[Gateway]:
    gateway = start_gateway(caddy, tmp_path_factory.mktemp("traced"), {
        "CATALOG_URL": upstream.url,
        "VIEWER_URL": upstream.url,
        "FRONTEND_DIR": str(frontend),
        "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint,
    })
    yield gateway
    assert gateway.stop() == 0


def gateway_spans(receiver: OtlpReceiver, trace_id: str, expected: int = 1):
    return poll_until(
        lambda: (spans := [s for s in receiver.trace(trace_id) if s.service == "gateway"]) and len(spans) >= expected
        and spans,
        f"{expected} gateway span(s) of trace {trace_id}",
        timeout=10,
    )


# ----------------------------------------------------------------------------- the file itself


@pytest.mark.parametrize("sdk_disabled", ["false", "true"])
def test_the_caddyfile_is_valid(caddy, tmp_path, sdk_disabled):
    result = subprocess.run(
        [str(caddy), "validate", "--config", str(CADDYFILE), "--adapter", "caddyfile"],
        cwd=GATEWAY, capture_output=True, text=True, check=False,
        env={"PATH": os.environ["PATH"], "HOME": str(tmp_path), "OTEL_SDK_DISABLED": sdk_disabled},
    )
    assert result.returncode == 0, result.stderr
    assert "Valid configuration" in result.stdout + result.stderr


def test_the_caddyfile_is_formatted(caddy):
    result = subprocess.run([str(caddy), "fmt", str(CADDYFILE)], capture_output=True, text=True, check=True)
    assert result.stdout == CADDYFILE.read_text(), "run: caddy fmt --overwrite services/gateway/Caddyfile"


def test_tracing_is_only_on_the_api_route(caddy, tmp_path):
    result = subprocess.run(
        [str(caddy), "adapt", "--config", str(CADDYFILE), "--adapter", "caddyfile"],
        cwd=GATEWAY, capture_output=True, text=True, check=True,
        env={"PATH": os.environ["PATH"], "HOME": str(tmp_path)},
    )
    assert result.stdout.count('"handler":"tracing"') == 1
    routes = json.loads(result.stdout)["apps"]["http"]["servers"]["srv0"]["routes"]
    traced = [r.get("match") for r in routes if '"handler": "tracing"' in json.dumps(r)]
    assert traced == [[{"path": ["/api/*"]}]]


# ----------------------------------------------------------------------------- routes


def test_health(gateway):
    response = gateway.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_serves_the_frontend_at_the_root(gateway, frontend):
    page = gateway.get("/")
    assert page.status_code == 200
    assert page.text == (frontend / "index.html").read_text()
    assert page.headers["Content-Type"].startswith("text/html")
    script = gateway.get("/app.js")
    assert script.status_code == 200
    assert script.headers["Content-Type"].startswith("text/javascript")


def test_static_files_are_compressed_for_browsers_that_ask(gateway, frontend):
    script = gateway.get("/app.js", headers={"Accept-Encoding": "gzip"})
    assert script.headers["Content-Encoding"] == "gzip"
    assert script.text == (frontend / "app.js").read_text()  # requests decodes it


@pytest.mark.parametrize("path", ["/nope", "/api", "/index.htm", "/v1/trace"])
def test_unknown_paths_are_a_json_404(gateway, path):
    response = gateway.get(path)
    assert response.status_code == 404
    assert response.headers["Content-Type"] == "application/json"
    assert response.json() == {"error": "not found"}


def test_api_strips_the_prefix_and_passes_the_answer_through(gateway, upstream):
    response = gateway.get("/api/products/1?x=1")
    assert response.status_code == 200
    assert response.json() == {"path": "/products/1?x=1"}
    assert response.headers["traceresponse"] == "00-" + "1" * 32 + "-" + "2" * 16 + "-01"
    assert upstream.last("/products/1?x=1").method == "GET"


def test_a_catalog_400_passes_through_untouched(gateway):
    response = gateway.get("/api/products/abc")
    assert response.status_code == 400
    assert response.headers["Content-Type"] == "application/json"
    assert response.json() == {"error": "product id must be an integer: abc"}


def test_viewer_read_api_is_proxied_without_its_prefix(gateway, upstream):
    response = gateway.get("/viewer/api/v2/trace/" + CLIENT_TRACE)
    assert response.status_code == 200
    assert response.json() == {"path": "/api/v2/trace/" + CLIENT_TRACE}
    assert "traceparent" not in upstream.last("/api/v2/trace/" + CLIENT_TRACE).headers  # not traced


def test_viewer_writes_are_not_proxied(gateway, upstream):
    before = len(upstream.seen)
    response = requests.post(gateway.url + "/viewer/api/v2/spans", data="[]", timeout=10)
    assert response.status_code in (404, 405)
    assert response.headers["Content-Type"] == "application/json"
    assert len(upstream.seen) == before


def test_browser_spans_reach_the_receiver_through_v1_traces(gateway, receiver):
    trace_id = "0af7651916cd43dd8448eb211c80319c"
    request = ExportTraceServiceRequest()
    resource_spans = request.resource_spans.add()
    resource_spans.resource.attributes.add(key="service.name").value.string_value = "frontend"
    span = resource_spans.scope_spans.add().spans.add()
    span.trace_id, span.span_id, span.name = bytes.fromhex(trace_id), bytes.fromhex("b7ad6b7169203331"), "click"
    span.kind = ProtoSpan.SPAN_KIND_INTERNAL
    span.start_time_unix_nano, span.end_time_unix_nano = 1, 2
    response = requests.post(
        gateway.url + "/v1/traces", data=request.SerializeToString(),
        headers={"Content-Type": "application/x-protobuf"}, timeout=10,
    )
    assert response.status_code == 200
    [received] = receiver.trace(trace_id)
    assert (received.service, received.name) == ("frontend", "click")
    assert not [s for s in receiver.trace(trace_id) if s.service == "gateway"]  # the export is not traced


# ----------------------------------------------------------------------------- spans and propagation


def test_an_api_request_gets_a_server_span_whose_context_reaches_catalog(gateway, receiver, upstream):
    response = gateway.get("/api/products/2", headers={"traceparent": f"00-{CLIENT_TRACE}-{CLIENT_SPAN}-01"})
    assert response.status_code == 200
    sent = TRACEPARENT.match(upstream.last("/products/2").headers["traceparent"])
    assert sent, upstream.last("/products/2").headers
    trace_id, parent_id = sent.groups()
    assert trace_id == CLIENT_TRACE
    [span] = [s for s in gateway_spans(receiver, CLIENT_TRACE) if s.attributes.get("url.path") == "/api/products/2"]
    assert span.span_id == parent_id  # catalog's parent is the gateway's SERVER span
    assert span.parent_span_id == CLIENT_SPAN  # which continues the browser's context
    assert (span.kind, span.name, span.service) == ("SERVER", "GET /api/*", "gateway")
    assert span.attributes["http.route"] == "/api/*"
    assert span.attributes["http.request.method"] == "GET"
    assert span.attributes["http.response.status_code"] == 200
    assert span.status != "ERROR"


def test_a_catalog_503_passes_through_and_marks_the_span_as_an_error(gateway, receiver, upstream):
    response = gateway.get("/api/products/503", headers={"traceparent": f"00-{'f' * 32}-{CLIENT_SPAN}-01"})
    assert response.status_code == 503
    assert response.json() == {"error": "catalog database unavailable"}
    [span] = gateway_spans(receiver, "f" * 32)
    assert span.attributes["http.response.status_code"] == 503
    assert span.status == "ERROR"


def test_a_request_without_context_starts_a_trace(gateway, receiver, upstream):
    gateway.get("/api/products/3")
    trace_id, parent_id = TRACEPARENT.match(upstream.last("/products/3").headers["traceparent"]).groups()
    [span] = gateway_spans(receiver, trace_id)
    assert (span.span_id, span.parent_span_id) == (parent_id, "")


def test_static_files_and_health_open_no_span(gateway, receiver, upstream):
    # Traced requests before and after the untraced ones, as markers: all spans before the second
    # marker's have arrived once it has (one batch processor, in order).
    gateway.get("/api/products/4")
    trace_4, _ = TRACEPARENT.match(upstream.last("/products/4").headers["traceparent"]).groups()
    gateway_spans(receiver, trace_4)
    before = len(receiver.spans())
    gateway.get("/", headers={"traceparent": f"00-{'a' * 32}-{CLIENT_SPAN}-01"})
    gateway.get("/app.js", headers={"traceparent": f"00-{'a' * 32}-{CLIENT_SPAN}-01"})
    gateway.get("/nope", headers={"traceparent": f"00-{'a' * 32}-{CLIENT_SPAN}-01"})
    gateway.get("/health", headers={"traceparent": f"00-{'b' * 32}-{CLIENT_SPAN}-01"})
    gateway.get("/api/products/5")
    trace_5, _ = TRACEPARENT.match(upstream.last("/products/5").headers["traceparent"]).groups()
    gateway_spans(receiver, trace_5)
    assert receiver.trace("a" * 32) == [] and receiver.trace("b" * 32) == []
    assert len(receiver.spans()) == before + 1


def test_access_log_lines_carry_trace_and_span_ids(gateway, upstream):
    gateway.get("/api/products/6")
    trace_id, span_id = TRACEPARENT.match(upstream.last("/products/6").headers["traceparent"]).groups()
    line = poll_until(
        lambda: [entry for entry in gateway.log_lines() if entry.get("trace_id") == trace_id],
        "the access log line of /api/products/6", timeout=5,
    )[0]
    assert line["span_id"] == span_id
    assert line["request"]["uri"] == "/api/products/6"
    assert {"ts", "level", "msg"} <= set(line)


# ----------------------------------------------------------------------------- upstreams that are down


@pytest.fixture(scope="module")
def orphan(caddy, tmp_path_factory, frontend, receiver) -> Iterator[Gateway]:
    """A gateway whose every upstream is a closed port."""
    closed = f"http://127.0.0.1:{free_port()}"
    gateway = start_gateway(caddy, tmp_path_factory.mktemp("orphan"), {
        "CATALOG_URL": closed, "VIEWER_URL": closed, "FRONTEND_DIR": str(frontend),
        "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint,
    })
    yield gateway
    assert gateway.stop() == 0


@pytest.mark.parametrize(("method", "path", "name"), [
    ("GET", "/api/products/1", "catalog"),
    ("GET", "/viewer/api/v2/trace/" + CLIENT_TRACE, "viewer"),
])
def test_an_upstream_that_is_down_is_a_json_502(orphan, method, path, name):
    response = requests.request(method, orphan.url + path, timeout=10)
    assert response.status_code == 502
    assert response.headers["Content-Type"] == "application/json"
    assert response.json() == {"error": f"{name} unavailable"}


def test_a_receiver_that_is_down_is_a_json_502(caddy, tmp_path, frontend, upstream):
    gateway = start_gateway(caddy, tmp_path, {
        "CATALOG_URL": upstream.url, "FRONTEND_DIR": str(frontend),
        "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{free_port()}",
    })
    try:
        response = requests.post(gateway.url + "/v1/traces", data=b"", timeout=10,
                                 headers={"Content-Type": "application/x-protobuf"})
        assert response.status_code == 502
        assert response.json() == {"error": "trace receiver unavailable"}
    finally:
        assert gateway.stop() == 0


# ----------------------------------------------------------------------------- untraced mode, shutdown


def test_sdk_disabled_means_no_span_and_no_propagation(caddy, tmp_path, frontend, receiver, upstream):
    gateway = start_gateway(caddy, tmp_path, {
        "CATALOG_URL": upstream.url, "FRONTEND_DIR": str(frontend),
        "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint, "OTEL_SDK_DISABLED": "true",
    })
    try:
        assert gateway.get("/api/products/8").status_code == 200
        assert "traceparent" not in upstream.last("/products/8").headers
        incoming = f"00-{'d' * 32}-{CLIENT_SPAN}-01"
        gateway.get("/api/products/9", headers={"traceparent": incoming})
        assert upstream.last("/products/9").headers["traceparent"] == incoming  # forwarded as any header
    finally:
        assert gateway.stop() == 0
    assert receiver.trace("d" * 32) == []


def test_sigterm_exports_the_queued_spans_before_exit(caddy, tmp_path, frontend, receiver, upstream):
    gateway = start_gateway(caddy, tmp_path, {
        "CATALOG_URL": upstream.url, "FRONTEND_DIR": str(frontend),
        "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint, "OTEL_BSP_SCHEDULE_DELAY": "60000",
    })
    gateway.get("/api/products/10", headers={"traceparent": f"00-{'e' * 32}-{CLIENT_SPAN}-01"})
    assert receiver.trace("e" * 32) == []  # still queued: the batch is a minute away
    assert gateway.stop() == 0
    assert [s.name for s in receiver.trace("e" * 32)] == ["GET /api/*"]
