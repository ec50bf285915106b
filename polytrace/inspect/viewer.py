"""Reading traces back from the bundled viewer: Zipkin's v2 query API, behind polytrace's OTLP bridge."""

from __future__ import annotations

import json
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from typing import Any

from polytrace.errors import PolytraceError
from polytrace.inspect.spans import TraceSpan, from_zipkin
from polytrace.wait import WaitTimeout, poll_until

TRACE_ID = re.compile(r"^(?:[0-9a-f]{16}|[0-9a-f]{32})$")
# The services export every 500 ms (OTEL_BSP_SCHEDULE_DELAY) and a trace crosses up to three
# exporting processes after its root ends (catalog → MQTT → analytics): a trace whose last span
# ended less than this ago may still be missing spans.
SETTLE_S = 2.0
POLL_S = 0.25


class Viewer:
    """The Zipkin server the CLI starts as the local viewer (polytrace/components.py)."""

    def __init__(self, base_url: str, timeout: float = 5.0,
                 urlopen: Callable[..., Any] = urllib.request.urlopen):
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self._urlopen = urlopen

    def trace_url(self, trace_id: str) -> str:
        """Where a person sees the trace in the viewer's UI."""
        return f"{self.base_url}/zipkin/traces/{trace_id}"

    def trace(self, trace_id: str) -> list[dict[str, Any]] | None:
        """The trace's spans as Zipkin JSON, or None when the viewer has no such trace (yet)."""
        return self._get(f"/api/v2/trace/{trace_id}")

    def traces(self, service: str, limit: int = 25) -> list[list[dict[str, Any]]]:
        """The most recent traces with a span of `service` that has an http.route (a SERVER span)."""
        query = urllib.parse.urlencode({"serviceName": service, "annotationQuery": "http.route", "limit": limit})
        return self._get(f"/api/v2/traces?{query}") or []

    def _get(self, path: str) -> Any:
        url = self.base_url + path
        try:
            with self._urlopen(url, timeout=self.timeout) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as exc:
            if exc.code == 404:
                return None
            raise PolytraceError(f"the viewer at {self.base_url} answered {exc.code} to {path}") from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise PolytraceError(f"the viewer at {self.base_url} is not answering ({reason}); "
                                 "is the stack up? (`polytrace up`)") from None
        except ValueError:
            raise PolytraceError(f"the viewer at {self.base_url} sent something that is not JSON for {path}") from None


def check_trace_id(value: str) -> str:
    trace_id = value.strip().lower()
    if not TRACE_ID.match(trace_id):
        raise PolytraceError(f"{value!r} is not a trace id (32 hex digits, as in a traceparent or traceresponse)")
    return trace_id


def _newest_server_trace(viewer: Viewer, service: str) -> str | None:
    newest: tuple[int, str] | None = None
    for trace in viewer.traces(service):
        for span in from_zipkin(trace):
            if span.service == service and span.kind == "SERVER" and "/health" not in span.name:
                if newest is None or span.start_us > newest[0]:
                    newest = (span.start_us, span.trace_id)
    return newest[1] if newest else None


def last_trace_id(viewer: Viewer, service: str = "catalog", wait_s: float = 0.0,
                  sleep: Callable[[float], None] = time.sleep) -> str:
    """The trace with the most recent SERVER span of `service`, health checks left out.

    Waits up to `wait_s` for a first one: right after a fresh stack's first request, its spans
    are still in the exporters' batches.
    """
    # Asked once outside the wait, so that a viewer that is down says so at once (the wait
    # counts errors as "not yet").
    if newest := _newest_server_trace(viewer, service):
        return newest
    try:
        return poll_until(lambda: _newest_server_trace(viewer, service), f"a {service} SERVER span", wait_s,
                          interval=POLL_S, sleep=sleep)
    except WaitTimeout:
        raise PolytraceError(f"the viewer has no trace with a {service} SERVER span yet (waited {wait_s:g} s); "
                             "send a request first (e.g. `polytrace demo`)") from None


def read_trace(viewer: Viewer, trace_id: str, wait_s: float,
               clock: Callable[[], float] = time.time,
               sleep: Callable[[float], None] = time.sleep) -> list[TraceSpan]:
    """The trace once it has all arrived, waiting up to `wait_s` for it; one-line errors otherwise.

    "All arrived" means one top-level span (the others hang below it) and no span that ended
    less than SETTLE_S ago, since later spans may still be in an exporter's batch.
    """
    deadline = clock() + wait_s
    spans: list[TraceSpan] = []
    while True:
        raw = viewer.trace(trace_id)
        spans = from_zipkin(raw) if raw else []
        now = clock()
        if spans and is_connected(spans) and now - max(s.end_us for s in spans) / 1e6 >= SETTLE_S:
            return spans
        if now >= deadline:
            break
        sleep(min(POLL_S, max(0.0, deadline - now)))
    if not spans:
        raise PolytraceError(f"no trace {trace_id} in the viewer at {viewer.base_url} "
                             f"(waited {wait_s:g} s; try --wait 10 if the request was just sent)")
    if not is_connected(spans):
        pieces = sum(1 for s in spans if s.depth == 0)
        raise PolytraceError(f"trace {trace_id} is still arriving: {len(spans)} spans so far, in {pieces} "
                             f"unconnected pieces; try again, or wait longer with --wait 10")
    return spans  # connected and recent: what is there is shown


def is_connected(spans: list[TraceSpan]) -> bool:
    """One top-level span: every other span's parent is in the trace."""
    return sum(1 for s in spans if s.depth == 0) == 1
