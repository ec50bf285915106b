"""The explicit span, checked with an in-memory exporter (no OTLP, no database)."""

from __future__ import annotations

from opentelemetry.trace import SpanKind, StatusCode


def test_compute_price_span(client, spans):
    assert client.get("/prices/2").status_code == 200
    (span,) = spans.get_finished_spans()
    assert span.name == "compute price"
    assert span.kind is SpanKind.INTERNAL
    assert span.attributes["app.product.id"] == 2
    assert span.status.status_code is StatusCode.UNSET


def test_not_found_is_not_a_span_error(client, spans):
    assert client.get("/prices/999999").status_code == 404
    (span,) = spans.get_finished_spans()
    assert span.status.status_code is StatusCode.UNSET


def test_database_down_marks_span_error(client, prices, spans):
    prices.down = True
    assert client.get("/prices/1").status_code == 503
    (span,) = spans.get_finished_spans()
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes["error.type"] == "psycopg.OperationalError"
    assert [e.name for e in span.events] == ["exception"]


def test_no_span_for_rejected_ids(client, spans):
    assert client.get("/prices/abc").status_code == 400
    assert client.get("/prices/9223372036854775808").status_code == 400
    assert spans.get_finished_spans() == ()
