"""Failure flags (infra/flags/flags.json): OpenFeature with the flagd provider in file mode.

- `pricingLatencyMs`: wait that long before answering.
- `pricingFailureRate`: that percentage (0-100) of price requests fail with 500.

Evaluated on every price request, inside `compute price`; the OpenFeature OpenTelemetry hook
records each evaluation as a `feature_flag.evaluation` event on that span. When a flag bites, the
span also gets status ERROR, `error.type` and an `app.fault.injected` event naming the flag.

The provider is set per gunicorn worker (`start_provider`, from `post_fork`): its file watcher
is a thread, and threads do not survive a fork. It is imported there too, so the master never
loads grpc (the provider's module imports it). Without FLAGD_RESOLVER there is no flag source:
nothing is evaluated and every flag is off.
"""

from __future__ import annotations

import json
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass

from openfeature import api
from openfeature.client import OpenFeatureClient
from openfeature.contrib.hook.opentelemetry import TracingHook
from opentelemetry import trace
from opentelemetry.semconv.attributes.error_attributes import ERROR_TYPE
from opentelemetry.trace import Status, StatusCode

from pricing.domain import InjectedFailure

log = logging.getLogger("pricing")

LATENCY_MS = "pricingLatencyMs"
FAILURE_RATE = "pricingFailureRate"
MAX_LATENCY_MS = 60_000  # the flag's `max` in flags.json
FAULT_EVENT = "app.fault.injected"


def start_provider(resolver: str | None) -> bool:
    """Sets the flagd provider for this process; False (defaults apply) without FLAGD_RESOLVER.

    The provider reads its own standard variables (FLAGD_RESOLVER=file,
    FLAGD_OFFLINE_FLAG_SOURCE_PATH; its file watcher polls every FLAGD_DEADLINE_MS, 500 ms by
    default). A missing or unreadable flags file fails the worker's start, loudly.
    """
    if not resolver:
        return False
    from openfeature.contrib.provider.flagd import FlagdProvider

    api.set_provider_and_wait(FlagdProvider())
    return True


@dataclass(frozen=True)
class Faults:
    latency_ms: int = 0
    failure_rate: int = 0


class FailureFlags:
    """This service's flags, through an OpenFeature client whose evaluations land on the current span."""

    def __init__(self, client: OpenFeatureClient | None = None) -> None:
        self._client = client or api.get_client("pricing")
        self._client.add_hooks([TracingHook()])

    def evaluate(self) -> Faults:
        latency = self._client.get_integer_value(LATENCY_MS, 0)
        rate = self._client.get_integer_value(FAILURE_RATE, 0)
        return Faults(latency_ms=min(max(latency, 0), MAX_LATENCY_MS), failure_rate=min(max(rate, 0), 100))


def _bite(span: trace.Span, flag: str, value: int, error_type: str, description: str) -> None:
    span.set_status(Status(StatusCode.ERROR, description))
    span.set_attribute(ERROR_TYPE, error_type)
    span.add_event(FAULT_EVENT, {"feature_flag.key": flag, "feature_flag.result.value": json.dumps(value)})
    log.warning(FAULT_EVENT, extra={"feature_flag.key": flag, "app.fault.value": value})


def inject(
    span: trace.Span, faults: Faults, rng: random.Random, sleep: Callable[[float], None] = time.sleep
) -> None:
    """Applies the faults the flags ask for: waits, then maybe raises InjectedFailure (HTTP 500)."""
    if faults.latency_ms > 0:
        _bite(span, LATENCY_MS, faults.latency_ms, "injected_latency", f"{LATENCY_MS}={faults.latency_ms}")
        sleep(faults.latency_ms / 1000)
    if faults.failure_rate > 0 and rng.randrange(100) < faults.failure_rate:
        _bite(
            span,
            FAILURE_RATE,
            faults.failure_rate,
            "injected_failure",
            f"{FAILURE_RATE}={faults.failure_rate}",
        )
        raise InjectedFailure(f"injected failure ({FAILURE_RATE}={faults.failure_rate})")
