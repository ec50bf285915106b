"""`polytrace trace`, `polytrace logs --trace` and `polytrace demo` against a real stack and its bundled viewer."""

from __future__ import annotations

import json
import re

import pytest
import requests

from polytrace.ports import port_block
from polytrace.wait import poll_until
from tests.stack import ROOT, Stack
from tests.traces import parse_traceresponse

# Its own ports and run directory, like tests/test_viewer.py: the bundled viewer instead of the test receiver.
INSPECT_PORTS = port_block(31000)
GOLDEN_SPANS = 14
DB_SPANS = 4  # catalog's, pricing's, stock's and analytics' statements
LOGGING_SERVICES = {"catalog", "pricing", "stock", "analytics"}  # each writes a line inside a healthy request


@pytest.fixture(scope="module")
def stack():
    stack = Stack(None, run_dir=ROOT / ".run-test-inspect", ports=INSPECT_PORTS)
    with stack.running():
        yield stack


def request_product(stack: Stack, product: int, spans: int) -> str:
    """GET /products/{id} on catalog; its trace id once the viewer holds `spans` spans of it."""
    response = stack.get("catalog", f"/products/{product}")
    assert response.status_code == 200, response.text
    trace_id = parse_traceresponse(response.headers["traceresponse"]).trace_id
    url = f"http://127.0.0.1:{INSPECT_PORTS['viewer']}/api/v2/trace/{trace_id}"
    poll_until(lambda: len(requests.get(url, timeout=5).json()) >= spans, f"{spans} spans of {trace_id} in Zipkin", 30)
    return trace_id


def rows(output: str) -> list[str]:
    return [line for line in output.splitlines() if re.search(r" (SERVER|CLIENT|PRODUCER|CONSUMER|INTERNAL) ", line)]


def test_the_last_trace_as_a_waterfall_and_as_json(stack):
    trace_id = request_product(stack, 1, GOLDEN_SPANS)

    shown = stack.polytrace("trace", "--last")
    assert shown.stdout.startswith(f"trace {trace_id} · "), shown.stdout
    lines = rows(shown.stdout)
    for service in ("catalog", "pricing", "stock", "analytics"):
        assert any(re.search(rf" {service} +(SERVER|CONSUMER) ", line) for line in lines), (service, shown.stdout)
    assert any(" catalog   PRODUCER " in line and "send analytics" in line for line in lines), shown.stdout
    assert any(" analytics CONSUMER " in line and "process analytics" in line for line in lines), shown.stdout

    as_json = json.loads(stack.polytrace("trace", "--last", "--json").stdout)
    assert len(as_json) >= GOLDEN_SPANS and {span["trace_id"] for span in as_json} == {trace_id}
    db_spans = [span for span in as_json if span["attributes"].get("db.system.name") == "postgresql"]
    assert {span["service"] for span in db_spans} == {"catalog", "pricing", "stock", "analytics"}
    assert len(db_spans) >= DB_SPANS
    for span in db_spans:  # every database span has its line, with its statement
        assert any(span["name"] in line and f" {span['service']} " in line and "db.query.text=" in line
                   for line in lines), (span["name"], shown.stdout)
    assert all(span["made_by"] and not span["made_by"].startswith("unknown") for span in as_json)
    assert {span["service"] for span in as_json if span["explicit"]} == {"catalog", "pricing", "stock", "analytics"}


def test_the_log_lines_of_a_healthy_request_from_every_service(stack):
    trace_id = request_product(stack, 2, GOLDEN_SPANS)
    # analytics stores the page view after catalog has answered: its line may come a little later.
    output = poll_until(lambda: (out := stack.polytrace("logs", "--trace", trace_id, check=False).stdout)
                        and LOGGING_SERVICES <= services_in(out) and out,
                        f"log lines of {trace_id} from {', '.join(sorted(LOGGING_SERVICES))}", 10)
    for service in ("catalog", "pricing", "stock"):  # each one's request line, inside its SERVER span
        assert re.search(rf"^\S+ {service} +info +request\.completed .*status=200", output, re.MULTILINE), output
    times = [line.split()[0] for line in output.splitlines()]
    assert times == sorted(times)


def test_a_failed_dependency_shows_in_the_trace_and_in_catalog_s_log(stack):
    stack.polytrace("stop", "pricing")
    try:
        trace_id = request_product(stack, 3, GOLDEN_SPANS - 3)  # pricing's three spans are missing
    finally:
        stack.polytrace("start", "pricing")
    shown = stack.polytrace("trace", trace_id)
    assert re.search(r"catalog +CLIENT .* ERROR .*error\.type=", shown.stdout), shown.stdout
    assert "1 error" in shown.stdout.splitlines()[0]
    logs = stack.polytrace("logs", "--trace", trace_id).stdout
    assert re.search(r"^\S+ catalog +warn +dependency\.failed dependency=pricing", logs, re.MULTILINE), logs


def test_the_demo_prints_the_response_the_trace_its_logs_and_the_viewer_url(stack):
    demo = stack.polytrace("demo")
    trace_id = re.search(r"traceresponse: 00-([0-9a-f]{32})-", demo.stdout).group(1)
    assert '"name":"Stickers pack"' in demo.stdout
    assert f"trace {trace_id} · " in demo.stdout and len(rows(demo.stdout)) >= GOLDEN_SPANS
    assert re.search(r"^\S+ analytics +info +page_view\.stored", demo.stdout, re.MULTILINE), demo.stdout
    url = f"http://127.0.0.1:{INSPECT_PORTS['viewer']}/zipkin/traces/{trace_id}"
    assert demo.stdout.rstrip().endswith(url)
    assert requests.get(url, timeout=5).status_code == 200


def test_an_unknown_trace_is_one_line_and_a_failure(stack):
    result = stack.polytrace("trace", "0123456789abcdef0123456789abcdef", check=False)
    assert result.returncode != 0
    assert result.stdout == ""
    assert result.stderr.startswith("polytrace: no trace 0123456789abcdef0123456789abcdef in the viewer")
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def services_in(output: str) -> set[str]:
    return {line.split()[1] for line in output.splitlines() if len(line.split()) > 1}
