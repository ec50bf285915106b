"""Merging the services' log lines of one trace, from lines in each service's real format."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import pytest
from rich.console import Console

from polytrace.inspect import logs

DATA = Path(__file__).parent / "data"
SERVICES = ("catalog", "pricing", "stock", "analytics")
# Recorded from a real stack (polytrace/tests/data/log-*.log): GET /products/2 while pricing was stopped,
# and GET /prices/1 on pricing with its database stopped.
PRICING_DOWN = "49754880fe7ad14dcc594704a2e96784"
PRICE_STORE_DOWN = "5a1e3f9b2c4d6e8f0a1b2c3d4e5f6071"
TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
OTHER = "00f067aa0ba902b7a3ce929d0e0e4736"
ID_FIELD = re.compile(r'("trace_id":\s*")[0-9a-f]{32}(")')


@pytest.fixture
def logs_dir(tmp_path):
    for name in SERVICES:
        (tmp_path / f"{name}.log").write_text((DATA / f"log-{name}.log").read_text())
    return tmp_path


def utc(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)


@pytest.mark.parametrize(("value", "expected"), [
    ("2026-12-02T07:30:01.123456789Z", utc("2026-12-02T07:30:01.123456")),  # tracing, logstash: nanoseconds
    ("2026-12-02T07:30:01.123Z", utc("2026-12-02T07:30:01.123")),  # pino's isoTime
    ("2026-12-02T07:30:01.123+00:00", utc("2026-12-02T07:30:01.123")),  # pricing
    ("2026-12-02T08:30:01.123+01:00", utc("2026-12-02T07:30:01.123")),  # Spring Boot in a local zone
    (1796196601.123, utc("2026-12-02T07:30:01.123")),  # Caddy: epoch seconds
    (1796196601123, utc("2026-12-02T07:30:01.123")),  # pino's default: epoch milliseconds
    ("yesterday", None),
    (True, None),
])
def test_timestamps_of_every_format_are_read(value, expected):
    parsed = logs.parse_time(value)
    if expected is None:
        assert parsed is None
    else:
        assert abs(parsed - expected) < dt.timedelta(microseconds=2)


def test_the_lines_of_one_trace_come_from_every_log_that_has_some_in_time_order(logs_dir):
    (logs_dir / "build-stock.log").write_text(f"compiling {PRICING_DOWN}\n")  # a build log is not part of a run

    lines = logs.trace_logs(logs_dir, PRICING_DOWN)

    assert [(line.service, line.message) for line in lines] == [
        ("catalog", lines[0].message), ("stock", "request.completed"), ("analytics", "page_view.stored"),
        ("analytics", "db.idle_client_error")]
    assert lines[0].message.startswith("dependency.failed dependency=pricing") and lines[0].level == "warn"
    times = [line.time for line in lines]
    assert times == sorted(times) and times[0] == utc("2026-12-02T07:36:32.032395")
    assert [line.span_id for line in lines[:2]] == ["9be18131d60be6c3", "b9716e57d47baef2"]
    [pricing] = logs.trace_logs(logs_dir, PRICE_STORE_DOWN)
    assert (pricing.service, pricing.message, pricing.level) == ("pricing", "price.store_unavailable", "warn")
    assert pricing.fields == {"error.type": "psycopg.OperationalError"}


def test_the_four_formats_merge_in_time_order(tmp_path):
    # Every recorded line that carries an id, stamped with one trace id: four timestamp formats in one merge.
    for name in SERVICES:
        (tmp_path / f"{name}.log").write_text(ID_FIELD.sub(rf"\g<1>{TRACE}\2", (DATA / f"log-{name}.log").read_text()))
    (tmp_path / "stock.log").open("a").write(json.dumps({"timestamp": "2026-12-02T07:40:00Z", "trace_id": OTHER,
                                                         "message": f"not ours, though it names {TRACE}"}) + "\n")

    lines = logs.trace_logs(tmp_path, TRACE)

    assert {line.service for line in lines} == set(SERVICES)
    times = [line.time for line in lines]
    assert None not in times and times == sorted(times)
    assert all(len(line.span_id) == 16 and line.message for line in lines)
    assert not any("not ours" in line.message for line in lines)


def test_a_line_is_matched_by_its_trace_id_field_not_by_the_id_somewhere_in_its_text():
    other_trace_mentioning_ours = json.dumps({"trace_id": OTHER, "msg": f"retrying {TRACE}"})
    assert not logs.carries(other_trace_mentioning_ours, TRACE)
    assert logs.carries(json.dumps({"traceID": TRACE, "msg": "caddy spells it so"}), TRACE)
    assert logs.carries(f"java.lang.IllegalStateException: trace {TRACE}", TRACE)  # not JSON: the text
    assert not logs.carries(json.dumps({"msg": "no id"}), TRACE)


def test_lines_without_a_timestamp_stay_after_their_predecessor():
    catalog = [logs.parse_line("catalog", json.dumps({"@timestamp": "2026-12-02T07:30:01.100Z", "message": "a"})),
               logs.parse_line("catalog", "\tat dev.polytrace.Catalog.main(Catalog.kt:12)"),
               logs.parse_line("catalog", json.dumps({"@timestamp": "2026-12-02T07:30:01.300Z", "message": "c"}))]
    pricing = [logs.parse_line("pricing", json.dumps({"ts": "2026-12-02T07:30:01.200+00:00", "event": "b"}))]

    merged = logs.merge({"pricing": pricing, "catalog": catalog})

    assert [line.message for line in merged] == ["a", "\tat dev.polytrace.Catalog.main(Catalog.kt:12)".strip(),
                                                 "b", "c"]


def test_pino_numeric_levels_and_extra_fields_are_shown():
    line = logs.parse_line("analytics", json.dumps({"level": 50, "time": 1796196601123, "msg": "page_view.failed",
                                                    "trace_id": TRACE, "span_id": "00f067aa0ba902b7",
                                                    "err": {"code": "ECONNREFUSED"}}))
    assert line.level == "error"
    assert line.fields == {"err": {"code": "ECONNREFUSED"}}
    console = Console(record=True, width=200)
    console.print(logs.render([line]))
    assert console.export_text().strip() == (
        '07:30:01.123 analytics error page_view.failed span_id=00f067aa0ba902b7 err={"code": "ECONNREFUSED"}')
