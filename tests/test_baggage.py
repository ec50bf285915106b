"""Baggage crosses every hop: a `baggage` header sent to catalog reaches pricing, stock and — through
the MQTT 5 user properties — analytics. Each service copies baggage entries whose key starts with
`app.` onto its spans (Java agent: otel.java.experimental.span-attributes.copy-from-baggage.include;
pricing: opentelemetry-processor-baggage; analytics: @opentelemetry/baggage-span-processor; stock: a
small span processor in its telemetry module), so the proof is the `app.session` attribute on each service's
entry span."""

from __future__ import annotations

import uuid

from tests.traces import TraceParent, one


def test_baggage_sent_to_catalog_reaches_every_service(stack):
    session = f"e2e-{uuid.uuid4()}"
    parent = TraceParent.new()
    response = stack.get("catalog", "/products/1",
                         headers={"traceparent": parent.header, "baggage": f"app.session={session},other=x"})
    assert response.status_code == 200

    trace = stack.wait_for_trace(parent.trace_id, "product_request")
    entry_spans = {
        "catalog": one(trace, service="catalog", kind="SERVER"),
        "pricing": one(trace, service="pricing", kind="SERVER"),
        "stock": one(trace, service="stock", kind="SERVER"),
        "analytics": one(trace, service="analytics", kind="CONSUMER"),
    }
    missing = {name: span.attributes.get("app.session") for name, span in entry_spans.items()
               if span.attributes.get("app.session") != session}
    assert not missing, f"app.session={session} missing or different on: {missing}"
    assert all("other" not in span.attributes for span in trace), "only app.* keys are copied"
