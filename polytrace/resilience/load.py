"""Open-loop load at a fixed rate that keeps every answer: its status, body verdict and trace id.

oha (the bench's load generator) cannot hand back per-request headers, and the bench's thread-pool
client (polytrace/bench/load.py) sends at most one request per worker: when a fault holds answers
for seconds, its requests leave late and the load is no longer open-loop. Here every request is
its own asyncio task started at its scheduled time, on aiohttp's keep-alive pool with no
connection limit, so a stalled stack faces the same arrival rate as a healthy one and each
latency is measured from the time the request was due.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass

import aiohttp

from polytrace.bench.plan import PRODUCT_IDS

COMPLETE = "complete"  # 200 with every field (no "unavailable")
DEGRADED = "degraded"  # 200 with "unavailable": [...]
LATE_S = 0.05  # a request that left this much after its time is counted as late (the client lagged)


@dataclass
class Answer:
    path: str
    due_s: float  # when the request was due, seconds since the load started
    latency_s: float | None = None  # due → answer (None while unanswered)
    status: int = 0  # 0: no HTTP answer
    outcome: str = ""  # complete | degraded | the status code | timeout | connection error | …
    trace_id: str | None = None
    late: bool = False


def outcome_of(status: int, body: bytes) -> str:
    if status != 200:
        return str(status)
    try:
        unavailable = json.loads(body).get("unavailable")
    except (ValueError, AttributeError):
        return "200 unreadable"
    return DEGRADED if unavailable else COMPLETE


def trace_id_of(traceresponse: str | None) -> str | None:
    parts = (traceresponse or "").split("-")
    return parts[1] if len(parts) == 4 and len(parts[1]) == 32 else None


class OpenLoop:
    """`rate` requests per second on GET /products/{1..3} for `duration_s`, whatever the answers take."""

    def __init__(self, port: int, rate: float, duration_s: float, timeout_s: float = 10.0):
        self.base = f"http://127.0.0.1:{port}"
        self.rate = rate
        self.duration_s = duration_s
        self.timeout_s = timeout_s
        self.started_at = 0.0  # time.time() of the first due request
        self.answers: list[Answer] = []

    async def run(self, clock: float | None = None) -> list[Answer]:
        """`clock`: the time.monotonic() at which the first request is due (default: now)."""
        timeout = aiohttp.ClientTimeout(total=self.timeout_s)
        connector = aiohttp.TCPConnector(limit=0, ttl_dns_cache=None)
        async with aiohttp.ClientSession(timeout=timeout, connector=connector) as session:
            clock = time.monotonic() if clock is None else clock
            self.started_at = time.time() + clock - time.monotonic()
            tasks = []
            for index in range(int(self.rate * self.duration_s)):
                due = index / self.rate
                delay = clock + due - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                answer = Answer(f"/products/{PRODUCT_IDS[index % len(PRODUCT_IDS)]}", round(due, 4))
                answer.late = -delay > LATE_S
                self.answers.append(answer)
                tasks.append(asyncio.create_task(self._one(session, answer, clock + due)))
            await asyncio.gather(*tasks)
        return self.answers

    async def _one(self, session: aiohttp.ClientSession, answer: Answer, due: float) -> None:
        try:
            async with session.get(self.base + answer.path) as response:
                body = await response.read()
                answer.status = response.status
                answer.outcome = outcome_of(response.status, body)
                answer.trace_id = trace_id_of(response.headers.get("traceresponse"))
        except TimeoutError:
            answer.outcome = "timeout"
        except aiohttp.ClientConnectorError:
            answer.outcome = "connection refused"
        except aiohttp.ClientError as exc:
            answer.outcome = type(exc).__name__
        answer.latency_s = round(time.monotonic() - due, 4)


def run(port: int, rate: float, duration_s: float, timeout_s: float = 10.0, clock: float | None = None
        ) -> tuple[float, list[Answer]]:
    """One open loop to its end: (time.time() of the first due request, the answers).

    Meant to run in a process of its own (runner.py): the OTLP receiver decodes every span in the
    harness's process, and an event loop sharing the GIL with it would read answers late.
    `clock` is a time.monotonic() value, the same clock in every process on Linux.
    """
    load = OpenLoop(port, rate, duration_s, timeout_s)
    asyncio.run(load.run(clock))
    return load.started_at, load.answers


def client_version() -> str:
    return f"aiohttp {aiohttp.__version__}, one asyncio task per request (open loop)"
