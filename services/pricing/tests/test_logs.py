"""request.completed: one line per request, written while the SERVER span is current (so with its ids)."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest
from opentelemetry.instrumentation.flask import FlaskInstrumentor
from opentelemetry.trace import SpanKind

from pricing.logs import JsonFormatter


class Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.setFormatter(JsonFormatter())
        self.lines: list[dict] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(json.loads(self.format(record)))


@pytest.fixture
def lines() -> Iterator[list[dict]]:
    handler, logger = Lines(), logging.getLogger("pricing")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield handler.lines
    logger.removeHandler(handler)
    logger.setLevel(level)


@pytest.fixture
def instrumented(app):
    FlaskInstrumentor().instrument_app(app)  # what opentelemetry-instrument does to the app in a worker
    yield app
    FlaskInstrumentor().uninstrument_app(app)


def test_a_request_logs_one_line_inside_its_server_span(instrumented, spans, lines):
    client = instrumented.test_client()
    assert client.get("/prices/2").status_code == 200
    assert client.get("/health").status_code == 200
    (server,) = [s for s in spans.get_finished_spans() if s.kind is SpanKind.SERVER and "/prices" in s.name]
    completed = [line for line in lines if line["event"] == "request.completed"]
    assert len(completed) == 1, lines  # probes' /health is left out
    line = completed[0]
    assert line["trace_id"] == format(server.context.trace_id, "032x")
    assert line["span_id"] == format(server.context.span_id, "016x")
    shown = {k: line[k] for k in ("level", "method", "path", "route", "status")}
    assert shown == {"level": "info", "method": "GET", "path": "/prices/2",
                     "route": "/prices/<int:product_id>", "status": 200}
    assert 0 <= line["duration_ms"] < 5000


def test_errors_and_unrouted_paths_are_logged_too(client, prices, lines):
    prices.down = True
    assert client.get("/prices/1").status_code == 503
    assert client.get("/nowhere").status_code == 404
    completed = [(line["status"], line["route"]) for line in lines if line["event"] == "request.completed"]
    assert completed == [(503, "/prices/<int:product_id>"), (404, None)]
