"""PostgreSQL stopped: every service answers 503 (not 404, not 500) and recovers without a restart."""

from __future__ import annotations

from polytrace.wait import poll_until
from tests.traces import TraceParent

# A request per service that needs the database, and the status it gets while PostgreSQL is down.
PROBES = {
    "pricing": "/prices/1",
    "stock": "/stocks/1",
    "catalog": "/products/1",
    "analytics": "/views",
}


def test_database_outage_is_503_with_error_spans_and_recovers(stack):
    services = [name for name in PROBES if name in stack.status()]
    pids_before = {name: stack.status()[name]["pid"] for name in services}
    stack.polytrace("stop", "postgres")
    try:
        parents = {}
        for service in services:
            parents[service] = TraceParent.new()
            response = stack.get(service, PROBES[service], headers={"traceparent": parents[service].header})
            assert response.status_code == 503, (service, response.text)
            assert isinstance(response.json()["error"], str)
            assert "Exception" not in response.text and "Traceback" not in response.text
            assert stack.get(service, "/health").status_code == 503, service
        for service, parent in parents.items():
            [server] = stack.wait_for_spans(
                f"{service}'s SERVER span of the request made during the outage",
                lambda s, parent=parent, service=service: s.trace_id == parent.trace_id
                and s.kind == "SERVER" and s.service == service,
            )
            assert server.status == "ERROR", server
            assert server.attributes["http.response.status_code"] == 503
    finally:
        stack.polytrace("start", "postgres")

    for service in services:
        poll_until(lambda service=service: stack.get(service, PROBES[service]).status_code == 200,
                   f"{service} to serve again once PostgreSQL is back", 30)
        assert stack.get(service, "/health").status_code == 200
    assert {name: stack.status()[name]["pid"] for name in services} == pids_before, "nothing restarted"
