"""The span-cost benchmark's Python side (polytrace/bench/spancost/), run as pricing runs:
`opentelemetry-instrument python bench/span_cost.py`, so pricing's own configurator sets up the SDK.

Each line on stdin is a number of spans to make; "ok" on stdout once they have ended. The harness
measures this process's CPU and counts the spans its receiver gets. The span is the one every
language makes (polytrace/bench/spancost/programs.py, SPAN): a database CLIENT span with seven
attributes, a root span each time. At the end of stdin the SDK's exit handler flushes the rest.
"""

from __future__ import annotations

import sys

from opentelemetry import trace
from opentelemetry.trace import SpanKind

NAME = "SELECT stock.stock"
ATTRIBUTES = {
    "db.system.name": "postgresql",
    "db.namespace": "polytrace",
    "db.operation.name": "SELECT",
    "db.collection.name": "stock.stock",
    "db.query.text": "SELECT product_id, quantity FROM stock.stock WHERE product_id = $1",
    "server.address": "127.0.0.1",
    "server.port": 55432,
}


def main() -> None:
    tracer = trace.get_tracer("span-cost")
    for line in sys.stdin:
        for _ in range(int(line)):
            tracer.start_span(NAME, kind=SpanKind.CLIENT, attributes=ATTRIBUTES).end()
        print("ok", flush=True)


if __name__ == "__main__":
    main()
