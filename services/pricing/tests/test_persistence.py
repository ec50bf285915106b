"""What pricing adds to the psycopg instrumentation's database span (no database needed)."""

from __future__ import annotations

from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from pricing import persistence


def test_the_price_query_is_declared_with_its_table():
    statement = persistence._FIND_PRICE
    assert (statement.operation, statement.collection) == ("SELECT", "pricing.price")
    assert statement.collection in str(statement.sql)
    assert str(statement.sql).split()[0] == statement.operation


def test_describe_names_the_span_operation_and_table():
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    # What the instrumentation starts: named after the first keyword, no operation or table.
    with provider.get_tracer("t").start_as_current_span("SELECT", kind=SpanKind.CLIENT) as span:
        persistence.describe(span, persistence._FIND_PRICE)
    (finished,) = exporter.get_finished_spans()
    assert finished.name == "SELECT pricing.price"
    assert finished.attributes == {"db.operation.name": "SELECT", "db.collection.name": "pricing.price"}
