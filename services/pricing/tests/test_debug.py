from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import ClassVar

from pricing.app import create_app


class _Recorder(BaseHTTPRequestHandler):
    received: ClassVar[list[tuple[dict[str, str], object]]] = []

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.received.append((dict(self.headers), body))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


def test_disabled_by_default(prices):
    client = create_app(repository=prices, debug_endpoints=False).test_client()
    assert client.post("/debug/tracecontext", json=[]).status_code == 404


def test_rejects_a_body_that_is_not_the_protocol(prices):
    client = create_app(repository=prices, debug_endpoints=True).test_client()
    assert client.post("/debug/tracecontext", json={"url": "x"}).status_code == 400


def test_posts_each_arguments_to_its_url(prices):
    server = HTTPServer(("127.0.0.1", 0), _Recorder)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/callback"
        client = create_app(repository=prices, debug_endpoints=True).test_client()
        response = client.post(
            "/debug/tracecontext", json=[{"url": url, "arguments": [1]}, {"url": url, "arguments": {"a": 2}}]
        )
        assert response.status_code == 200
        assert [body for _, body in _Recorder.received] == [[1], {"a": 2}]
    finally:
        server.shutdown()
