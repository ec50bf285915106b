"""The phases of one run, in order: A/B pairs, sustained completeness, the viewer stack; then the report."""

from __future__ import annotations

import datetime as dt
import os
import platform
import statistics
import threading
import time
from collections import Counter
from contextlib import contextmanager
from pathlib import Path

import psutil
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn

from polytrace.bench import load, report, tree
from polytrace.bench.plan import Plan
from polytrace.bench.receiver import BenchReceiver
from polytrace.bench.spancost import report as span_cost
from polytrace.bench.stack import BenchStack
from polytrace.bench.traces import Completeness, span_census, wait_complete, wait_in_viewer
from polytrace.config import ROOT
from polytrace.errors import PolytraceError

SCHEMA = "polytrace-bench/3"  # 3: the measured tree (commit, uncommitted changes)
BUSY_WARNING_PCT = 20.0


def machine() -> dict:
    cpu_model = ""
    try:
        cpu_model = next(line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                         if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return {
        "cores": os.cpu_count(),
        "cpu": cpu_model or platform.processor(),
        "ram_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "kernel": platform.release(),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        # The load average lags by minutes; this says whether something else is busy right now.
        "cpu_busy_before_pct": psutil.cpu_percent(interval=3),
    }


def run(plan: Plan, out_root: Path, echo, note: str | None = None, console: Console | None = None) -> Path:
    started = dt.datetime.now(dt.UTC)
    out = out_root / started.strftime("%Y%m%dT%H%M%SZ")
    out.mkdir(parents=True, exist_ok=True)
    results: dict = {
        "schema": SCHEMA,
        "started_at": started.isoformat(timespec="seconds"),
        "mode": "quick" if plan.quick else "full",
        "machine": machine(),
        "tree": tree.describe(),
        "plan": {k: v for k, v in plan.__dict__.items()},
        "tools": {"load_generator": load.oha_version(), "oha_path": load.oha_binary()},
        "runs": [],
        "note": note,
    }
    if results["machine"]["cpu_busy_before_pct"] > BUSY_WARNING_PCT:
        echo(f"warning: the machine is {results['machine']['cpu_busy_before_pct']:.0f}% busy before the run; "
             "the figures will be noisy (stop other work, or say what ran with --note)")
    receiver = BenchReceiver(plan.capture_port).start()
    try:
        with PhaseProgress(plan, console) as progress:
            _phases(plan, receiver, results, echo, progress)
        if not plan.quick:  # the quick bench stays a ~1.5 min harness check; tests/test_spancost.py has its own
            results["span_cost"] = span_cost.run(quick=False, echo=echo)
    except Exception as exc:  # the report of what was measured is still written
        results["error"] = f"{type(exc).__name__}: {exc}"
        echo(f"stopped early: {results['error']}")
    finally:
        receiver.stop()
    results["finished_at"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    results["machine"]["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    results["summary"] = report.summarize(results)
    report.write(results, out)
    if "error" in results:
        raise PolytraceError(f"bench stopped early ({results['error']}); partial results in {out}")
    return out


STARTUP_GUESS_S = 30.0  # one stack's `up` plus its first complete trace, until a startup is measured
SLICE_OVERHEAD_S = 1.5  # oha's start and the CPU readings around a slice


def planned_phases(plan: Plan) -> list[tuple[str, float, bool]]:
    """Every phase _phases goes through, in order: (name, expected seconds, whether it starts stacks)."""
    phases = []
    for number, slice_s in ((1, plan.throughput_s), (2, plan.latency_s)):
        for pair in range(1, plan.pairs + 1):
            phases.append((f"pass {number}, pair {pair}/{plan.pairs}: starting two stacks", 2 * STARTUP_GUESS_S, True))
            phases.append((f"pass {number}, pair {pair}/{plan.pairs}: {'throughput' if number == 1 else 'latency'}",
                           2 * plan.warmup_s + 2 * plan.rounds * (slice_s + SLICE_OVERHEAD_S), False))
    phases.append(("sustained load: trace completeness", plan.sustained_s + plan.trace_grace_s / 3, False))
    phases.append(("load, then `polytrace down` at once", plan.shutdown_load_s + 10, False))
    if plan.viewer_stack:
        phases.append(("viewer stack: starting", STARTUP_GUESS_S, True))
        phases.append(("viewer stack: throughput and latency",
                       plan.warmup_s + plan.rounds * (plan.throughput_s + SLICE_OVERHEAD_S) + plan.latency_s, False))
    return phases


class PhaseProgress:
    """A progress bar with the phase and the time left (stderr, only on a terminal: logs stay plain).

    The time left is the planned length of the phases to come plus what remains of this one; the
    startup phases, whose length the plan cannot know, are re-estimated from the ones measured.
    """

    def __init__(self, plan: Plan, console: Console | None, clock=time.monotonic):
        self.phases = planned_phases(plan)
        self.index = -1
        self.clock = clock
        self.started = self.phase_started = clock()
        self.startups: list[float] = []  # measured seconds per stack started
        self._bar = Progress(TextColumn("{task.description}"), BarColumn(), TaskProgressColumn(),
                             TimeElapsedColumn(), TextColumn("[dim]about {task.fields[left]} left"),
                             console=console, transient=True) if console and console.is_terminal else None
        self._task = None
        self._stop = threading.Event()

    def __enter__(self) -> PhaseProgress:
        if self._bar:
            self._bar.start()
            self._task = self._bar.add_task("starting", total=1000, left="?")
            threading.Thread(target=self._tick, daemon=True).start()
        return self

    def __exit__(self, *_exc) -> None:
        self._stop.set()
        if self._bar:
            self._bar.stop()

    def phase(self, name: str) -> None:
        now = self.clock()
        if 0 <= self.index < len(self.phases) and self.phases[self.index][2]:
            stacks = 2 if "two stacks" in self.phases[self.index][0] else 1
            self.startups += [(now - self.phase_started) / stacks] * stacks
        names = [phase[0] for phase in self.phases]
        self.index = names.index(name) if name in names else self.index
        self.phase_started = now

    def expected(self, index: int) -> float:
        name, seconds, starts_stacks = self.phases[index]
        if starts_stacks and self.startups:
            return statistics.fmean(self.startups) * (2 if "two stacks" in name else 1)
        return seconds

    def left_s(self) -> float:
        if self.index < 0:
            return sum(self.expected(i) for i in range(len(self.phases)))
        in_phase = max(0.0, self.expected(self.index) - (self.clock() - self.phase_started))
        return in_phase + sum(self.expected(i) for i in range(self.index + 1, len(self.phases)))

    def _tick(self) -> None:
        while not self._stop.wait(0.5):
            elapsed = self.clock() - self.started
            left = self.left_s()
            name = self.phases[self.index][0] if self.index >= 0 else "starting"
            self._bar.update(self._task, description=name, completed=1000 * elapsed / max(1e-9, elapsed + left),
                             left=_minutes(left))


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:.0f} min" if seconds >= 90 else f"{seconds:.0f} s"


def _phases(plan: Plan, receiver: BenchReceiver, results: dict, echo, progress: PhaseProgress) -> None:
    # Pass 1 measures every stack's maximum; pass 2 measures latency at one rate derived from all
    # untraced maxima, so the rate (and with it the p99 figures) does not hang on a single run.
    # In both passes the untraced and the traced stack of a pair are up side by side and take turns
    # in short slices (AB, BA, AB, …): the machine's speed drifts by a few percent over minutes, and
    # a ratio of two slices seconds apart sees far less of that drift than stacks run one after another.
    clock = time.monotonic()
    entries: dict[tuple[int, bool], dict] = {}
    echo("pass 1 of 2: maximum throughput, closed loop")
    for pair in range(1, plan.pairs + 1):
        echo(f"pair {pair}/{plan.pairs}: untraced and traced stacks, side by side")
        progress.phase(f"pass 1, pair {pair}/{plan.pairs}: starting two stacks")
        with _pair(plan, receiver, echo) as stacks:
            progress.phase(f"pass 1, pair {pair}/{plan.pairs}: throughput")
            for traced, (stack, startup) in stacks.items():
                entry = entries[pair, traced] = {"pair": pair, "tracing": traced,
                                                  "backend": "capture receiver" if traced else None,
                                                  "startup_s": startup, "memory_idle": stack.memory()}
                results["runs"].append(entry)
                _warm_up(plan, stack)
            for traced in _abba(plan.rounds):
                entry = entries[pair, traced]
                entry.setdefault("throughput_slices", []).append(
                    _throughput_slice(plan, stacks[traced][0], time.monotonic() - clock))
            for traced, (stack, _) in stacks.items():
                entry = entries[pair, traced]
                entry["memory_loaded"] = stack.memory()
                _combine_throughput(entry)
                echo(f"  {'traced' if traced else 'untraced'} throughput: "
                     f"{[x['ok_per_s'] for x in entry['throughput_slices']]} req/s (200 OK)")

    rate, origin = _latency_rate(plan, entries)
    results["latency_rate"] = {"req_s": rate, "from": origin}
    echo(f"pass 2 of 2: latency, open loop at {rate:g} req/s ({origin})")
    traced_max = statistics.median(e["throughput"]["ok_per_s"] for (_, traced), e in entries.items() if traced)
    for pair in range(1, plan.pairs + 1):
        echo(f"pair {pair}/{plan.pairs}: untraced and traced stacks, side by side")
        progress.phase(f"pass 2, pair {pair}/{plan.pairs}: starting two stacks")
        with _pair(plan, receiver, echo) as stacks:
            progress.phase(f"pass 2, pair {pair}/{plan.pairs}: latency")
            for traced, (stack, startup) in stacks.items():
                entries[pair, traced]["startup_latency_pass_s"] = startup
                _warm_up(plan, stack)
            for traced in _abba(plan.rounds):
                latency = load.run_oha(stacks[traced][0].ports["catalog"], duration_s=plan.latency_s,
                                       connections=plan.latency_connections, rate=rate)
                latency["at_s"] = round(time.monotonic() - clock, 1)
                entries[pair, traced].setdefault("latency_slices", []).append(latency)
            for traced in stacks:
                entry = entries[pair, traced]
                entry["latency"] = {"latency_ms": {p: round(statistics.median(x["latency_ms"][p]
                                                                               for x in entry["latency_slices"]), 3)
                                                   for p in ("p50", "p90", "p99")}}
                echo(f"  {'traced' if traced else 'untraced'} latency at {rate:g} req/s: "
                     f"{entry['latency']['latency_ms']}")
            if pair == plan.pairs:
                stack, entry = stacks[True][0], entries[pair, True]
                sustained_rate = rate if plan.rate else min(rate, max(1.0, round(0.8 * traced_max)))
                progress.phase("sustained load: trace completeness")
                entry["sustained"] = _sustained(plan, stack, receiver, sustained_rate, echo)
                entry["memory_sustained_end"] = entry["sustained"].pop("memory_end")
                progress.phase("load, then `polytrace down` at once")
                entry["shutdown"] = _shutdown_after_load(plan, stack, receiver, sustained_rate,
                                                         entry["sustained"].pop("census"), echo)

    if plan.viewer_stack:
        echo("traced stack with the bundled viewer (Zipkin + OTLP bridge)")
        entry = {"pair": 0, "tracing": True, "backend": "viewer"}
        results["runs"].append(entry)
        progress.phase("viewer stack: starting")
        with _running(plan, receiver, True, echo, viewer=True) as (stack, startup):
            progress.phase("viewer stack: throughput and latency")
            entry["startup_s"] = startup
            entry["memory_idle"] = stack.memory()
            _warm_up(plan, stack)
            entry["throughput_slices"] = [_throughput_slice(plan, stack, time.monotonic() - clock)
                                          for _ in range(plan.rounds)]
            entry["memory_loaded"] = stack.memory()
            _combine_throughput(entry)
            entry["latency"] = load.run_oha(stack.ports["catalog"], duration_s=plan.latency_s,
                                            connections=plan.latency_connections, rate=rate)
            echo(f"  throughput {entry['throughput']['ok_per_s']} req/s; latency at {rate:g} req/s: "
                 f"{entry['latency']['latency_ms']}")


def _warm_up(plan: Plan, stack: BenchStack) -> None:
    """Untimed load after `up`: the JVM compiles, the pools fill."""
    load.run_oha(stack.ports["catalog"], duration_s=plan.warmup_s, connections=plan.concurrency)


def _abba(rounds: int) -> list[bool]:
    """Which stack takes each slice (False: untraced): AB, BA, AB, …, so a linear drift falls on both."""
    order = []
    for r in range(rounds):
        order += [False, True] if r % 2 == 0 else [True, False]
    return order


def _latency_rate(plan: Plan, entries: dict[tuple[int, bool], dict]) -> tuple[float, str]:
    if plan.rate:
        return plan.rate, "--rate"
    untraced = [x["ok_per_s"] for (_, traced), e in entries.items() if not traced for x in e["throughput_slices"]]
    return (max(1.0, round(statistics.median(untraced) / 2)),
            f"half the median untraced maximum of {len(untraced)} slices")


@contextmanager
def _pair(plan: Plan, receiver: BenchReceiver, echo):
    """An untraced and a traced stack, up one after the other (each startup timed alone), then both running."""
    with _running(plan, receiver, False, echo) as untraced, _running(plan, receiver, True, echo) as traced:
        yield {False: untraced, True: traced}


@contextmanager
def _running(plan: Plan, receiver: BenchReceiver, traced: bool, echo, *, viewer: bool = False):
    """A fresh stack, up and answering (traced: its first golden trace complete); down afterwards."""
    stack = BenchStack.for_plan(plan, tracing=traced,
                                otlp_endpoint=receiver.endpoint if traced and not viewer else None, echo=echo)
    stack.prepare()
    receiver.clear()
    receiver.decoding = True
    startup = stack.up()
    def since_up() -> float:
        return round(time.monotonic() - stack.reporter.started, 2)

    try:
        trace_id = load.first_response(stack.ports["catalog"])
        if not traced or viewer:
            startup["first response"] = since_up()
        if traced:
            if trace_id is None:
                raise PolytraceError("the traced stack answered without a traceresponse header")
            if viewer:  # what a user of `make run` waits for: the trace on Zipkin's page
                wait_in_viewer(stack.ports["viewer"], trace_id)
            else:
                wait_complete(receiver, stack.ports, trace_id)
            startup["first complete trace"] = since_up()
        echo(f"  startup: {startup}")
        receiver.decoding = False
        yield stack, startup
    finally:
        receiver.decoding = True
        stack.down()


def _throughput_slice(plan: Plan, stack: BenchStack, at_s: float) -> dict:
    """One closed-loop slice at plan.concurrency: requests/s and the CPU each component spent per request."""
    cpu_before = stack.cpu_seconds()
    result = load.run_oha(stack.ports["catalog"], duration_s=plan.throughput_s, connections=plan.concurrency)
    result["cpu_ms_per_request"] = _cpu_per_request(cpu_before, stack.cpu_seconds(), result["requests"])
    result["at_s"] = round(at_s, 1)
    return result


def _combine_throughput(entry: dict) -> None:
    """The stack's figures: medians over its slices (the ratios in the summary are taken slice by slice)."""
    slices = entry["throughput_slices"]
    entry["throughput"] = {"ok_per_s": statistics.median(x["ok_per_s"] for x in slices), "slices": len(slices)}
    names = {name for x in slices for name in x["cpu_ms_per_request"]}
    entry["cpu_ms_per_request"] = {
        name: round(statistics.median(x["cpu_ms_per_request"][name] for x in slices
                                      if name in x["cpu_ms_per_request"]), 3) for name in sorted(names)}


def _cpu_per_request(before: dict[str, float], after: dict[str, float], requests: int) -> dict[str, float]:
    """CPU milliseconds each component spent per request of the throughput phase ("machine busy": all of it)."""
    if not requests:
        return {}
    per = {name: round(1000 * (after[name] - before[name]) / requests, 3) for name in after if name in before}
    per["stack total"] = round(sum(v for k, v in per.items() if k != "machine busy"), 3)
    return per


def _sustained(plan: Plan, stack: BenchStack, receiver: BenchReceiver, rate: float, echo) -> dict:
    """A fixed rate for plan.sustained_s, every response's trace followed until complete."""
    echo(f"  sustained: {rate:g} req/s for {plan.sustained_s:g} s, every trace followed")
    receiver.clear()
    receiver.decoding = True
    stack.mark_logs()
    watcher = Completeness(receiver, stack.ports).start()
    generator = load.SustainedLoad(stack.ports["catalog"], rate, plan.sustained_s, plan.sustained_workers)
    memory_end: dict = {}

    def on_response(sent: load.Sent) -> None:
        if sent.trace_id and sent.status == 200:
            watcher.responded(sent.trace_id, sent.answered)

    sampler_done = time.monotonic() + plan.sustained_s - min(2.0, plan.sustained_s / 4)

    def sample_memory() -> None:
        while time.monotonic() < sampler_done:
            time.sleep(0.2)
        memory_end.update(stack.memory())

    sampler = threading.Thread(target=sample_memory, daemon=True)
    sampler.start()
    sent = generator.run(on_response)
    sampler.join(timeout=30)
    watcher.wait_drained(plan.trace_grace_s)
    watcher.stop()

    ok = [s for s in sent if s.status == 200 and s.trace_id]
    ids = [s.trace_id for s in ok]
    complete = [t for t in ids if t in watcher.completed]
    delays = sorted(watcher.completed[t] - watcher.answered[t] for t in complete)
    latencies = sorted((s.answered - s.scheduled) * 1000 for s in ok)

    expected = _expected_census(receiver, complete)
    dropped = _missing_spans(receiver, ids, expected)
    missing_roles: Counter = Counter()
    for trace_id in ids:
        if trace_id not in watcher.completed:
            for problem in watcher.missing(trace_id):
                missing_roles[problem.split(":")[0]] += 1
    result = {
        "target_rate": rate,
        "achieved_rate": generator.achieved_rate,
        "duration_s": plan.sustained_s,
        "requests": len(sent),
        "ok_with_trace_id": len(ok),
        "not_ok": dict(Counter(str(s.status or s.error) for s in sent if not (s.status == 200 and s.trace_id))),
        "late_starts": generator.late,
        "complete_traces": len(complete),
        "complete_share": round(len(complete) / len(ok), 5) if ok else None,
        "expected_spans_per_trace": sum(expected.values()),
        "expected_span_census": [{"service": k[0], "kind": k[1], "name": k[2], "count": v}
                                 for k, v in sorted(expected.items())],
        "spans_dropped": sum(dropped.values()),
        "spans_dropped_by_span": _by_span(dropped),
        "incomplete_by_missing_part": dict(missing_roles.most_common()),
        "sdk_drop_messages": {name: {"count": len(lines), "first": lines[:3]}
                              for name, lines in stack.drop_messages().items()},
        "receiver_rejected": len(receiver.rejected),
        "trace_delay_s": _percentiles(delays, scale=1.0),
        "latency_ms": _percentiles(latencies, scale=1.0),
        "memory_end": memory_end,
        "census": expected,
    }
    echo(f"  completeness: {result['complete_traces']}/{result['ok_with_trace_id']} complete, "
         f"{result['spans_dropped']} spans dropped, delay p99 {result['trace_delay_s'].get('p99')} s")
    return result


def _shutdown_after_load(plan: Plan, stack: BenchStack, receiver: BenchReceiver, rate: float,
                         expected: Counter, echo) -> dict:
    """Load, then `polytrace down` at once: every span of every answered request must still arrive.

    Whatever the batch processors hold at that moment is only exported if each SDK flushes on
    SIGTERM; the receiver (in this process) outlives the stack.
    """
    echo(f"  shutdown: {rate:g} req/s for {plan.shutdown_load_s:g} s, then `polytrace down` at once")
    receiver.clear()
    receiver.decoding = True
    stack.mark_logs()
    sent = load.SustainedLoad(stack.ports["catalog"], rate, plan.shutdown_load_s, plan.sustained_workers).run()
    started = time.monotonic()
    stack.down()
    down_s = round(time.monotonic() - started, 2)
    wait_quiet(receiver)
    drops = stack.drop_messages()
    ids = [s.trace_id for s in sent if s.status == 200 and s.trace_id]
    lost = _missing_spans(receiver, ids, expected)
    result = {
        "load_s": plan.shutdown_load_s,
        "rate": rate,
        "ok_with_trace_id": len(ids),
        "down_s": down_s,
        "expected_spans": sum(expected.values()) * len(ids),
        "spans_lost": sum(lost.values()),
        "spans_lost_by_span": _by_span(lost),
        "sdk_drop_messages": {name: {"count": len(lines), "first": lines[:3]} for name, lines in drops.items()},
    }
    echo(f"  shutdown: `down` took {down_s} s; {result['spans_lost']} of {result['expected_spans']} spans lost")
    return result


def wait_quiet(receiver: BenchReceiver, quiet_s: float = 1.0, timeout_s: float = 10.0) -> None:
    """Until no span has arrived for quiet_s: exports accepted just before the stack stopped are stored."""
    deadline = time.monotonic() + timeout_s
    seen = -1
    while time.monotonic() < deadline:
        count = len(receiver.spans())
        if count == seen:
            return
        seen = count
        time.sleep(quiet_s)


def _missing_spans(receiver: BenchReceiver, trace_ids: list[str], expected: Counter) -> Counter:
    """For each trace id, the expected (service, kind, name) census minus the spans that arrived."""
    missing: Counter = Counter()
    for trace_id in trace_ids:
        have = Counter((s.service, s.kind, s.name) for s in receiver.trace(trace_id))
        for key, count in expected.items():
            if have[key] < count:
                missing[key] += count - have[key]
    return missing


def _by_span(counts: Counter) -> list[dict]:
    return [{"service": k[0], "kind": k[1], "name": k[2], "count": v} for k, v in counts.most_common()]


def _expected_census(receiver, complete: list[str]) -> Counter:
    """The spans a complete trace holds, as the most common census of the complete traces."""
    shapes = Counter(frozenset(span_census(receiver, [t]).items()) for t in complete)
    if not shapes:
        return Counter()
    return Counter(dict(shapes.most_common(1)[0][0]))


def _percentiles(values: list[float], scale: float) -> dict:
    if not values:
        return {}
    def at(q: float) -> float:
        return round(values[min(len(values) - 1, int(q * len(values)))] * scale, 3)
    return {"p50": at(0.50), "p90": at(0.90), "p99": at(0.99), "max": round(values[-1] * scale, 3),
            "mean": round(statistics.fmean(values) * scale, 3)}


DEFAULT_OUT = ROOT / "bench" / "results"
