"""Load: oha for throughput and latency; a small Python client where every response's trace id matters.

oha (a Rust load generator, installed by `make bench` into ~/.cargo/bin) gives a closed loop at
fixed concurrency for the maximum throughput, and an open loop at a fixed rate (`-q`) with
`--latency-correction`, so a stalled server cannot hide its latency (no coordinated omission).
It cannot return response headers, so the completeness phase uses SustainedLoad below, which keeps
the `traceresponse` of every request: its trace id, and whether that trace was sampled.
"""

from __future__ import annotations

import http.client
import json
import os
import queue
import re
import shutil
import subprocess
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from polytrace.bench.plan import PRODUCT_IDS
from polytrace.bench.results import Slice
from polytrace.errors import PolytraceError

OHA_VERSION = "1.16.0"


def oha_binary() -> str:
    found = shutil.which("oha") or str(Path.home() / ".cargo" / "bin" / "oha")
    if not Path(found).exists():
        raise PolytraceError(
            f"oha is not installed; run `make bench` (it runs `cargo install --locked oha@{OHA_VERSION}`)"
        )
    return found


def oha_version() -> str:
    """What `oha --version` says (the installed binary may differ from OHA_VERSION)."""
    result = subprocess.run([oha_binary(), "--version"], capture_output=True, text=True, check=False)
    return result.stdout.strip() or f"oha (version unknown, expected {OHA_VERSION})"


def _pinned(command: list[str]) -> list[str]:
    """On two cores or more, oha runs on the last core only, so it can take at most one core from the stack."""
    cores = os.cpu_count() or 1
    if cores >= 2 and shutil.which("taskset"):
        return ["taskset", "-c", str(cores - 1), *command]
    return command


def run_oha(port: int, *, duration_s: float, connections: int, rate: float | None = None) -> Slice:
    """One oha run on GET /products/{1..3}; returns requests/s, latency percentiles (ms) and errors."""
    # oha's regex generator reads `\.` as any character: dots go in a class.
    url_regex = f"http://127[.]0[.]0[.]1:{port}/products/[{PRODUCT_IDS[0]}-{PRODUCT_IDS[-1]}]"
    command = [oha_binary(), "--no-tui", "--output-format", "json", "--rand-regex-url", url_regex,
               "-z", f"{duration_s:g}s", "-c", str(connections)]
    if rate:
        command += ["-q", f"{rate:.0f}", "--latency-correction"]
    result = subprocess.run(_pinned(command), capture_output=True, text=True, timeout=duration_s + 120, check=False)
    if result.returncode != 0:
        raise PolytraceError(f"oha failed ({result.returncode}): {result.stderr.strip()[-500:]}")
    report = json.loads(result.stdout)
    summary = report["summary"]
    statuses = {str(k): v for k, v in report.get("statusCodeDistribution", {}).items()}
    percentiles = report.get("latencyPercentiles", {})
    total = sum(statuses.values())
    return Slice(
        duration_s=duration_s,
        connections=connections,
        target_rate=rate,
        requests=total,
        requests_per_s=round(summary.get("requestsPerSec") or 0.0, 1),
        ok_per_s=round(statuses.get("200", 0) / duration_s, 1),
        status_codes=statuses,
        errors=report.get("errorDistribution", {}),
        latency_ms={name: _ms(percentiles.get(name)) for name in ("p50", "p90", "p99")},
    )


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 2)


# `00-<trace id>-<span id>-<flags>` (W3C Trace Context Level 2), as catalog's TraceResponseFilter writes it.
_TRACERESPONSE = re.compile(r"00-([0-9a-f]{32})-[0-9a-f]{16}-([0-9a-f]{2})")


def traceresponse(header: str | None) -> tuple[str | None, bool]:
    """The trace id a `traceresponse` names and whether that trace was sampled; (None, False) if it is not one.

    Bit 0 of the flags is the sampled flag: with head sampling (a ratio sampler) only those traces are
    recorded and exported, so only they can ever be complete.
    """
    match = _TRACERESPONSE.fullmatch(header or "")
    if not match:
        return None, False
    return match[1], bool(int(match[2], 16) & 1)


@dataclass
class Sent:
    product_id: int
    scheduled: float  # time.time() when the request was due
    answered: float = 0.0
    status: int = 0
    trace_id: str | None = None  # kept whether sampled or not
    sampled: bool = False  # the traceresponse flags say the trace is recorded and exported
    error: str | None = None


@dataclass(frozen=True)
class Answers:
    """A load's requests, sorted for the trace phases."""

    ok: list[Sent]  # 200 with a trace id, sampled or not
    sampled: list[Sent]  # of those, the ones whose trace should arrive
    not_ok: dict[str, int]  # status or error → count, for the rest: an unsampled 200 answer is no failure

    @property
    def unsampled(self) -> int:
        return len(self.ok) - len(self.sampled)


def answers(sent: list[Sent]) -> Answers:
    ok: list[Sent] = []
    not_ok: Counter = Counter()
    for s in sent:
        if s.status == 200 and s.trace_id:
            ok.append(s)
        else:
            not_ok[str(s.status or s.error)] += 1
    return Answers(ok=ok, sampled=[s for s in ok if s.sampled], not_ok=dict(not_ok))


@dataclass
class SustainedLoad:
    """Open loop at a fixed rate from a pool of keep-alive connections; keeps each request's trace id."""

    port: int
    rate: float
    duration_s: float
    workers: int = 32
    sent: list[Sent] = field(default_factory=list)
    late: int = 0  # requests that waited for a free worker

    def run(self, on_response=None) -> list[Sent]:
        due: queue.Queue[Sent | None] = queue.Queue()

        def worker() -> None:
            connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
            while (item := due.get()) is not None:
                try:
                    connection.request("GET", f"/products/{item.product_id}")
                    response = connection.getresponse()
                    response.read()
                    item.status = response.status
                    item.trace_id, item.sampled = traceresponse(response.getheader("traceresponse"))
                except (OSError, http.client.HTTPException) as exc:
                    item.error = type(exc).__name__
                    connection.close()
                    connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
                item.answered = time.time()
                if on_response:
                    on_response(item)
            connection.close()

        threads = [threading.Thread(target=worker, daemon=True) for _ in range(self.workers)]
        for thread in threads:
            thread.start()
        start = time.time()
        count = int(self.rate * self.duration_s)
        for index in range(count):
            scheduled = start + index / self.rate
            delay = scheduled - time.time()
            if delay > 0:
                time.sleep(delay)
            if due.qsize() > 0:
                self.late += 1
            item = Sent(PRODUCT_IDS[index % len(PRODUCT_IDS)], scheduled)
            self.sent.append(item)
            due.put(item)
        for _ in threads:
            due.put(None)
        for thread in threads:
            thread.join(timeout=30)
        self.achieved_rate = round(count / max(time.time() - start, 1e-9), 1)
        return self.sent


# With head sampling the first answers may not be sampled: at a ratio of 0.1, 200 unsampled answers
# in a row happen about once in 10^9 starts; at 0.05 once in 30,000; at 0.01 in one start of 7.
SAMPLED_ATTEMPTS = 200


@dataclass(frozen=True)
class FirstTrace:
    answered: float  # time.monotonic() of the first answer, sampled or not: the stack's first response
    trace_id: str | None  # the first sampled answer's; None when the answers carry no traceresponse (tracing off)
    answers: int  # how many it took


def first_response(port: int, attempts: int = SAMPLED_ATTEMPTS, *, sampled: bool = True) -> FirstTrace:
    """GET /products/1 until an answer's trace is sampled (at most `attempts` times), or until one has no trace.

    sampled=False: the first answer, sampled or not (a stack whose sampler keeps no trace).
    """
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    first = None
    try:
        for count in range(1, attempts + 1):
            connection.request("GET", "/products/1")
            response = connection.getresponse()
            response.read()
            first = first or time.monotonic()
            if response.status != 200:
                raise PolytraceError(f"GET /products/1 answered {response.status}")
            trace_id, is_sampled = traceresponse(response.getheader("traceresponse"))
            if trace_id is None or is_sampled or not sampled:
                return FirstTrace(answered=first, trace_id=trace_id, answers=count)
    finally:
        connection.close()
    raise PolytraceError(f"none of {attempts} answers to GET /products/1 was sampled (traceresponse flags); "
                         "a ratio sampler needs a ratio of about 0.05 or more here")
