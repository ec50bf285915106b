"""stock end to end: stock levels from PostgreSQL, traced down to the SQL statement."""

from __future__ import annotations

import uuid

import pytest

from tests.traces import TraceParent, matching, one


def test_stock_levels_continue_the_callers_trace(stack):
    parent = TraceParent.new()
    response = stack.get("stock", "/stocks/1", headers={"traceparent": parent.header})

    assert response.status_code == 200
    levels = response.json()
    assert sorted((level["warehouse"]["city"], level["quantity"]) for level in levels) == [
        ("Geneva", 12), ("Lausanne", 5), ("Portland", 3),  # infra/postgres/03-seed.sql
    ]
    assert all(level["product_id"] == 1 for level in levels)
    assert {"city", "state", "country"} <= set(levels[0]["warehouse"])

    trace = stack.wait_for_trace(parent.trace_id, "stock_request")
    server = one(trace, kind="SERVER", service="stock")
    assert server.parent_span_id == parent.span_id
    assert server.attributes["http.response.status_code"] == 200
    [db] = matching(trace, kind="CLIENT", attributes={"db.system.name": "postgresql"})
    assert "stock.stock_level" in db.attributes["db.query.text"]
    assert "$1" in db.attributes["db.query.text"], "the statement is parameterised"
    assert db.attributes["db.namespace"] == "polytrace"


def test_product_without_stock_is_an_empty_list(stack):
    response = stack.get("stock", "/stocks/3")
    assert response.status_code == 200
    assert response.json() == []


def test_malformed_traceparent_starts_a_new_trace(stack):
    agent = f"polytrace-e2e/{uuid.uuid4()}"
    response = stack.get("stock", "/stocks/2", headers={"traceparent": "00-zz-yy-01", "User-Agent": agent})

    assert response.status_code == 200
    [server] = stack.wait_for_spans(
        f"the server span of the request with User-Agent {agent}",
        lambda s: s.kind == "SERVER" and s.service == "stock" and s.attributes.get("user_agent.original") == agent,
    )
    assert server.parent_span_id == ""


@pytest.mark.parametrize("raw_id", ["abc", "-1", "99999999999999999999"])
def test_bad_ids_are_400_json(stack, raw_id):
    response = stack.get("stock", f"/stocks/{raw_id}")
    assert response.status_code == 400
    assert isinstance(response.json()["error"], str)
