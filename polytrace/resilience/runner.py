"""One resilience run: a traced stack on its own ports, then each scenario under the same open-loop load."""

from __future__ import annotations

import datetime as dt
import multiprocessing
import os
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from rich.console import Console

from polytrace import flags
from polytrace.bench import tree
from polytrace.bench.load import first_response
from polytrace.bench.runner import STARTUP_GUESS_S, machine, wait_quiet
from polytrace.bench.stack import BenchStack, stack_settings
from polytrace.bench.traces import wait_complete
from polytrace.config import ROOT
from polytrace.errors import PolytraceError
from polytrace.progress import Phase, PhaseProgress
from polytrace.resilience import load, measure, report
from polytrace.resilience.faults import Fault, fault_for
from polytrace.resilience.load import COMPLETE
from polytrace.resilience.pageviews import PageViewTable
from polytrace.resilience.plan import Plan, Scenario
from polytrace.resilience.receiver import PausableReceiver
from polytrace.secrets import load_or_create
from polytrace.wait import poll_until

SCHEMA = "polytrace-resilience/1"
DEFAULT_OUT = ROOT / "resilience" / "results"
LOAD_START_S = 2.0  # the load's process is spawned meanwhile: its first request is due this much later
# Settling page views and the last spans after a scenario's load: 4-7 s each in the full run of 2026-12-02.
COUNTING_GUESS_S = 5.0
STARTING, WARMUP = "starting the stack", "warm-up"


@dataclass
class RunResult:
    schema: str
    started_at: str
    mode: str
    machine: dict
    tree: dict
    rate_req_s: float
    rate_from: str
    load_client: str
    phases_s: dict[str, float]
    ports: dict[str, int]
    note: str | None = None
    startup_s: dict[str, float] = field(default_factory=dict)
    scenarios: list[measure.ScenarioResult] = field(default_factory=list)
    finished_at: str | None = None
    error: str | None = None


def run(plan: Plan, out_root: Path, echo, note: str | None = None, console: Console | None = None) -> Path:
    started = dt.datetime.now(dt.UTC)
    out = out_root / started.strftime("%Y%m%dT%H%M%SZ")
    out.mkdir(parents=True, exist_ok=True)
    result = RunResult(
        schema=SCHEMA, started_at=started.isoformat(timespec="seconds"), mode="quick" if plan.quick else "full",
        machine=machine(), tree=tree.describe(), rate_req_s=plan.rate, rate_from=plan.rate_from,
        load_client=load.client_version(), ports=plan.ports(), note=note,
        phases_s={"warmup": plan.warmup_s, "baseline": plan.baseline_s, "recovery": plan.recovery_s,
                  "settle_max": plan.settle_s, "request_timeout": plan.request_timeout_s},
    )
    echo(f"resilience: {len(plan.scenarios)} scenario(s) at {plan.rate:g} req/s open loop ({plan.rate_from}); "
         f"machine {result.machine['cpu_busy_before_pct']:.0f}% busy before the run")
    receiver = PausableReceiver(plan.capture_port).start()
    stack = BenchStack(stack_settings(plan.run_dir, plan.ports(), tracing=True, otlp_endpoint=receiver.endpoint),
                       echo=echo)
    try:
        with PhaseProgress(planned_phases(plan), console) as progress:
            _run_scenarios(plan, stack, receiver, result, echo, progress)
    except Exception as exc:  # what was measured is still written
        result.error = f"{type(exc).__name__}: {exc}"
        echo(f"stopped early: {result.error}")
    finally:
        stack.down()
        receiver.stop()
    result.finished_at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    result.machine["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    report.write(result, out)
    if result.error:
        raise PolytraceError(f"resilience run stopped early ({result.error}); partial results in {out}")
    return out


def planned_phases(plan: Plan) -> list[Phase]:
    """Every phase _run_scenarios announces, in order: (name, expected seconds, stacks it starts)."""
    phases: list[Phase] = [(STARTING, STARTUP_GUESS_S, 1), (WARMUP, plan.warmup_s, 0)]
    for index, scenario in enumerate(plan.scenarios, 1):
        load_s = plan.baseline_s + scenario.fault_s + plan.recovery_s
        phases.append((_phase(plan, index, scenario, "under load"), LOAD_START_S + load_s + 1.0, 0))
        phases.append((_phase(plan, index, scenario, "counting what arrived"), COUNTING_GUESS_S, 0))
    return phases


def _phase(plan: Plan, index: int, scenario: Scenario, what: str) -> str:
    return f"scenario {index}/{len(plan.scenarios)} {scenario.name}: {what}"


def _run_scenarios(plan: Plan, stack: BenchStack, receiver: PausableReceiver, result: RunResult, echo,
                   progress: PhaseProgress) -> None:
    progress.phase(STARTING)
    stack.prepare()
    flags.ensure_live_copy(stack.settings)  # `polytrace up` does this too once the lead wires it in
    result.startup_s = stack.up()
    port = stack.ports["catalog"]
    trace_id = first_response(port).trace_id
    if trace_id is None:
        raise PolytraceError("the stack answered without a traceresponse header")
    wait_complete(receiver, stack.ports, trace_id)
    echo(f"  warm-up: {plan.rate:g} req/s for {plan.warmup_s:g} s")
    progress.phase(WARMUP)
    load.run(port, plan.rate, plan.warmup_s, plan.request_timeout_s)
    table = PageViewTable(stack.ports["postgres"], load_or_create(stack.settings.run_dir)["admin"])
    for index, scenario in enumerate(plan.scenarios, 1):
        echo(f"scenario {index}/{len(plan.scenarios)}: {scenario.name} — {scenario.title} for {scenario.fault_s:g} s")
        progress.phase(_phase(plan, index, scenario, "under load"))
        _back_to_normal(stack)
        outcome = _scenario(plan, stack, receiver, table, scenario,
                            counting=partial(progress.phase, _phase(plan, index, scenario, "counting what arrived")))
        result.scenarios.append(outcome)
        echo("  " + report.one_line(outcome))


def _back_to_normal(stack: BenchStack, timeout_s: float = 120.0) -> None:
    """Every flag at its default and every component running and healthy, whatever the last scenario left."""
    flags.reset(stack.settings)
    for status in stack.engine.status():
        if status.state != "RUNNING":
            stack.engine.start_component(status.name)
    poll_until(lambda: all(s.healthy for s in stack.engine.status()), "every component to be healthy", timeout_s,
               interval=0.5)


def _scenario(plan: Plan, stack: BenchStack, receiver: PausableReceiver, table: PageViewTable,
              scenario: Scenario, counting: Callable[[], None]) -> measure.ScenarioResult:
    receiver.clear()
    stack.mark_logs()
    memory_before = stack.memory()
    fault = fault_for(scenario, stack.engine, receiver)
    load_s = plan.baseline_s + scenario.fault_s + plan.recovery_s
    clock = time.monotonic() + LOAD_START_S
    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
        running = pool.submit(load.run, stack.ports["catalog"], plan.rate, load_s, plan.request_timeout_s, clock)
        marks, memory_fault_end = _fault_timeline(plan, scenario, fault, stack, clock)
        started_at, answers = running.result()
    counting()
    ok = measure.ok_answers(answers)
    # Every earlier request was answered before this load began, and catalog stamps a view before it
    # answers: a row from this scenario has a ts at or after its first due time (stamped to the millisecond).
    since = started_at - 0.001
    until = started_at + load_s + plan.request_timeout_s + 1.0
    rows, settled = table.settle(since, until, len(ok), quiet_s=min(10.0, plan.settle_s / 2), timeout_s=plan.settle_s)
    wait_quiet(receiver, quiet_s=2.0, timeout_s=30.0)  # retried exports and late consumer spans
    traces = {a.trace_id: receiver.trace(a.trace_id) for a in answers if a.trace_id}
    window = measure.Window(round(load_s, 2), round(marks["start"], 2), round(marks["end"], 2),
                            round(marks["restored"], 2))
    seconds = measure.timeline(answers, load_s)
    outcome = measure.ScenarioResult(
        name=scenario.name, title=scenario.title, kind=scenario.kind, target=scenario.target,
        fault_s=scenario.fault_s, value=scenario.value, views_promised=scenario.views_promised,
        window=window, requests=len(answers), late_sends=sum(a.late for a in answers),
        outcomes=measure.outcomes(answers),
        page_views=measure.tally_views(answers, traces, rows, settled),
        traces=measure.tally_traces(answers, traces, stack.ports, window.fault_start_s, stack.drop_messages()),
        recover_s=measure.recover_s(seconds, window.fault_end_s),
        p99_baseline_ms=measure.p99_ms(answers, 0.0, window.fault_start_s),
        p99_fault_ms=measure.p99_ms(answers, window.fault_start_s, window.fault_end_s),
        memory_before=memory_before, memory_fault_end=memory_fault_end, memory_after=stack.memory(),
        timeline=seconds,
    )
    outcome.notes = _notes(scenario, outcome, answers)
    return outcome


def _fault_timeline(plan: Plan, scenario: Scenario, fault: Fault, stack: BenchStack, clock: float
                    ) -> tuple[dict[str, float], dict]:
    """Baseline, fault, undo on the load's clock: when each happened (seconds into the load), and memory then."""
    def until(offset: float) -> None:
        time.sleep(max(0.0, clock + offset - time.monotonic()))

    marks: dict[str, float] = {}
    memory: dict = {}
    until(plan.baseline_s)
    marks["start"] = time.monotonic() - clock
    try:
        fault.inject()
        # Memory near the end of the fault: what a component holds while its exports or messages pile up.
        until(plan.baseline_s + scenario.fault_s - min(1.0, scenario.fault_s / 4))
        memory = stack.memory()
        until(plan.baseline_s + scenario.fault_s)
    finally:
        marks["end"] = time.monotonic() - clock
        fault.undo()
        marks["restored"] = time.monotonic() - clock
    return marks, memory


def _notes(scenario: Scenario, outcome: measure.ScenarioResult, answers: list[load.Answer]) -> list[str]:
    notes = []
    window = outcome.window
    during = [a for a in answers if window.fault_start_s <= a.due_s < window.restored_s]
    if scenario.answers_affected and during and all(a.outcome == COMPLETE for a in during):
        why = (f"{scenario.target} is not read by its service yet (no flag evaluation in this tree)"
               if scenario.kind == "flag" else "the fault did not reach the answers")
        notes.append(f"every answer during the fault was complete: {why}")
    views = outcome.page_views
    if scenario.views_promised and (views.lost or views.stored_twice):
        notes.append(f"the design promises 0 views lost and 0 stored twice here; measured {views.lost} lost, "
                     f"{views.stored_twice} stored twice")
    if outcome.late_sends > 0.01 * max(1, outcome.requests):
        notes.append(f"{outcome.late_sends} requests left more than {load.LATE_S * 1000:.0f} ms late: "
                     "the load generator could not hold the rate on this machine")
    if outcome.traces.sdk_drop_lines:
        notes.append("SDK export failures logged: " + ", ".join(f"{k} {v} lines"
                                                                 for k, v in outcome.traces.sdk_drop_lines.items()))
    return notes
