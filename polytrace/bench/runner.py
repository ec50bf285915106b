"""The phases of one run, in order: A/B pairs, sustained completeness, the viewer stack; then the report."""

from __future__ import annotations

import datetime as dt
import os
import platform
import statistics
import threading
import time
from collections import Counter
from collections.abc import Mapping
from contextlib import contextmanager
from pathlib import Path

import psutil
from rich.console import Console

from polytrace.bench import load, report, tree
from polytrace.bench.plan import Plan
from polytrace.bench.receiver import BenchReceiver
from polytrace.bench.results import (
    DropMessages,
    LatencyRate,
    Medians,
    Memory,
    Results,
    Run,
    Shutdown,
    Slice,
    SpanCount,
    StackThroughput,
    Sustained,
    Tools,
)
from polytrace.bench.spancost import report as span_cost
from polytrace.bench.stack import BenchStack
from polytrace.bench.traces import Completeness, span_census, wait_complete, wait_in_viewer
from polytrace.config import ROOT, portable
from polytrace.errors import PolytraceError
from polytrace.progress import Phase, PhaseProgress

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
    results = Results(started_at=started.isoformat(timespec="seconds"), mode="quick" if plan.quick else "full",
                      machine=machine(), tree=tree.describe(), plan=plan,
                      tools=Tools(load_generator=load.oha_version(), oha_path=portable(load.oha_binary())),
                      note=note)
    if results.machine["cpu_busy_before_pct"] > BUSY_WARNING_PCT:
        echo(f"warning: the machine is {results.machine['cpu_busy_before_pct']:.0f}% busy before the run; "
             "the figures will be noisy (stop other work, or say what ran with --note)")
    receiver = BenchReceiver(plan.capture_port).start()
    try:
        with PhaseProgress(planned_phases(plan), console) as progress:
            _phases(plan, receiver, results, echo, progress)
        if not plan.quick:  # the quick bench stays a ~1.5 min harness check; tests/test_spancost.py has its own
            results.span_cost = span_cost.run(quick=False, echo=echo)
    except Exception as exc:  # the report of what was measured is still written
        results.error = f"{type(exc).__name__}: {exc}"
        echo(f"stopped early: {results.error}")
    finally:
        receiver.stop()
    results.finished_at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    results.machine["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    results.summary = report.summarize(results)
    report.write(results, out)
    if results.error:
        raise PolytraceError(f"bench stopped early ({results.error}); partial results in {out}")
    return out


STARTUP_GUESS_S = 30.0  # one stack's `up` plus its first complete trace, until a startup is measured
SLICE_OVERHEAD_S = 1.5  # oha's start and the CPU readings around a slice


def planned_phases(plan: Plan) -> list[Phase]:
    """Every phase _phases goes through, in order: (name, expected seconds, how many stacks it starts)."""
    phases = []
    for number, slice_s in ((1, plan.throughput_s), (2, plan.latency_s)):
        for pair in range(1, plan.pairs + 1):
            phases.append((f"pass {number}, pair {pair}/{plan.pairs}: starting two stacks", 2 * STARTUP_GUESS_S, 2))
            phases.append((f"pass {number}, pair {pair}/{plan.pairs}: {'throughput' if number == 1 else 'latency'}",
                           2 * plan.warmup_s + 2 * plan.rounds * (slice_s + SLICE_OVERHEAD_S), 0))
    phases.append(("sustained load: trace completeness", plan.sustained_s + plan.trace_grace_s / 3, 0))
    phases.append(("load, then `polytrace down` at once", plan.shutdown_load_s + 10, 0))
    if plan.viewer_stack:
        phases.append(("viewer stack: starting", STARTUP_GUESS_S, 1))
        phases.append(("viewer stack: throughput and latency",
                       plan.warmup_s + plan.rounds * (plan.throughput_s + SLICE_OVERHEAD_S) + plan.latency_s, 0))
    return phases


def _phases(plan: Plan, receiver: BenchReceiver, results: Results, echo, progress: PhaseProgress) -> None:
    # Pass 1 measures every stack's maximum; pass 2 measures latency at one rate derived from all
    # untraced maxima, so the rate (and with it the p99 figures) does not hang on a single run.
    # In both passes the untraced and the traced stack of a pair are up side by side and take turns
    # in short slices (AB, BA, AB, …): the machine's speed drifts by a few percent over minutes, and
    # a ratio of two slices seconds apart sees far less of that drift than stacks run one after another.
    clock = time.monotonic()
    entries: dict[tuple[int, bool], Run] = {}
    echo("pass 1 of 2: maximum throughput, closed loop")
    for pair in range(1, plan.pairs + 1):
        echo(f"pair {pair}/{plan.pairs}: untraced and traced stacks, side by side")
        progress.phase(f"pass 1, pair {pair}/{plan.pairs}: starting two stacks")
        with _pair(plan, receiver, echo) as stacks:
            progress.phase(f"pass 1, pair {pair}/{plan.pairs}: throughput")
            for traced, (stack, startup) in stacks.items():
                entry = entries[pair, traced] = Run(pair=pair, tracing=traced,
                                                    backend="capture receiver" if traced else None,
                                                    startup_s=startup, memory_idle=stack.memory())
                results.runs.append(entry)
                warm_up(plan, stack)
            for traced in _abba(plan.rounds):
                entries[pair, traced].throughput_slices.append(
                    throughput_slice(plan, stacks[traced][0], time.monotonic() - clock))
            for traced, (stack, _) in stacks.items():
                entry = entries[pair, traced]
                entry.memory_loaded = stack.memory()
                _combine_throughput(entry)
                echo(f"  {'traced' if traced else 'untraced'} throughput: "
                     f"{[x.ok_per_s for x in entry.throughput_slices]} req/s (200 OK)")

    rate, origin = _latency_rate(plan, entries)
    results.latency_rate = LatencyRate(req_s=rate, origin=origin)
    echo(f"pass 2 of 2: latency, open loop at {rate:g} req/s ({origin})")
    traced_max = statistics.median(e.throughput.ok_per_s for (_, traced), e in entries.items() if traced)
    for pair in range(1, plan.pairs + 1):
        echo(f"pair {pair}/{plan.pairs}: untraced and traced stacks, side by side")
        progress.phase(f"pass 2, pair {pair}/{plan.pairs}: starting two stacks")
        with _pair(plan, receiver, echo) as stacks:
            progress.phase(f"pass 2, pair {pair}/{plan.pairs}: latency")
            for traced, (stack, startup) in stacks.items():
                entries[pair, traced].startup_latency_pass_s = startup
                warm_up(plan, stack)
            for traced in _abba(plan.rounds):
                latency = load.run_oha(stacks[traced][0].ports["catalog"], duration_s=plan.latency_s,
                                       connections=plan.latency_connections, rate=rate)
                latency.at_s = round(time.monotonic() - clock, 1)
                entries[pair, traced].latency_slices.append(latency)
            for traced in stacks:
                entry = entries[pair, traced]
                entry.latency = Medians(latency_ms={
                    p: round(statistics.median(x.latency_ms[p] for x in entry.latency_slices), 3)
                    for p in ("p50", "p90", "p99")})
                echo(f"  {'traced' if traced else 'untraced'} latency at {rate:g} req/s: {entry.latency.latency_ms}")
            if pair == plan.pairs:
                stack, entry = stacks[True][0], entries[pair, True]
                sustained_rate = rate if plan.rate else min(rate, max(1.0, round(0.8 * traced_max)))
                progress.phase("sustained load: trace completeness")
                entry.sustained, entry.memory_sustained_end, census = _sustained(
                    plan, stack, receiver, sustained_rate, echo)
                progress.phase("load, then `polytrace down` at once")
                entry.shutdown = _shutdown_after_load(plan, stack, receiver, sustained_rate, census, echo)

    if plan.viewer_stack:
        echo("traced stack with the bundled viewer (Zipkin + OTLP bridge)")
        entry = Run(pair=0, tracing=True, backend="viewer")
        results.runs.append(entry)
        progress.phase("viewer stack: starting")
        with running(plan, receiver, True, echo, viewer=True) as (stack, startup):
            progress.phase("viewer stack: throughput and latency")
            entry.startup_s = startup
            entry.memory_idle = stack.memory()
            warm_up(plan, stack)
            entry.throughput_slices = [throughput_slice(plan, stack, time.monotonic() - clock)
                                       for _ in range(plan.rounds)]
            entry.memory_loaded = stack.memory()
            _combine_throughput(entry)
            entry.latency = load.run_oha(stack.ports["catalog"], duration_s=plan.latency_s,
                                         connections=plan.latency_connections, rate=rate)
            echo(f"  throughput {entry.throughput.ok_per_s} req/s; latency at {rate:g} req/s: "
                 f"{entry.latency.latency_ms}")


def warm_up(plan: Plan, stack: BenchStack) -> None:
    """Untimed load after `up`: the JVM compiles, the pools fill."""
    load.run_oha(stack.ports["catalog"], duration_s=plan.warmup_s, connections=plan.concurrency)


def _abba(rounds: int) -> list[bool]:
    """Which stack takes each slice (False: untraced): AB, BA, AB, …, so a linear drift falls on both."""
    order = []
    for r in range(rounds):
        order += [False, True] if r % 2 == 0 else [True, False]
    return order


def _latency_rate(plan: Plan, entries: dict[tuple[int, bool], Run]) -> tuple[float, str]:
    if plan.rate:
        return plan.rate, "--rate"
    untraced = [x.ok_per_s for (_, traced), e in entries.items() if not traced for x in e.throughput_slices]
    return (max(1.0, round(statistics.median(untraced) / 2)),
            f"half the median untraced maximum of {len(untraced)} slices")


@contextmanager
def _pair(plan: Plan, receiver: BenchReceiver, echo):
    """An untraced and a traced stack, up one after the other (each startup timed alone), then both running."""
    with running(plan, receiver, False, echo) as untraced, running(plan, receiver, True, echo) as traced:
        yield {False: untraced, True: traced}


@contextmanager
def running(plan: Plan, receiver: BenchReceiver, traced: bool, echo, *, viewer: bool = False,
             slot: int | None = None, lever_env: Mapping[str, str] | None = None, complete_trace: bool = True):
    """A fresh stack, up and answering (traced: its first golden trace complete); down afterwards.

    complete_trace=False: a traced stack whose golden trace never completes (an ablation's lever that
    keeps, exports or makes no span) is up when it answers with a traceresponse header.
    """
    endpoint = receiver.endpoint if traced and not viewer else None
    stack = BenchStack.for_plan(plan, tracing=traced, otlp_endpoint=endpoint, echo=echo, slot=slot, lever_env=lever_env)
    stack.prepare()
    receiver.clear()
    receiver.decoding = True
    startup = stack.up()
    def since_up() -> float:
        return round(time.monotonic() - stack.reporter.started, 2)

    try:
        first = load.first_response(stack.ports["catalog"], sampled=complete_trace)
        trace_id = first.trace_id
        if not traced or viewer or not complete_trace:
            startup["first response"] = round(first.answered - stack.reporter.started, 2)
        if traced:
            if trace_id is None:
                raise PolytraceError("the traced stack answered without a traceresponse header")
            if first.answers > 1:  # head sampling: the first trace to wait for is the first sampled one
                echo(f"  first sampled trace: answer {first.answers} of GET /products/1")
            if viewer:  # what a user of `make run` waits for: the trace on Zipkin's page
                wait_in_viewer(stack.ports["viewer"], trace_id)
            elif complete_trace:
                wait_complete(receiver, stack.ports, trace_id)
            if viewer or complete_trace:
                startup["first complete trace"] = since_up()
        echo(f"  startup: {startup}")
        receiver.decoding = False
        yield stack, startup
    finally:
        receiver.decoding = True
        stack.down()


def throughput_slice(plan: Plan, stack: BenchStack, at_s: float) -> Slice:
    """One closed-loop slice at plan.concurrency: requests/s and the CPU each component spent per request."""
    cpu_before = stack.cpu_seconds()
    result = load.run_oha(stack.ports["catalog"], duration_s=plan.throughput_s, connections=plan.concurrency)
    result.cpu_ms_per_request = _cpu_per_request(cpu_before, stack.cpu_seconds(), result.requests)
    if not result.requests:  # no answer at all: keep what the JVMs were doing, before the stack goes down
        result.thread_dumps = [portable(path) for path in stack.dump_threads(f"{at_s:.0f}s")]
    result.at_s = round(at_s, 1)
    return result


def _combine_throughput(entry: Run) -> None:
    """The stack's figures: medians over its slices (the ratios in the summary are taken slice by slice)."""
    slices = entry.throughput_slices
    entry.throughput = StackThroughput(ok_per_s=statistics.median(x.ok_per_s for x in slices), slices=len(slices))
    names = {name for x in slices for name in x.cpu_ms_per_request}
    entry.cpu_ms_per_request = {
        name: round(statistics.median(x.cpu_ms_per_request[name] for x in slices
                                      if name in x.cpu_ms_per_request), 3) for name in sorted(names)}


def _cpu_per_request(before: dict[str, float], after: dict[str, float], requests: int) -> dict[str, float]:
    """CPU milliseconds each component spent per request of the throughput phase ("machine busy": all of it)."""
    if not requests:
        return {}
    per = {name: round(1000 * (after[name] - before[name]) / requests, 3) for name in after if name in before}
    per["stack total"] = round(sum(v for k, v in per.items() if k != "machine busy"), 3)
    return per


def _sustained(plan: Plan, stack: BenchStack, receiver: BenchReceiver, rate: float,
               echo) -> tuple[Sustained, Memory, Counter]:
    """A fixed rate for plan.sustained_s, every response's trace followed until complete.

    Also the memory near the phase's end, and the spans a complete trace holds (for the shutdown phase).
    """
    echo(f"  sustained: {rate:g} req/s for {plan.sustained_s:g} s, every trace followed")
    receiver.clear()
    receiver.decoding = True
    stack.mark_logs()
    watcher = Completeness(receiver, stack.ports).start()
    generator = load.SustainedLoad(stack.ports["catalog"], rate, plan.sustained_s, plan.sustained_workers)
    memory_end: dict = {}

    def on_response(sent: load.Sent) -> None:
        if sent.trace_id and sent.status == 200 and sent.sampled:  # an unsampled trace is never exported
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

    answers = load.answers(sent)
    ids = [s.trace_id for s in answers.sampled]  # with head sampling, only these traces can arrive
    complete = [t for t in ids if t in watcher.completed]
    delays = sorted(watcher.completed[t] - watcher.answered[t] for t in complete)
    latencies = sorted((s.answered - s.scheduled) * 1000 for s in answers.ok)

    expected = _expected_census(receiver, complete)
    dropped = _missing_spans(receiver, ids, expected)
    missing_roles: Counter = Counter()
    for trace_id in ids:
        if trace_id not in watcher.completed:
            for problem in watcher.missing(trace_id):
                missing_roles[problem.split(":")[0]] += 1
    result = Sustained(
        target_rate=rate,
        achieved_rate=generator.achieved_rate,
        duration_s=plan.sustained_s,
        requests=len(sent),
        ok_with_trace_id=len(answers.ok),
        sampled=len(ids),
        not_ok=answers.not_ok,
        late_starts=generator.late,
        complete_traces=len(complete),
        complete_share=round(len(complete) / len(ids), 5) if ids else None,
        expected_spans_per_trace=sum(expected.values()),
        expected_span_census=_span_counts(sorted(expected.items())),
        spans_dropped=sum(dropped.values()),
        spans_dropped_by_span=_span_counts(dropped.most_common()),
        incomplete_by_missing_part=dict(missing_roles.most_common()),
        sdk_drop_messages=_drop_messages(stack.drop_messages()),
        receiver_rejected=len(receiver.rejected),
        trace_delay_s=_percentiles(delays, scale=1.0),
        latency_ms=_percentiles(latencies, scale=1.0),
    )
    unsampled = f" (and {result.unsampled} answers not sampled)" if result.unsampled else ""
    echo(f"  completeness: {result.complete_traces}/{result.sampled} complete{unsampled}, "
         f"{result.spans_dropped} spans dropped, delay p99 {result.trace_delay_s.get('p99')} s")
    return result, memory_end, expected


def _shutdown_after_load(plan: Plan, stack: BenchStack, receiver: BenchReceiver, rate: float,
                         expected: Counter, echo) -> Shutdown:
    """Load, then `polytrace down` at once: every span of every answered, sampled request must still arrive.

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
    drops = _drop_messages(stack.drop_messages())
    answers = load.answers(sent)
    ids = [s.trace_id for s in answers.sampled]
    lost = _missing_spans(receiver, ids, expected)
    result = Shutdown(
        load_s=plan.shutdown_load_s,
        rate=rate,
        ok_with_trace_id=len(answers.ok),
        sampled=len(ids),
        down_s=down_s,
        expected_spans=sum(expected.values()) * len(ids),
        spans_lost=sum(lost.values()),
        spans_lost_by_span=_span_counts(lost.most_common()),
        sdk_drop_messages=drops,
    )
    echo(f"  shutdown: `down` took {down_s} s; {result.spans_lost} of {result.expected_spans} spans lost")
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


def _span_counts(counts: list[tuple[tuple[str, str, str], int]]) -> list[SpanCount]:
    return [SpanCount(service=service, kind=kind, name=name, count=count)
            for (service, kind, name), count in counts]


def _drop_messages(found: dict[str, list[str]]) -> dict[str, DropMessages]:
    return {name: DropMessages(count=len(lines), first=lines[:3]) for name, lines in found.items()}


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
