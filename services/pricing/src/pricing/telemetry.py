"""Pricing's telemetry, all of it: how `opentelemetry-instrument` sets up the SDK, and the gunicorn
hooks' part (gunicorn.conf.py only calls in here). Application code only asks for the global tracer.

`opentelemetry-instrument` loads the `opentelemetry_distro` and `opentelemetry_configurator` entry
points that pyproject.toml declares (`Distro`, `Configurator` below). They replace the
`opentelemetry-distro` package, which is not installed: it would be a second configurator, and its
defaults (OTLP over gRPC, metrics and logs on) do not fit a traces-only service that ships only the
OTLP/HTTP exporter.
"""

from __future__ import annotations

import os
from typing import Any

from opentelemetry import trace
from opentelemetry.environment_variables import (
    OTEL_LOGS_EXPORTER,
    OTEL_METRICS_EXPORTER,
    OTEL_TRACES_EXPORTER,
)
from opentelemetry.instrumentation.distro import BaseDistro
from opentelemetry.processor.baggage import BaggageSpanProcessor
from opentelemetry.sdk._configuration import _OTelSDKConfigurator
from opentelemetry.sdk.environment_variables import OTEL_EXPORTER_OTLP_PROTOCOL
from opentelemetry.sdk.metrics._internal import _disable_meter_configurator
from opentelemetry.trace import TracerProvider

BAGGAGE_PREFIX = "app."
FLUSH_TIMEOUT_MS = 5000

# Used where the variable is unset; polytrace, compose and Helm set every one of them anyway.
DEFAULTS = {
    OTEL_TRACES_EXPORTER: "otlp",
    OTEL_METRICS_EXPORTER: "none",
    OTEL_LOGS_EXPORTER: "none",
    OTEL_EXPORTER_OTLP_PROTOCOL: "http/protobuf",
}


def copy_baggage_key(key: str) -> bool:
    """Baggage entries copied onto every span as attributes: `app.*` (for example `app.session`)."""
    return key.startswith(BAGGAGE_PREFIX)


class Distro(BaseDistro):
    """Runs first, before the configurator and the instrumentations read the environment."""

    def _configure(self, **kwargs: Any) -> None:
        for name, value in DEFAULTS.items():
            os.environ.setdefault(name, value)


class Configurator(_OTelSDKConfigurator):
    """The SDK's own configuration from the OTEL_* variables, with three differences.

    - No `telemetry.auto.version` resource attribute: the auto-instrumentation loader passes its
      version to the configurator, which would add it to the resource; the attribute is in no
      current semantic-conventions registry, and OTEL_RESOURCE_ATTRIBUTES can only add attributes.
    - The contrib BaggageSpanProcessor copies `app.*` baggage entries onto every span. Set up here,
      before gunicorn forks, each worker inherits it with the provider (it holds no state).
    - With no metrics exporter, every meter is disabled. The SDK sets up a meter provider even
      then, and the Flask and psycopg instrumentations record two histograms and a counter into it
      on every request, for no reader: 2.5% of pricing's CPU under load (py-spy, bench/README.md).
      A disabled meter's instruments return at once.
    """

    def _configure(self, **kwargs: Any) -> None:
        kwargs.pop("auto_instrumentation_version", None)
        if os.environ.get(OTEL_METRICS_EXPORTER, "").strip() == "none":
            kwargs.setdefault("meter_configurator", _disable_meter_configurator)
        super()._configure(span_processors=[BaggageSpanProcessor(copy_baggage_key)], **kwargs)


def flush(provider: TracerProvider | None = None) -> bool:
    """Exports the spans the worker's batch processor still holds (gunicorn `worker_exit`).

    The SDK also shuts the provider down at interpreter exit; flushing here covers exits that
    skip atexit handlers. Nothing is lost for requests that finished before SIGTERM. False when
    there is no SDK provider (plain gunicorn, OTEL_SDK_DISABLED) or the flush timed out.
    """
    force_flush = getattr(provider or trace.get_tracer_provider(), "force_flush", None)
    return bool(force_flush(FLUSH_TIMEOUT_MS)) if callable(force_flush) else False
