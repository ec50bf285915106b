"""Failure flags flipped at runtime on the real stack: each service reads the live file through
OpenFeature's flagd provider, so a change bites without a restart, shows in the trace, and `reset`
undoes it."""

from __future__ import annotations

import pytest

from polytrace.wait import poll_until
from tests.traces import matching, parse_traceresponse


@pytest.fixture
def flags(stack):
    """`polytrace flags …` against the session stack; every test leaves the defaults behind."""
    yield lambda *args, check=True: stack.polytrace("flags", *args, check=check)
    stack.polytrace("flags", "reset")


def _unavailable(stack, product: int = 1) -> list[str]:
    response = stack.get("catalog", f"/products/{product}")
    assert response.status_code == 200, response.text
    return response.json().get("unavailable", [])


def test_stock_failure_degrades_the_product_and_shows_in_the_trace(stack, flags):
    flags("set", "stockFailure", "true")
    # The contract is 2 s; the wait is longer so a loaded machine does not make this a timing test.
    poll_until(lambda: _unavailable(stack) == ["stock"], "catalog to answer without stock", 15)

    response = stack.get("catalog", "/products/1")
    trace = stack.wait_for_spans(
        "stock's failed SERVER span",
        lambda s: s.trace_id == parse_traceresponse(response.headers["traceresponse"]).trace_id
        and s.service == "stock" and s.kind == "SERVER")
    [server] = trace
    assert server.status == "ERROR"
    assert server.attributes["http.response.status_code"] == 500
    events = [e for s in stack.wait_for_spans("stock spans of that trace", lambda s: s.trace_id == server.trace_id
                                              and s.service == "stock") for e in s.events]
    assert any(e["attributes"].get("feature_flag.key") == "stockFailure" for e in events), events

    flags("reset")
    poll_until(lambda: _unavailable(stack) == [], "full answers again after `flags reset`", 15)


def test_catalog_product_failure_breaks_one_product_only(stack, flags):
    flags("set", "catalogProductFailure", "2")
    poll_until(lambda: stack.get("catalog", "/products/2").status_code == 500, "product 2 to fail", 15)
    failed = stack.get("catalog", "/products/2")
    assert "error" in failed.json()
    assert stack.get("catalog", "/products/1").status_code == 200
    ids = parse_traceresponse(failed.headers["traceresponse"])
    spans = stack.wait_for_spans("catalog's spans of the failed request",
                                 lambda s: s.trace_id == ids.trace_id and s.service == "catalog")
    assert matching(spans, kind="SERVER", service="catalog")[0].status == "ERROR"


@pytest.mark.parametrize("args, message", [
    (("set", "nope", "1"), "unknown flag"),
    (("set", "pricingFailureRate", "101"), "pricingFailureRate"),
    (("set", "stockFailure", "maybe"), "stockFailure"),
])
def test_a_bad_flag_or_value_is_one_line_and_changes_nothing(stack, flags, args, message):
    before = stack.polytrace("flags", "--json").stdout
    result = flags(*args, check=False)
    assert result.returncode != 0
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and message in lines[0], result.stderr
    assert stack.polytrace("flags", "--json").stdout == before
