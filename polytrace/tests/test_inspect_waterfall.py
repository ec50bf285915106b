"""The waterfall of recorded traces (Zipkin JSON read back from a real stack's viewer): tree, axis, errors, JSON."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from rich.console import Console

from polytrace.inspect import waterfall
from polytrace.inspect.spans import from_zipkin

DATA = Path(__file__).parent / "data"
# GET /products/1 on a healthy stack, and GET /products/2 while pricing was stopped.
GOLDEN = from_zipkin(json.loads((DATA / "zipkin-golden-trace.json").read_text()))
PRICING_DOWN = from_zipkin(json.loads((DATA / "zipkin-pricing-down-trace.json").read_text()))


def rendered(spans, width: int = 200, styles: bool = False) -> list[str]:
    console = Console(record=True, width=width, force_terminal=styles, color_system="truecolor" if styles else None)
    console.print(waterfall.render(spans))
    return console.export_text(styles=styles).splitlines()


def row(lines: list[str], *words: str) -> str:
    [found] = [line for line in lines if all(word in line for word in words)]
    return found


def test_spans_come_parents_first_with_their_depth_and_zipkin_s_lower_case_undone():
    assert len(GOLDEN) == 14
    assert [(s.depth, s.service, s.kind, s.name) for s in GOLDEN] == [
        (0, "catalog", "SERVER", "GET /products/{id}"),
        (1, "catalog", "INTERNAL", "ProductController.getProduct"),
        (2, "catalog", "PRODUCER", "send analytics"),
        (3, "analytics", "CONSUMER", "process analytics"),
        (4, "analytics", "CLIENT", "pg.query:INSERT polytrace"),
        (1, "catalog", "CLIENT", "SELECT catalog.product"),
        (1, "catalog", "CLIENT", "GET"),
        (2, "pricing", "SERVER", "GET /prices/<int:product_id>"),
        (3, "pricing", "INTERNAL", "compute price"),
        (4, "pricing", "CLIENT", "SELECT"),
        (1, "catalog", "CLIENT", "GET"),
        (2, "stock", "SERVER", "GET /stocks/{product_id}"),
        (3, "stock", "CLIENT", "SELECT stock.stock_level"),
        (1, "catalog", "INTERNAL", "assemble product"),
    ]
    assert not any(s.parent_missing for s in GOLDEN)


def test_the_tree_is_drawn_with_connectors():
    assert waterfall.guides(GOLDEN) == [
        "", "├─ ", "│  └─ ", "│     └─ ", "│        └─ ", "├─ ", "├─ ", "│  └─ ", "│     └─ ", "│        └─ ",
        "├─ ", "│  └─ ", "│     └─ ", "└─ "]


def test_one_line_per_span_with_service_kind_duration_origin_and_attributes():
    lines = rendered(GOLDEN)
    assert lines[0].startswith("trace c0b004a1f90624b6a24535b14d6063c7 · 14 spans · 4 services · 265.6 ms")
    root = row(lines, "GET /products/{id}")
    assert re.search(r"catalog +SERVER .* 227\.1 ms .*Java agent: Netty .*http\.response\.status_code=200", root)
    producer = row(lines, "send analytics")
    assert re.search(r"PRODUCER .*explicit · MqttPageViewPublisher\.kt .*"
                     r"messaging\.message\.id=bbfac903…", producer)  # the destination is in the name
    assert re.search(r"analytics +CONSUMER .*explicit · handler\.ts", row(lines, "process analytics"))
    assert "pg instrumentation" in row(lines, "pg.query:INSERT")
    assert "Flask instrumentation" in row(lines, "GET /prices/")
    assert "psycopg instrumentation" in row(lines, "pricing", "CLIENT")
    assert "explicit · traced.rs" in row(lines, "SELECT stock.stock_level")
    assert "Java agent: R2DBC" in row(lines, "SELECT catalog.product")
    assert "url.full=http://127.0.0.1:37081/prices/1" in row(lines, "Spring WebClient", "37081")
    # every database span shows its statement, shortened
    for span in [s for s in GOLDEN if "db.query.text" in s.attributes]:
        [(_, text)] = [kv for kv in waterfall.key_attributes(span) if kv[0] == "db.query.text"]
        assert len(text) <= waterfall.QUERY_CHARS and text.endswith("…")
    assert sum(1 for line in lines if "db.query.text=" in line) == 4
    # the legend: where each kind of span is made
    assert re.search(r"explicit: tracer API +catalog +created in services/catalog/.*/MqttPageViewPublisher\.kt",
                     "\n".join(lines))
    assert re.search(r"Java agent: Netty +io\.opentelemetry\.netty-4\.1 +switched on in polytrace/components\.py",
                     "\n".join(lines))


def test_the_bars_share_one_time_axis():
    lines = rendered(GOLDEN)
    header = row(lines, "span", "service", "took")
    axis_start = header.index(" 0 ") + 1
    root, consumer = row(lines, "GET /products/{id}"), row(lines, "process analytics")
    assert root[axis_start] == "█"  # the root starts the trace
    assert consumer[axis_start:axis_start + 20].strip() == ""  # the consumer runs after catalog's work
    assert consumer.index("█") > root.index("█")
    assert header[axis_start:].split()[1:3] == ["265.6", "ms"]  # the axis ends where the trace does


def test_errors_stand_out():
    lines = rendered(PRICING_DOWN)
    assert "· 1 error" in lines[0]
    [failed] = [line for line in lines if " ERROR " in line]
    assert re.search(r"catalog +CLIENT .* ERROR .*Spring WebClient +error\.type=org\.springframework\.web", failed)
    styled = rendered(PRICING_DOWN, styles=True)
    assert "41m ERROR " in row(styled, "Spring WebClient", "error.type=")  # on red


@pytest.mark.parametrize("width", [80, 120, 160])
def test_a_narrow_terminal_still_gets_one_line_per_span(width):
    lines = rendered(GOLDEN, width=width)
    rows = lines[2:2 + len(GOLDEN)]
    assert all(len(line) <= width for line in rows)
    names = ["GET /products/{id}", "ProductController", "send analytics", "process analytics"]
    assert [name for name in names if any(name[:12] in line for line in rows)] == names


@pytest.mark.parametrize("width", [80, 120, 160])
def test_the_legend_keeps_each_label_whole_and_fits_the_terminal(width):
    lines = rendered(GOLDEN, width=width)
    legend = lines[next(i for i, line in enumerate(lines) if line.startswith("made by ")):]
    assert all(len(line) <= width for line in legend)
    for label in ("Java agent: Netty", "Java agent: R2DBC", "psycopg instrumentation", "explicit: tracer API"):
        assert any(line.startswith(label + " ") for line in legend), (label, legend)


def test_json_has_one_object_per_span_with_stable_fields():
    spans = json.loads(json.dumps(waterfall.to_json(GOLDEN)))
    assert len(spans) == 14
    assert {tuple(span) for span in spans} == {(
        "trace_id", "span_id", "parent_span_id", "depth", "service", "kind", "name", "start_time", "offset_ms",
        "duration_ms", "status", "status_message", "scope", "made_by", "explicit", "file", "attributes")}
    root, producer = spans[0], spans[2]
    assert (root["parent_span_id"], root["offset_ms"], root["duration_ms"]) == (None, 0.0, 227.071)
    assert root["start_time"] == "2026-12-02T07:34:57.569583Z"
    assert producer["parent_span_id"] == spans[1]["span_id"]
    assert (producer["scope"], producer["made_by"], producer["explicit"]) == ("catalog", "explicit: tracer API", True)
    assert producer["file"].endswith("messaging/MqttPageViewPublisher.kt")
    assert producer["attributes"]["messaging.message.id"] == "bbfac903-787f-493b-950b-acbec5584685"
    assert "otel.scope.name" not in producer["attributes"]
    assert [s["status"] for s in waterfall.to_json(PRICING_DOWN)].count("ERROR") == 1


def test_a_span_whose_parent_is_outside_the_trace_is_marked():
    raw = json.loads((DATA / "zipkin-golden-trace.json").read_text())
    root = next(s for s in raw if "parentId" not in s)
    root["parentId"] = "1111111111111111"  # as when curl sends a traceparent of its own
    spans = from_zipkin(raw)
    assert spans[0].parent_missing and spans[0].depth == 0 and len(spans) == 14
    lines = rendered(spans)
    assert "GET /products/{id} ↑" in lines[2]
    assert "↑ its parent span is not in this trace" in lines[-1]
