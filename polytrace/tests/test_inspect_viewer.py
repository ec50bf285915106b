"""Reading traces from a Zipkin stand-in over real HTTP: the trace, the latest one, and every error as one line."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest
from rich.console import Console
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from polytrace.config import ROOT, load_settings
from polytrace.errors import PolytraceError
from polytrace.inspect import commands
from polytrace.inspect.viewer import Viewer, check_trace_id, last_trace_id, read_trace

DATA = Path(__file__).parent / "data"
GOLDEN = json.loads((DATA / "zipkin-golden-trace.json").read_text())
GOLDEN_ID = GOLDEN[0]["traceId"]
UNKNOWN = "0123456789abcdef0123456789abcdef"


class FakeZipkin:
    """Zipkin's two query endpoints over canned traces, on a free loopback port."""

    def __init__(self):
        self.traces: dict[str, list[dict]] = {}
        self.requests: list[str] = []
        self.server = make_server("127.0.0.1", 0, self.app, threaded=True)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_port}"

    @Request.application
    def app(self, request: Request) -> Response:
        self.requests.append(request.full_path.rstrip("?"))
        if request.path.startswith("/api/v2/trace/"):
            trace = self.traces.get(request.path.rsplit("/", 1)[1])
            return Response(json.dumps(trace), content_type="application/json") if trace else \
                Response("trace not found", status=404)
        if request.path == "/api/v2/traces":
            service = request.args["serviceName"]
            found = [t for t in self.traces.values() if any(s["localEndpoint"]["serviceName"] == service for s in t)]
            return Response(json.dumps(found), content_type="application/json")
        return Response(status=404)


@pytest.fixture
def zipkin():
    fake = FakeZipkin()
    yield fake
    fake.server.shutdown()


def server_span(service: str) -> dict:
    return next(s for s in GOLDEN if s["localEndpoint"]["serviceName"] == service and s.get("kind") == "SERVER")


def shifted(trace: list[dict], trace_id: str, by_us: int) -> list[dict]:
    return [{**span, "traceId": trace_id, "timestamp": span["timestamp"] + by_us} for span in trace]


def test_a_whole_trace_is_read_at_once(zipkin):
    zipkin.traces[GOLDEN_ID] = GOLDEN
    spans = read_trace(Viewer(zipkin.url), GOLDEN_ID, wait_s=0)
    assert len(spans) == len(GOLDEN)
    assert zipkin.requests == [f"/api/v2/trace/{GOLDEN_ID}"]


def test_the_latest_trace_is_the_one_with_the_newest_catalog_server_span(zipkin):
    newer = "11111111111111111111111111111111"
    zipkin.traces[GOLDEN_ID] = GOLDEN
    zipkin.traces[newer] = shifted(GOLDEN, newer, 60_000_000)
    health = "22222222222222222222222222222222"  # newer still, but a health check is no one's request
    zipkin.traces[health] = [{"traceId": health, "id": "1" * 16, "name": "get /health", "kind": "SERVER",
                              "timestamp": GOLDEN[0]["timestamp"] + 120_000_000, "duration": 10,
                              "localEndpoint": {"serviceName": "catalog"}, "tags": {"http.route": "/health"}}]
    assert last_trace_id(Viewer(zipkin.url)) == newer
    assert "serviceName=catalog" in zipkin.requests[-1]


def test_the_latest_trace_is_waited_for_when_none_has_arrived_yet(zipkin):
    started = time.monotonic()
    with pytest.raises(PolytraceError, match="no trace with a catalog SERVER span yet.*waited 0.5 s"):
        last_trace_id(Viewer(zipkin.url), wait_s=0.5)
    assert time.monotonic() - started >= 0.5

    # A fresh stack's first request: its trace reaches the viewer a moment after the command starts.
    def arrives(_seconds):
        zipkin.traces[GOLDEN_ID] = GOLDEN

    assert last_trace_id(Viewer(zipkin.url), wait_s=5, sleep=arrives) == GOLDEN_ID


def test_an_unknown_trace_is_one_line_after_the_wait(zipkin):
    started = time.monotonic()
    with pytest.raises(PolytraceError, match=f"no trace {UNKNOWN} in the viewer.*waited 0.5 s") as caught:
        read_trace(Viewer(zipkin.url), UNKNOWN, wait_s=0.5)
    assert 0.5 <= time.monotonic() - started < 3
    assert "\n" not in str(caught.value)


def test_a_trace_still_arriving_says_how_many_spans_so_far(zipkin):
    # The catalog half arrived; pricing's SERVER span, parent of two others, is still in its exporter.
    pricing_server = server_span("pricing")
    partial = [s for s in GOLDEN if s["id"] != pricing_server["id"]]
    zipkin.traces[GOLDEN_ID] = partial
    with pytest.raises(PolytraceError, match=f"trace {GOLDEN_ID} is still arriving: {len(partial)} spans so far"):
        read_trace(Viewer(zipkin.url), GOLDEN_ID, wait_s=0.3)


def test_a_trace_that_completes_while_waiting_is_shown(zipkin):
    pricing_server = server_span("pricing")
    zipkin.traces[GOLDEN_ID] = [s for s in GOLDEN if s["id"] != pricing_server["id"]]
    threading.Timer(0.4, lambda: zipkin.traces.update({GOLDEN_ID: GOLDEN})).start()
    assert len(read_trace(Viewer(zipkin.url), GOLDEN_ID, wait_s=5)) == len(GOLDEN)


def test_a_recent_trace_is_read_again_until_it_settles(zipkin):
    now_us = int(time.time() * 1e6)
    recent = shifted(GOLDEN, GOLDEN_ID, now_us - max(s["timestamp"] + s["duration"] for s in GOLDEN))
    zipkin.traces[GOLDEN_ID] = recent
    spans = read_trace(Viewer(zipkin.url), GOLDEN_ID, wait_s=5)
    assert len(spans) == len(GOLDEN)
    assert len(zipkin.requests) > 1  # it looked again: spans may still be in an exporter's batch


def test_a_viewer_that_is_down_is_one_line():
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(PolytraceError, match=f"the viewer at http://127.0.0.1:{port} is not answering"):
        read_trace(Viewer(f"http://127.0.0.1:{port}"), UNKNOWN, wait_s=0)


@pytest.mark.parametrize("value", ["", "xyz", "0123", UNKNOWN + "0", "0123456789ABCDEF0123456789ABCDEG"])
def test_what_is_not_a_trace_id_is_refused(value):
    with pytest.raises(PolytraceError, match="is not a trace id"):
        check_trace_id(value)


def test_upper_case_ids_are_accepted():
    assert check_trace_id(UNKNOWN.upper()) == UNKNOWN


def test_with_an_otlp_endpoint_there_is_no_bundled_viewer_to_read(tmp_path):
    settings = load_settings(env={"POLYTRACE_RUN_DIR": str(tmp_path),
                                  "POLYTRACE_OTLP_ENDPOINT": "http://collector:4318"})
    with pytest.raises(PolytraceError, match="traces go to http://collector:4318 .* not to the bundled viewer"):
        commands.viewer(settings)


def test_the_running_stack_s_endpoint_counts_not_only_the_environment(tmp_path):
    (tmp_path / "state.json").write_text(json.dumps({"ports": {"viewer": 1234}, "otlp_endpoint": "http://mine:4318",
                                                      "tracing": True}))
    settings = commands.running(load_settings(env={"POLYTRACE_RUN_DIR": str(tmp_path)}))
    assert settings.ports["viewer"] == 1234 and not settings.viewer_enabled


@pytest.mark.parametrize(("args", "message"), [
    (["trace", UNKNOWN, "--wait", "0"], f"polytrace: no trace {UNKNOWN} in the viewer"),
    (["trace", "nonsense"], "polytrace: 'nonsense' is not a trace id"),
    (["trace"], "polytrace: give a trace id or --last"),
    (["logs", "--trace", UNKNOWN], "polytrace: no log line under"),
])
def test_the_command_prints_one_line_and_exits_non_zero(zipkin, tmp_path, args, message):
    (tmp_path / "logs").mkdir()
    env = {"PATH": "/usr/bin:/bin", "POLYTRACE_RUN_DIR": str(tmp_path),
           "POLYTRACE_VIEWER_PORT": str(zipkin.server.server_port)}
    result = subprocess.run([sys.executable, "-m", "polytrace", *args], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 1, result
    assert result.stdout == ""
    assert result.stderr.startswith(message), result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_the_demo_shows_the_response_the_trace_its_log_lines_and_the_viewer_url(zipkin, tmp_path):
    zipkin.traces[GOLDEN_ID] = GOLDEN
    (tmp_path / "logs").mkdir()
    for name in ("stock", "analytics"):
        (tmp_path / "logs" / f"{name}.log").write_text((DATA / f"log-{name}.log").read_text())
    settings = load_settings(env={"POLYTRACE_RUN_DIR": str(tmp_path),
                                  "POLYTRACE_VIEWER_PORT": str(zipkin.server.server_port)})
    asked = []

    def fetch(url):
        asked.append(url)
        return 200, {"traceresponse": f"00-{GOLDEN_ID}-{'5' * 16}-01", "content-type": "application/json"}, \
            b'{"id":1,"name":"Stickers pack"}'

    console = Console(record=True, width=200)
    commands.demo(console, settings, fetch=fetch, wait_s=0)
    text = console.export_text()

    assert asked == [f"http://127.0.0.1:{settings.ports['gateway']}/api/products/1"]  # through the gateway
    assert f"traceresponse: 00-{GOLDEN_ID}-" in text and '{"id":1,"name":"Stickers pack"}' in text
    assert f"trace {GOLDEN_ID} · 14 spans" in text
    assert "stock     info  request.completed span_id=345b6cdaa8dd9b54" in text
    assert "analytics info  page_view.stored span_id=09eddab22b227cc9" in text
    assert text.rstrip().endswith(f"In the viewer: {zipkin.url}/zipkin/traces/{GOLDEN_ID}")


def test_the_demo_goes_through_the_gateway_when_there_is_one(tmp_path):
    settings = load_settings(env={"POLYTRACE_RUN_DIR": str(tmp_path)})
    settings = replace(settings, ports={**settings.ports, "gateway": 18000}, tracing=False)
    asked = []
    commands.demo(Console(record=True), settings, fetch=lambda url: asked.append(url) or (200, {}, b"{}"))
    assert asked == ["http://127.0.0.1:18000/api/products/1"]


def test_the_demo_says_in_one_line_that_nothing_answers(tmp_path):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings = load_settings(env={"POLYTRACE_RUN_DIR": str(tmp_path), "POLYTRACE_GATEWAY_PORT": str(port)})
    with pytest.raises(PolytraceError, match=f"nothing answers at http://127.0.0.1:{port}/api/products/1 .*make up"):
        commands.demo(Console(record=True), settings)
