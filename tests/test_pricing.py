"""pricing end to end: its contract, its trace, and its behaviour when PostgreSQL goes away."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

import psutil
import pytest

from polytrace.wait import poll_until
from tests.traces import TraceParent, matching, one


def test_price_continues_the_callers_trace(stack):
    parent = TraceParent.new()
    response = stack.get("pricing", "/prices/1", headers={"traceparent": parent.header})

    assert response.status_code == 200
    body = response.json()
    assert body["product_id"] == 1
    assert 0.45 <= body["price"] <= 0.55  # base 0.50 ± jitter 0.05 (infra/postgres/03-seed.sql)

    trace = stack.wait_for_trace(parent.trace_id, "pricing_request")
    server = one(trace, kind="SERVER", service="pricing")
    assert server.parent_span_id == parent.span_id
    assert server.attributes["http.response.status_code"] == 200
    assert one(trace, kind="INTERNAL", service="pricing").attributes["app.product.id"] == 1
    # One database span per statement: the driver and the ORM must not both trace it.
    assert len(matching(trace, kind="CLIENT", attributes={"db.system.name": "postgresql"})) == 1
    assert {span.service for span in trace} == {"pricing"}


def test_malformed_traceparent_starts_a_new_trace(stack):
    agent = f"polytrace-e2e/{uuid.uuid4()}"
    bogus = "00-not-a-trace-id-01"
    response = stack.get("pricing", "/prices/2", headers={"traceparent": bogus, "User-Agent": agent})

    assert response.status_code == 200
    [server] = stack.wait_for_spans(
        f"the server span of the request with User-Agent {agent}",
        lambda s: s.kind == "SERVER" and s.attributes.get("user_agent.original") == agent,
    )
    assert server.parent_span_id == ""
    assert len(server.trace_id) == 32 and server.trace_id != "0" * 32


@pytest.mark.parametrize(
    ("path", "status"),
    [("/prices/abc", 400), ("/prices/-1", 400), ("/prices/99999999999999999999", 400), ("/prices/999999", 404)],
)
def test_bad_ids_get_json_errors_and_crash_nothing(stack, path, status):
    workers_before = _pricing_workers(stack)

    response = stack.get("pricing", path)

    assert response.status_code == status
    assert response.headers["Content-Type"].startswith("application/json")
    assert isinstance(response.json()["error"], str)
    assert "Traceback" not in response.text
    assert _pricing_workers(stack) == workers_before
    assert stack.get("pricing", "/health").status_code == 200


def test_every_gunicorn_worker_exports_spans(stack):
    workers = _pricing_workers(stack)
    assert len(workers) == 4
    stack.receiver.identify_senders = True
    traces: set[str] = set()

    def call(_):
        parent = TraceParent.new()
        traces.add(parent.trace_id)
        assert stack.get("pricing", "/prices/3", headers={"traceparent": parent.header}).status_code == 200

    def exporting_workers() -> set[int]:
        with ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(call, range(40)))
        return {s.sender_pid for s in stack.receiver.spans() if s.trace_id in traces} & workers

    try:
        poll_until(lambda: exporting_workers() == workers,
                   f"spans exported by each of the workers {sorted(workers)}", timeout=60, interval=0.5)
    finally:
        stack.receiver.identify_senders = False


def test_a_second_up_is_refused(stack):
    result = stack.polytrace("up", "--detach", "--otlp-endpoint", stack.receiver.endpoint, check=False)
    assert result.returncode == 1
    assert "already running" in result.stderr


def _pricing_workers(stack) -> set[int]:
    master = stack.status()["pricing"]["pid"]
    return {child.pid for child in psutil.Process(master).children()}
