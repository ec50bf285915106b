"""W3C Trace Context conformance of every service (HTTP) and of the MQTT path, from the rules in
tracecontext_cases.yaml; writes tests/conformance-report.md and the table in tests/README.md.

A rule the spec makes a MUST fails the test when broken; where the spec leaves room (SHOULD/MAY,
or test.py's STRICT_LEVEL 2 tracestate checks) a difference is recorded as a deviation.
"""

from __future__ import annotations

import pytest

from polytrace import registry
from polytrace.ports import port_block, port_is_free
from tests.mqtt import page_view, publish
from tests.stack import ROOT, Stack
from tests.tracecontext import (
    CallbackReceiver,
    Observed,
    Verdict,
    cases,
    judge,
    run_http_case,
    tracestate_members,
    write_report,
)

HTTP_SERVICES = registry.tracecontext_services()
RESULTS: dict[tuple[str, str], Verdict] = {}


@pytest.fixture(scope="module")
def callbacks():
    receiver = CallbackReceiver().start()
    yield receiver
    receiver.stop()
    write_report(RESULTS)


def _params(transport: str):
    return [pytest.param(case, id=case.id) for case in cases() if transport in case.transports]


def _record(case, target: str, verdict: Verdict) -> None:
    RESULTS[(case.id, target)] = verdict
    assert verdict.outcome != "fail", f"{target} breaks `{case.id}` ({case.rule}): {verdict.problems}"


@pytest.mark.parametrize("service", HTTP_SERVICES)
@pytest.mark.parametrize("case", _params("http"))
def test_http_service_follows_the_rule(stack, callbacks, service, case):
    seen = run_http_case(stack.ports[service], callbacks, case)
    _record(case, service, judge(case, seen))


@pytest.mark.parametrize("case", _params("mqtt"))
def test_mqtt_consumer_follows_the_rule(stack, case):
    event = page_view("/products/1")
    publish(stack.ports["mosquitto"], event, case.user_properties)
    [consumer] = stack.wait_for_spans(
        f"the consumer span of the message for case {case.id}",
        lambda s: s.kind == "CONSUMER" and s.attributes.get("messaging.message.id") == event["id"],
    )
    seen = Observed(consumer.trace_id, consumer.parent_span_id, tracestate_members(consumer.trace_state))
    verdict = judge(case, seen, via_span=True)
    assert stack.get("analytics", "/health").status_code == 200, "analytics must survive any trace context"
    _record(case, "mqtt", verdict)


MISCONFIGURED_PORTS = port_block(29000)


def test_the_suite_fails_a_service_without_the_w3c_propagator(stack, callbacks):
    """stock alone, started by the CLI with OTEL_PROPAGATORS=b3 (POLYTRACE_EXTRA_ENV): the trace
    can no longer be continued, so every `continue` rule must now fail — the suite has teeth."""
    if not all(port_is_free(p) for p in MISCONFIGURED_PORTS.values()):
        pytest.skip(f"ports {sorted(MISCONFIGURED_PORTS.values())} are taken")
    broken = Stack(stack.receiver, run_dir=ROOT / ".run-test-b3", ports=MISCONFIGURED_PORTS,
                   services="stock", extra_env={"POLYTRACE_EXTRA_ENV": "OTEL_PROPAGATORS=b3"})
    broken.polytrace("down", check=False)  # left by an interrupted run
    broken.up()
    try:
        outcomes = {case.id: judge(case, run_http_case(broken.ports["stock"], callbacks, case)).outcome
                    for case in cases() if case.applies_to("stock")}
    finally:
        broken.polytrace("down")
    must_continue = [c.id for c in cases() if c.trace == "continue" and c.level == "MUST" and c.applies_to("stock")]
    assert must_continue and all(outcomes[cid] == "fail" for cid in must_continue), outcomes
    assert outcomes["valid"] == "fail"
    # The same rule passes on the session's correctly configured stock.
    valid = next(c for c in cases() if c.id == "valid")
    assert judge(valid, run_http_case(stack.ports["stock"], callbacks, valid)).outcome == "pass"
