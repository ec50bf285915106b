"""The MQTT edge: catalog publishes with the trace context, analytics continues it and stores each view once."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from polytrace.wait import poll_until
from tests.mqtt import page_view, publish
from tests.traces import TraceParent, is_descendant, matching, one, parse_traceresponse


def views(stack) -> dict:
    response = stack.get("analytics", "/views")
    assert response.status_code == 200
    return response.json()


def wait_for_total(stack, expected: int, timeout: float = 30) -> None:
    poll_until(lambda: views(stack)["total"] == expected, f"/views total to reach {expected}", timeout)


def test_consumer_span_is_the_child_of_the_producer_span(stack):
    response = stack.get("catalog", "/products/1")
    ids = parse_traceresponse(response.headers["traceresponse"])

    trace = stack.wait_for_trace(ids.trace_id, "product_request")
    producer = one(trace, kind="PRODUCER", service="catalog")
    consumer = one(trace, kind="CONSUMER", service="analytics")
    assert consumer.parent_span_id == producer.span_id
    assert consumer.attributes["messaging.message.id"] == producer.attributes["messaging.message.id"]
    assert consumer.attributes["url.path"] == "/products/1"
    assert producer.attributes["messaging.destination.name"] == "analytics"
    [db] = matching(trace, kind="CLIENT", service="analytics", attributes={"db.system.name": "postgresql"})
    assert is_descendant(trace, db, consumer), "the INSERT runs inside the consumer span"


def test_an_external_publisher_with_a_valid_traceparent_is_continued(stack):
    parent = TraceParent.new()
    event = page_view("/products/2")
    publish(stack.ports["mosquitto"], event, {"traceparent": parent.header})

    [consumer] = stack.wait_for_spans(
        "the consumer span of the externally published message",
        lambda s: s.kind == "CONSUMER" and s.attributes.get("messaging.message.id") == event["id"],
    )
    assert consumer.trace_id == parent.trace_id
    assert consumer.parent_span_id == parent.span_id
    assert consumer.status != "ERROR"


@pytest.mark.parametrize(
    "traceparent",
    ["00-00000000000000000000000000000000-0000000000000000-01", "garbage", "00-abc-def-01"],
)
def test_an_unusable_traceparent_starts_a_new_trace(stack, traceparent):
    event = page_view("/products/3")
    publish(stack.ports["mosquitto"], event, {"traceparent": traceparent})

    [consumer] = stack.wait_for_spans(
        "the consumer span of the message with an unusable traceparent",
        lambda s: s.kind == "CONSUMER" and s.attributes.get("messaging.message.id") == event["id"],
    )
    assert consumer.parent_span_id == ""
    assert consumer.trace_id != "0" * 32


@pytest.mark.parametrize(
    "payload",
    [b"not json at all", b'{"id": "x"}', b'{"id": 5, "path": [], "clientIp": 1, "ts": false}', b"\xff\xfe"],
    ids=["not-json", "missing-fields", "wrong-types", "not-utf8"],
)
def test_a_malformed_payload_is_an_error_span_and_the_subscriber_survives(stack, payload):
    before = views(stack)["total"]
    errors_before = len(_error_consumer_spans(stack))
    publish(stack.ports["mosquitto"], payload)

    poll_until(lambda: len(_error_consumer_spans(stack)) > errors_before,
               "a new ERROR consumer span for the malformed message", 20)
    assert stack.get("analytics", "/health").status_code == 200
    good = page_view("/products/1")
    publish(stack.ports["mosquitto"], good)
    wait_for_total(stack, before + 1)


def test_n_product_requests_add_exactly_n_views(stack):
    before = views(stack)
    for product_id in (1, 2, 3, 1, 2):
        assert stack.get("catalog", f"/products/{product_id}").status_code == 200

    wait_for_total(stack, before["total"] + 5)
    after = views(stack)["by_path"]
    assert after.get("/products/1", 0) - before["by_path"].get("/products/1", 0) == 2
    assert after.get("/products/3", 0) - before["by_path"].get("/products/3", 0) == 1


def test_a_redelivered_message_is_stored_once(stack):
    before = views(stack)["total"]
    event = page_view("/products/2")
    publish(stack.ports["mosquitto"], event)
    publish(stack.ports["mosquitto"], event)
    wait_for_total(stack, before + 1)
    sentinel = page_view("/products/1")
    publish(stack.ports["mosquitto"], sentinel)  # processed after the duplicate
    wait_for_total(stack, before + 2)


def test_broker_outage_loses_no_view_and_fails_no_request(stack):
    before = views(stack)["total"]
    stack.polytrace("stop", "mosquitto")
    try:
        with ThreadPoolExecutor(max_workers=4) as pool:
            statuses = list(pool.map(lambda i: stack.get("catalog", f"/products/{i % 3 + 1}").status_code,
                                     range(12)))
        assert statuses == [200] * 12
    finally:
        stack.polytrace("start", "mosquitto")
    wait_for_total(stack, before + 12, timeout=60)
    assert stack.get("analytics", "/health").status_code == 200


def test_views_published_while_analytics_is_down_arrive_when_it_returns(stack):
    before = views(stack)["total"]
    stack.polytrace("stop", "analytics")
    try:
        for product_id in (1, 2, 3):
            assert stack.get("catalog", f"/products/{product_id}").status_code == 200
    finally:
        stack.polytrace("start", "analytics")
    wait_for_total(stack, before + 3, timeout=60)


def _error_consumer_spans(stack):
    return [s for s in stack.receiver.spans() if s.kind == "CONSUMER" and s.status == "ERROR"]
