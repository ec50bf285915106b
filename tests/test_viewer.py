"""The bundled viewer: with no --otlp-endpoint, traces land in Zipkin (through the OTLP bridge)."""

from __future__ import annotations

import pytest
import requests

from polytrace.ports import port_block
from polytrace.wait import poll_until
from tests.stack import ROOT, Stack
from tests.traces import TraceParent

# Its own ports and run directory: this stack runs beside the session's main one.
VIEWER_PORTS = port_block(29000)


@pytest.fixture(scope="module")
def viewer_stack():
    stack = Stack(None, run_dir=ROOT / ".run-test-viewer", ports=VIEWER_PORTS, services="pricing")
    with stack.running():
        yield stack


def test_a_request_trace_can_be_read_back_from_the_viewer(viewer_stack):
    status = viewer_stack.status()
    assert {"viewer", "otlp", "pricing"} <= set(status)
    parent = TraceParent.new()
    assert viewer_stack.get("pricing", "/prices/1", headers={"traceparent": parent.header}).status_code == 200

    zipkin = f"http://127.0.0.1:{VIEWER_PORTS['viewer']}"

    def spans():
        response = requests.get(f"{zipkin}/api/v2/trace/{parent.trace_id}", timeout=5)
        return response.json() if response.status_code == 200 else None

    trace = poll_until(lambda: (found := spans()) and len(found) >= 3 and found,
                       "pricing's three spans in Zipkin", 30)
    server = next(s for s in trace if s.get("kind") == "SERVER")
    assert server["localEndpoint"]["serviceName"] == "pricing"
    assert server["name"] == "get /prices/<int:product_id>"  # Zipkin lowercases names
    assert server["parentId"] == parent.span_id
    assert any(s.get("remoteEndpoint", {}).get("serviceName") == "postgresql" for s in trace)
    assert requests.get(f"{zipkin}/zipkin/", timeout=5).status_code == 200
