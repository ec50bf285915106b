"""Drives each span-cost program: a warm-up, then rounds of spans, the process's CPU read around each round.

The program makes spans in bursts of one export batch, and a burst is asked for only once the
receiver has counted all but the one before it: the batch processor exports full batches, as
under load, and never drops a span because the loop outran the exporter, so every span is counted
and the CPU covers making, batching, encoding and sending all of them.
"""

from __future__ import annotations

import math
import os
import queue
import statistics
import subprocess
import threading
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path

import psutil

from polytrace import components, registry
from polytrace.bench.spancost.programs import SPAN, Program
from polytrace.bench.spancost.receiver import CountingReceiver
from polytrace.config import Settings, portable
from polytrace.errors import PolytraceError


@dataclass(frozen=True)
class Plan:
    quick: bool
    warmup_spans: int  # unmeasured: the JIT compiles, the pools and connections open
    rounds: int
    round_cpu_s: float  # what a round aims at: the kernel's CPU times tick every 10 ms
    burst: int = 512  # the default OTEL_BSP_MAX_EXPORT_BATCH_SIZE: one burst, one full export
    in_flight: int = 2  # bursts not yet counted: one made while one exports, far below the default queue of 2048
    max_round_spans: int = 2_000_000
    timeout_s: float = 60.0  # for one burst to be made and counted, or the program to start

    @classmethod
    def make(cls, quick: bool) -> Plan:
        if quick:  # proves the harness, says nothing about the cost
            return cls(quick=True, warmup_spans=1024, rounds=2, round_cpu_s=0.0)
        return cls(quick=False, warmup_spans=100 * 512, rounds=5, round_cpu_s=2.0)


TICK_S = 0.01  # the resolution of the CPU times the kernel reports for a process


def round_spans(warmup_cpu_s: float, warmup_spans: int, plan: Plan) -> int:
    """Spans per round: enough for plan.round_cpu_s at the warm-up's rate, in whole bursts.

    A warm-up that read as no CPU at all took less than a tick, not nothing.
    """
    per_span = max(warmup_cpu_s, TICK_S) / warmup_spans
    bursts = max(1, math.ceil(min(plan.round_cpu_s / per_span, plan.max_round_spans) / plan.burst))
    return bursts * plan.burst


def us_per_span(cpu_s: float, spans: int) -> float:
    return round(1e6 * cpu_s / spans, 3)


def spread(values: list[float]) -> dict[str, float]:
    return {"median": round(statistics.median(values), 3), "min": round(min(values), 3),
            "max": round(max(values), 3)}


def shape_problems(span, expected: dict = SPAN) -> list[str]:
    """How the first span that arrived differs from the one every program should make."""
    if span is None:
        return ["no span arrived"]
    problems = [f"{key} is {getattr(span, key)!r}, not {expected[key]!r}"
                for key in ("name", "kind") if getattr(span, key) != expected[key]]
    problems += [f"attribute {key} is {span.attributes.get(key)!r}, not {value!r}"
                 for key, value in expected["attributes"].items() if span.attributes.get(key) != value]
    return problems


class Driven:
    """One running program: its stdin takes a number of spans, its stdout says `ok` once they ended."""

    def __init__(self, command: list[str], env: dict[str, str], cwd: Path, log: Path, timeout_s: float):
        self.timeout_s = timeout_s
        self.log = log
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("w") as stderr:
            self.process = subprocess.Popen(command, cwd=cwd, env=env, stdin=subprocess.PIPE,
                                            stdout=subprocess.PIPE, stderr=stderr, text=True, bufsize=1)
        self.ps = psutil.Process(self.process.pid)
        self.other_output: deque[str] = deque(maxlen=20)  # a service's own log lines, for errors
        self._lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.process.stdout:
            self._lines.put(line.strip())
        self._lines.put(None)

    def make(self, count: int) -> None:
        self.process.stdin.write(f"{count}\n")
        self.process.stdin.flush()
        while True:
            try:
                line = self._lines.get(timeout=self.timeout_s)
            except queue.Empty:
                raise PolytraceError(f"no answer within {self.timeout_s:g} s; {self.tail()}") from None
            if line == "ok":
                return
            if line is None:
                raise PolytraceError(f"exited with {self.process.wait()}; {self.tail()}")
            self.other_output.append(line)

    def cpu_s(self) -> tuple[float, float]:
        """User and system CPU seconds of every thread (exporters, JIT, GC), none of any child."""
        times = self.ps.cpu_times()
        return times.user, times.system

    def close(self) -> int:
        self.process.stdin.close()
        try:
            return self.process.wait(timeout=self.timeout_s)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait()

    def tail(self) -> str:
        stderr = self.log.read_text(errors="replace").splitlines()[-10:]
        return f"last output: {list(self.other_output)[-5:]}, stderr ({self.log}): {stderr}"


def measure(program: Program, receiver: CountingReceiver, settings: Settings, plan: Plan, echo) -> dict:
    service = program.service
    spec = registry.spec(service)
    running = components.component(spec, settings, {service: ""})  # no database: no password needed
    command = program.command(running.command, settings.root)
    driven = Driven(command, {**os.environ, **running.env}, running.cwd,
                    settings.logs_dir / f"span-cost-{program.language.lower()}.log", plan.timeout_s)
    sent = 0

    def arrived(count: int) -> None:
        if not receiver.wait_for(service, count, plan.timeout_s):
            raise PolytraceError(f"span cost, {program.language}: {receiver.counts[service]} of {count} spans "
                                 f"arrived within {plan.timeout_s:g} s; {driven.tail()}")

    def spans(count: int) -> None:
        nonlocal sent
        for _ in range(count // plan.burst):
            driven.make(plan.burst)
            sent += plan.burst
            arrived(sent - (plan.in_flight - 1) * plan.burst)
        arrived(sent)

    try:
        # Rounds are sized from the warm-up's second half: the first carries the start-up and the JIT.
        half = plan.warmup_spans // 2 // plan.burst * plan.burst or plan.burst
        spans(half)
        before = sum(driven.cpu_s())
        spans(half)
        warmup_cpu = sum(driven.cpu_s()) - before
        count = round_spans(warmup_cpu, half, plan)
        rounds = []
        for _ in range(plan.rounds):
            (user0, sys0), wall0 = driven.cpu_s(), time.monotonic()
            spans(count)
            (user1, sys1), wall1 = driven.cpu_s(), time.monotonic()
            rounds.append({"spans": count, "user_s": round(user1 - user0, 3), "system_s": round(sys1 - sys0, 3),
                           "wall_s": round(wall1 - wall0, 3),
                           "us_per_span": us_per_span(user1 - user0 + sys1 - sys0, count)})
        rss_mib = round(driven.ps.memory_info().rss / 2**20, 1)
    except BaseException:
        driven.close()
        raise
    exit_code = driven.close()
    problems = shape_problems(receiver.first.get(service))
    if problems or exit_code:
        raise PolytraceError(f"span cost, {program.language}: " + "; ".join(
            problems + ([f"exited with {exit_code}; {driven.tail()}"] if exit_code else [])))
    result = {
        "language": program.language,
        "service": service,
        "sdk": program.versions(settings.root),
        "command": [portable(arg) for arg in command],
        "warmup": {"spans": 2 * half, "second_half_cpu_s": round(warmup_cpu, 3)},
        "rounds": rounds,
        "us_per_span": spread([r["us_per_span"] for r in rounds]),
        "spans_sent": sent,
        "spans_received": receiver.counts[service],
        "exports": receiver.exports[service],
        "extra_attributes": sorted(set(receiver.first[service].attributes) - set(SPAN["attributes"])),
        "rss_mib": rss_mib,
    }
    echo(f"  {program.language}: {result['us_per_span']['median']} µs CPU per span "
         f"({result['us_per_span']['min']}–{result['us_per_span']['max']}, {plan.rounds} rounds of {count} spans); "
         f"{result['spans_received']} of {sent} spans arrived in {result['exports']} exports")
    return result
