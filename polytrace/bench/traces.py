"""Following traces to completeness: polytrace/capture/golden.py says when a trace is the complete golden one."""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from collections import Counter

from polytrace.capture.golden import missing_parts, services
from polytrace.wait import poll_until

EXPECTATION = "product_request"


class Completeness:
    """Watches trace ids as responses arrive; records when each trace became complete."""

    def __init__(self, receiver, ports: dict[str, int], interval: float = 0.2):
        self.receiver = receiver
        self.ports = ports
        self.interval = interval
        self.answered: dict[str, float] = {}  # trace id → time of the response
        self.completed: dict[str, float] = {}  # trace id → time its last expected span was seen
        self._seen_len: dict[str, int] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="completeness", daemon=True)

    def start(self) -> Completeness:
        self._thread.start()
        return self

    def responded(self, trace_id: str, at: float) -> None:
        with self._lock:
            self.answered[trace_id] = at

    def missing(self, trace_id: str) -> list[str]:
        return missing_parts(self.receiver.trace(trace_id), EXPECTATION, self.ports)

    def pending(self) -> list[str]:
        with self._lock:
            return [t for t in self.answered if t not in self.completed]

    def _watch(self) -> None:
        while not self._stop.is_set():
            self._check_once()
            self._stop.wait(self.interval)

    def _check_once(self) -> None:
        now = time.time()
        for trace_id in self.pending():
            spans = self.receiver.trace(trace_id)
            if len(spans) == self._seen_len.get(trace_id, -1):
                continue
            self._seen_len[trace_id] = len(spans)
            if spans and not missing_parts(spans, EXPECTATION, self.ports):
                with self._lock:
                    self.completed[trace_id] = now

    def wait_drained(self, grace_s: float) -> None:
        deadline = time.monotonic() + grace_s
        while self.pending() and time.monotonic() < deadline:
            time.sleep(self.interval)
        self._check_once()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


def span_census(receiver, trace_ids: list[str]) -> Counter:
    """How many spans of each (service, kind, name) the given traces hold."""
    census: Counter = Counter()
    for trace_id in trace_ids:
        for span in receiver.trace(trace_id):
            census[(span.service, span.kind, span.name)] += 1
    return census


def wait_complete(receiver, ports: dict[str, int], trace_id: str, timeout: float = 60.0) -> float:
    """Seconds until trace_id is complete (polled every 50 ms); raises WaitTimeout."""
    started = time.monotonic()
    poll_until(lambda: (trace := receiver.trace(trace_id)) and not missing_parts(trace, EXPECTATION, ports),
               f"trace {trace_id} to be complete", timeout, interval=0.05)
    return time.monotonic() - started


def wait_in_viewer(viewer_port: int, trace_id: str, timeout: float = 120.0) -> list[str]:
    """Until Zipkin holds the trace with all four services and the analytics consumer span."""
    url = f"http://127.0.0.1:{viewer_port}/api/v2/trace/{trace_id}"
    found: list[str] = []

    def complete() -> bool:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                spans = json.load(response)
        except OSError:
            return False
        found[:] = sorted({s.get("localEndpoint", {}).get("serviceName", "") for s in spans})
        consumer = any(s.get("kind") == "CONSUMER" and s.get("localEndpoint", {}).get("serviceName") == "analytics"
                       for s in spans)
        return consumer and services(EXPECTATION) <= set(found)

    poll_until(complete, f"trace {trace_id} in the viewer with the services of {EXPECTATION}", timeout,
               interval=0.5)
    return found
