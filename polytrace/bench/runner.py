"""The phases of one run, in order: A/B pairs, sustained completeness, the viewer stack; then the report."""

from __future__ import annotations

import datetime as dt
import os
import platform
import statistics
import time
from collections import Counter
from pathlib import Path

import psutil

from polytrace.bench import load, report
from polytrace.bench.plan import Plan
from polytrace.bench.receiver import BenchReceiver
from polytrace.bench.stack import BenchStack
from polytrace.bench.traces import Completeness, span_census, wait_complete
from polytrace.config import ROOT
from polytrace.errors import PolytraceError

SCHEMA = "polytrace-bench/1"


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
    }


def run(plan: Plan, out_root: Path, echo, note: str | None = None) -> Path:
    started = dt.datetime.now(dt.UTC)
    out = out_root / started.strftime("%Y%m%dT%H%M%SZ")
    out.mkdir(parents=True, exist_ok=True)
    results: dict = {
        "schema": SCHEMA,
        "started_at": started.isoformat(timespec="seconds"),
        "mode": "quick" if plan.quick else "full",
        "machine": machine(),
        "plan": {k: v for k, v in plan.__dict__.items()},
        "tools": {"load_generator": load.oha_version(), "oha_path": load.oha_binary()},
        "runs": [],
        "note": note,
    }
    receiver = BenchReceiver(plan.capture_port).start()
    try:
        _phases(plan, receiver, results, echo)
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


def _phases(plan: Plan, receiver: BenchReceiver, results: dict, echo) -> None:
    rate = plan.rate
    for pair in range(1, plan.pairs + 1):
        for traced in (False, True):
            last = pair == plan.pairs and traced
            echo(f"pair {pair}/{plan.pairs}: {'traced' if traced else 'untraced'} stack")
            stack = BenchStack(plan, tracing=traced, otlp_endpoint=receiver.endpoint if traced else None, echo=echo)
            entry, measured_max = _ab_run(plan, stack, receiver, rate, pair, traced, sustained=last, echo=echo)
            if rate is None and not traced:
                rate = max(1.0, round(measured_max / 2))
                echo(f"  fixed rate for latency: {rate:g} req/s (half the untraced maximum)")
            results["runs"].append(entry)
    if plan.viewer_stack:
        echo("traced stack with the bundled viewer (Zipkin + OTLP bridge)")
        stack = BenchStack(plan, tracing=True, otlp_endpoint=None, echo=echo)
        entry, _ = _ab_run(plan, stack, receiver, rate, 0, True, sustained=False, echo=echo, viewer=True)
        results["runs"].append(entry)


def _ab_run(plan: Plan, stack: BenchStack, receiver: BenchReceiver, rate: float | None, pair: int,
            traced: bool, *, sustained: bool, echo, viewer: bool = False) -> tuple[dict, float]:
    port = stack.ports["catalog"]
    entry: dict = {"pair": pair, "tracing": traced, "backend": "viewer" if viewer else
                   ("capture receiver" if traced else None)}
    stack.prepare()
    receiver.clear()
    receiver.decoding = True
    startup = stack.up()
    try:
        trace_id = load.first_response(port)
        if traced and not viewer:
            if trace_id is None:
                raise PolytraceError("the traced stack answered without a traceresponse header")
            wait_complete(receiver, stack.ports, trace_id)
        startup["first response" if not traced or viewer else "first complete trace"] = round(
            time.monotonic() - stack.reporter.started, 2)
        entry["startup_s"] = startup
        echo(f"  startup: {startup}")
        entry["memory_idle"] = stack.memory()
        receiver.decoding = False
        load.run_oha(port, duration_s=plan.warmup_s, connections=plan.concurrency)
        cpu_before = stack.cpu_seconds()
        throughput = load.run_oha(port, duration_s=plan.throughput_s, connections=plan.concurrency)
        entry["throughput"] = throughput
        entry["cpu_ms_per_request"] = _cpu_per_request(cpu_before, stack.cpu_seconds(), throughput["requests"])
        echo(f"  throughput: {throughput['ok_per_s']} req/s (200 OK) at {plan.concurrency} connections")
        fixed = rate if rate is not None else max(1.0, round(throughput["ok_per_s"] / 2))
        latency = load.run_oha(port, duration_s=plan.latency_s, connections=plan.latency_connections, rate=fixed)
        entry["latency"] = latency
        echo(f"  latency at {fixed:g} req/s: {latency['latency_ms']}")
        entry["memory_loaded"] = stack.memory()
        if sustained:
            entry["sustained"] = _sustained(plan, stack, receiver, fixed, throughput["ok_per_s"], echo)
            entry["memory_sustained_end"] = entry["sustained"].pop("memory_end")
    finally:
        receiver.decoding = True
        stack.down()
    return entry, throughput["ok_per_s"]


def _cpu_per_request(before: dict[str, float], after: dict[str, float], requests: int) -> dict[str, float]:
    """CPU milliseconds each component spent per request of the throughput phase ("machine busy": all of it)."""
    if not requests:
        return {}
    per = {name: round(1000 * (after[name] - before[name]) / requests, 3) for name in after if name in before}
    per["stack total"] = round(sum(v for k, v in per.items() if k != "machine busy"), 3)
    return per


def _sustained(plan: Plan, stack: BenchStack, receiver: BenchReceiver, rate: float, traced_max: float,
               echo) -> dict:
    """A fixed rate for plan.sustained_s, every response's trace followed until complete."""
    if plan.rate is None:  # a rate given on the command line is kept, even past saturation
        rate = min(rate, max(1.0, round(0.8 * traced_max)))
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
    import threading

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
    dropped: Counter = Counter()
    missing_roles: Counter = Counter()
    for trace_id in ids:
        have = Counter((s.service, s.kind, s.name) for s in receiver.trace(trace_id))
        for key, count in expected.items():
            if have[key] < count:
                dropped[key] += count - have[key]
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
        "spans_dropped_by_span": [{"service": k[0], "kind": k[1], "name": k[2], "count": v}
                                  for k, v in dropped.most_common()],
        "incomplete_by_missing_part": dict(missing_roles.most_common()),
        "sdk_drop_messages": {name: {"count": len(lines), "first": lines[:3]}
                              for name, lines in stack.drop_messages().items()},
        "receiver_rejected": len(receiver.rejected),
        "trace_delay_s": _percentiles(delays, scale=1.0),
        "latency_ms": _percentiles(latencies, scale=1.0),
        "memory_end": memory_end,
    }
    echo(f"  completeness: {result['complete_traces']}/{result['ok_with_trace_id']} complete, "
         f"{result['spans_dropped']} spans dropped, delay p99 {result['trace_delay_s'].get('p99')} s")
    return result


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
