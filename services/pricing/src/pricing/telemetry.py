"""Pricing's telemetry: the one place that touches the tracer provider (opentelemetry-instrument
built it, before gunicorn forked). gunicorn.conf.py's hooks only call in here.

- `start_worker` (gunicorn `post_fork`): adds the contrib BaggageSpanProcessor so that every span
  copies the baggage entries whose key starts with `app.` (for example `app.session`).
- `flush` (gunicorn `worker_exit`): exports what the worker's batch processor still holds.
"""

from __future__ import annotations

from opentelemetry import trace
from opentelemetry.processor.baggage import BaggageSpanProcessor
from opentelemetry.trace import TracerProvider

BAGGAGE_PREFIX = "app."
FLUSH_TIMEOUT_MS = 5000


def copy_baggage_key(key: str) -> bool:
    return key.startswith(BAGGAGE_PREFIX)


def install_baggage_processor(provider: TracerProvider | None = None) -> bool:
    """False when no SDK provider is installed (OTEL_SDK_DISABLED, or plain gunicorn)."""
    add = getattr(provider or trace.get_tracer_provider(), "add_span_processor", None)
    if not callable(add):
        return False
    add(BaggageSpanProcessor(copy_baggage_key))
    return True


def start_worker() -> None:
    """Per-worker telemetry set-up, run in each gunicorn worker right after the fork."""
    install_baggage_processor()


def flush(provider: TracerProvider | None = None) -> bool:
    """Exports the spans the worker's batch processor still holds, before the process ends.

    The SDK also shuts the provider down at interpreter exit; flushing here covers exits that
    skip atexit handlers. Nothing is lost for requests that finished before SIGTERM. False when
    there is no SDK provider or the flush timed out.
    """
    force_flush = getattr(provider or trace.get_tracer_provider(), "force_flush", None)
    return bool(force_flush(FLUSH_TIMEOUT_MS)) if callable(force_flush) else False
