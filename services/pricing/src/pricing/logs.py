"""Structured logging: one JSON object per line, with the current trace_id and span_id."""

from __future__ import annotations

import json
import logging
import os
import time
from datetime import UTC, datetime
from typing import Any

from flask import Flask, Response, g, request
from opentelemetry import trace

# Attributes every LogRecord has; anything else passed through `extra=` becomes a JSON field.
_STANDARD = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """Formats a record as JSON; the trace context is read from the span current when logging."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": record.getMessage(),
            "pid": record.process or os.getpid(),
        }
        ctx = trace.get_current_span().get_span_context()
        if ctx.is_valid:
            line["trace_id"] = format(ctx.trace_id, "032x")
            line["span_id"] = format(ctx.span_id, "016x")
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_") and key not in line:
                line[key] = value
        if record.exc_info and record.exc_info[0] is not None:
            line["error.type"] = record.exc_info[0].__qualname__
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


def logging_config(level: str = "info") -> dict[str, Any]:
    """A dictConfig that sends the app's and gunicorn's loggers to stdout as JSON."""
    handler = {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stdout"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": JsonFormatter}},
        "handlers": {"stdout": handler},
        "root": {"level": level.upper(), "handlers": ["stdout"]},
        "loggers": {
            "gunicorn.error": {"level": level.upper(), "handlers": [], "propagate": True},
            # gunicorn writes its access line after the SERVER span has ended, so without the ids:
            # request.completed (log_requests) replaces it.
            "gunicorn.access": {"level": "WARNING", "handlers": [], "propagate": True},
        },
    }


def log_requests(app: Flask, log: logging.Logger) -> None:
    """One `request.completed` line per request, with stock's keys, from Flask's own request hooks.

    after_request runs before the Flask instrumentation's teardown ends the SERVER span, so the line
    carries that span's ids. /health is left out: probes poll it and it is untraced.
    """

    @app.before_request
    def _started() -> None:
        g.request_started = time.perf_counter()

    @app.after_request
    def _completed(response: Response) -> Response:
        if request.path != "/health":
            log.info("request.completed", extra={
                "method": request.method,
                "path": request.path,
                "route": request.url_rule.rule if request.url_rule else None,
                "status": response.status_code,
                "duration_ms": round((time.perf_counter() - g.request_started) * 1000, 3),
            })
        return response
