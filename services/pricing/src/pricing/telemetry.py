"""The one place that touches the tracer provider (opentelemetry-instrument built it).

`install_baggage_processor` adds the contrib BaggageSpanProcessor so that every span copies the
baggage entries whose key starts with `app.` (for example `app.session`) into attributes.
"""

from __future__ import annotations

from opentelemetry import trace
from opentelemetry.processor.baggage import BaggageSpanProcessor

BAGGAGE_PREFIX = "app."


def copy_baggage_key(key: str) -> bool:
    return key.startswith(BAGGAGE_PREFIX)


def install_baggage_processor() -> bool:
    """False when no SDK provider is installed (OTEL_SDK_DISABLED, or plain gunicorn)."""
    add = getattr(trace.get_tracer_provider(), "add_span_processor", None)
    if not callable(add):
        return False
    add(BaggageSpanProcessor(copy_baggage_key))
    return True
