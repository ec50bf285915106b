"""`polytrace bench --lever NAME:VAR=VALUE,…`: what each lever changes, every variant up at once.

One untraced stack, the traced stack as the tree configures it (the baseline) and one traced stack
per lever (its variables on top) run side by side and take closed-loop throughput slices in turn.
An `--untraced-lever` is an untraced stack, compared with the untraced one: a setting that is not
tracing's own (pricing's workers) changes both, and tracing's cost with it is the difference.
Each round is the previous order reversed, and every second round the order moves on by one
(ABC CBA BCA ACB …): a drift of the machine's speed over minutes falls on every variant alike. A
lever's effect is the median over the rounds of its slice minus the baseline's slice of the same
round, per component, with the min–max: two slices seconds apart, not two runs minutes apart.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import statistics
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

from polytrace.bench import load, tree
from polytrace.bench.codec import to_json
from polytrace.bench.plan import Plan
from polytrace.bench.receiver import BenchReceiver
from polytrace.bench.results import Memory, Slice
from polytrace.bench.runner import machine, running, throughput_slice, warm_up
from polytrace.config import portable
from polytrace.errors import PolytraceError

FILE = "ablation.json"
SCHEMA = "polytrace-ablation/1"
UNTRACED, BASELINE = "untraced", "traced"
# Every stack holds ~1.4 GiB under load and its idle threads still wake; and slot 8 would put its
# gateway on slot 0's catalog port (Plan.ports: 10 ports per slot).
MAX_LEVERS = 6
# A full ablation's rounds (a full run's pairs take 4 each): each effect is a median of per-round
# differences, and the EPYC's per-round noise was ±1.5 ms.
ROUNDS = 10
_NAME = re.compile(r"[a-z0-9][a-z0-9-]*")
# Variables with which a traced stack's golden trace never completes, so it is up when it answers:
# a sampler that keeps no trace, no exporter (what the machinery costs without the spans, or
# without their export), an instrumentation switched off (what it costs in all, spans included).
NO_TRACE_SAMPLERS = frozenset({"always_off", "parentbased_always_off"})
_INSTRUMENTATION_SWITCH = re.compile(r"OTEL_INSTRUMENTATION_[A-Z0-9_]+_ENABLED")


def completes_traces(env: dict[str, str]) -> bool:
    values = {name: value.strip().lower() for name, value in env.items()}
    return (values.get("OTEL_TRACES_SAMPLER", "") not in NO_TRACE_SAMPLERS
            and values.get("OTEL_TRACES_EXPORTER", "") != "none"
            and not values.get("OTEL_PYTHON_DISABLED_INSTRUMENTATIONS")
            and not any(_INSTRUMENTATION_SWITCH.fullmatch(name) and value == "false"
                        for name, value in values.items()))


@dataclass(frozen=True)
class Lever:
    name: str
    env: dict[str, str]
    tracing: bool = True

    @classmethod
    def parse(cls, text: str, *, tracing: bool = True) -> Lever:
        """`reactor-on:OTEL_INSTRUMENTATION_REACTOR_ENABLED=true[,VAR=VALUE…]`."""
        name, sep, assignments = text.partition(":")
        if not sep or not _NAME.fullmatch(name) or name in (UNTRACED, BASELINE):
            raise PolytraceError(f"--lever {text!r}: expected NAME:VAR=VALUE[,VAR=VALUE…], NAME in lower case "
                                 f"letters, digits and dashes, not {UNTRACED!r} or {BASELINE!r}")
        env = {}
        for assignment in assignments.split(","):
            variable, equals, value = assignment.partition("=")
            if not equals or not re.fullmatch(r"[A-Z_][A-Z0-9_]*", variable.strip()):
                raise PolytraceError(f"--lever {text!r}: {assignment!r} is not VAR=VALUE")
            env[variable.strip()] = value
        return cls(name, env, tracing)

@dataclass(kw_only=True)
class Variant:
    name: str
    tracing: bool
    env: dict[str, str]  # the lever's variables (the plan's --otel ones apply to every traced stack)
    slot: int
    startup_s: dict[str, float] = field(default_factory=dict)
    services_with_env: list[str] = field(default_factory=list)  # read from their processes once up
    slices: list[Slice] = field(default_factory=list)
    memory_loaded: Memory = field(default_factory=dict)  # right after the variant's last slice


def order(stacks: int, rounds: int) -> list[list[int]]:
    """Which stack takes each slice of each round: ABC CBA BCA ACB …"""
    result = []
    for r in range(rounds):
        start = (r // 2) % stacks
        forward = [(start + i) % stacks for i in range(stacks)]
        result.append(forward if r % 2 == 0 else forward[::-1])
    return result


def run(plan: Plan, levers: list[Lever], out_root: Path, echo, note: str | None = None) -> Path:
    if not 1 <= len(levers) <= MAX_LEVERS:
        raise PolytraceError(f"an ablation compares 1 to {MAX_LEVERS} levers, not {len(levers)}")
    if len({lever.name for lever in levers}) != len(levers):
        raise PolytraceError("two levers share a name")
    started = dt.datetime.now(dt.UTC)
    out = out_root / (started.strftime("%Y%m%dT%H%M%SZ") + "-ablation")
    variants = [Variant(name=UNTRACED, tracing=False, env={}, slot=0),
                Variant(name=BASELINE, tracing=True, env={}, slot=1),
                *(Variant(name=lever.name, tracing=lever.tracing, env=dict(lever.env), slot=2 + i)
                  for i, lever in enumerate(levers))]
    ports = [port for v in variants for port in plan.ports(v.slot).values()]
    if len(set(ports)) != len(ports):
        raise PolytraceError("the variants' stacks would share a port")
    result = {"schema": SCHEMA, "started_at": started.isoformat(timespec="seconds"),
              "mode": "quick" if plan.quick else "full", "machine": machine(), "tree": tree.describe(),
              "tools": {"load_generator": load.oha_version(), "oha_path": portable(load.oha_binary())},
              "plan": {"rounds": plan.rounds, "warmup_s": plan.warmup_s, "throughput_s": plan.throughput_s,
                       "concurrency": plan.concurrency, "otel_env": dict(plan.otel_env)}, "note": note}
    receiver = BenchReceiver(plan.capture_port).start()
    clock = time.monotonic()
    try:
        with ExitStack() as up:
            stacks = []
            for variant in variants:
                echo(f"{variant.name}: starting {'with ' + _env_text(variant.env) if variant.env else 'the stack'}")
                stack, variant.startup_s = up.enter_context(running(
                    plan, receiver, variant.tracing, echo, slot=variant.slot, lever_env=variant.env,
                    complete_trace=completes_traces(variant.env)))
                if variant.env:
                    variant.services_with_env = stack.services_with(variant.env)
                    if not variant.services_with_env:  # a lever that reached nothing would measure noise
                        raise PolytraceError(f"{variant.name}: no service was started with {_env_text(variant.env)}")
                warm_up(plan, stack)
                stacks.append(stack)
            for number, turn in enumerate(order(len(variants), plan.rounds), 1):
                for index in turn:
                    variants[index].slices.append(throughput_slice(plan, stacks[index], time.monotonic() - clock))
                    if number == plan.rounds:
                        variants[index].memory_loaded = stacks[index].memory()
                echo(f"round {number}/{plan.rounds}: " + ", ".join(
                    f"{variants[i].name} {variants[i].slices[-1].ok_per_s:g} req/s" for i in turn))
    except Exception as exc:  # what was measured is still written
        result["error"] = f"{type(exc).__name__}: {exc}"
        echo(f"stopped early: {result['error']}")
    finally:
        receiver.stop()
    result["finished_at"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    result["variants"] = [to_json(v) for v in variants]
    result["summary"] = summarize(variants)
    out.mkdir(parents=True, exist_ok=True)
    (out / FILE).write_text(json.dumps(result, indent=2) + "\n")
    (out / "summary.md").write_text("\n".join(markdown(result)) + "\n")
    if "error" in result:
        raise PolytraceError(f"ablation stopped early ({result['error']}); partial results in {out}")
    return out


def _env_text(env: dict[str, str]) -> str:
    return ", ".join(f"{k}={v}" for k, v in env.items())


def _spread(values: list[float]) -> dict[str, float]:
    return {"median": round(statistics.median(values), 3), "min": round(min(values), 3),
            "max": round(max(values), 3), "rounds": len(values)}


def summarize(variants: list[Variant]) -> dict:
    """Per variant its medians; per lever (and for tracing itself) round-by-round differences."""
    measured = [v for v in variants if v.slices]
    summary: dict = {"variants": {}, "effects": {}}
    for v in measured:
        components = sorted({c for s in v.slices for c in (s.cpu_ms_per_request or {})})
        summary["variants"][v.name] = {
            "env": v.env, "tracing": v.tracing, "ok_per_s": statistics.median(s.ok_per_s for s in v.slices),
            "cpu_ms_per_request": {c: round(statistics.median((s.cpu_ms_per_request or {}).get(c, 0.0)
                                                              for s in v.slices), 3) for c in components},
            "memory_mib": v.memory_loaded.get("total", {})}
    by_name = {v.name: v for v in measured}
    pairs = [(BASELINE, UNTRACED)] + [(v.name, BASELINE if v.tracing else UNTRACED) for v in measured
                                       if v.slot >= 2]
    for name, against in pairs:
        if name not in by_name or against not in by_name:
            continue
        a, b = by_name[name], by_name[against]
        rounds = list(zip(a.slices, b.slices, strict=False))
        usable = [(x, y) for x, y in rounds if x.requests and y.requests and x.cpu_ms_per_request
                  and y.cpu_ms_per_request]
        if not usable:
            continue
        components = sorted(set(usable[0][0].cpu_ms_per_request) & set(usable[0][1].cpu_ms_per_request))
        memory_a, memory_b = a.memory_loaded.get("total", {}), b.memory_loaded.get("total", {})
        summary["effects"][name] = {
            "against": against, "env": a.env,
            "throughput_ratio": _spread([x.ok_per_s / y.ok_per_s for x, y in usable if y.ok_per_s]),
            "cpu_ms_per_request": {c: _spread([x.cpu_ms_per_request[c] - y.cpu_ms_per_request[c]
                                               for x, y in usable]) for c in components},
            "memory_mib": {k: round(memory_a[k] - memory_b[k], 1) for k in ("rss_mib", "pss_mib")
                           if k in memory_a and k in memory_b}}
    return summary


SHOWN = ("stack total", "catalog", "pricing", "stock", "analytics", "postgres", "mosquitto")


def markdown(result: dict) -> list[str]:
    m, summary = result["machine"], result["summary"]
    lines = [f"# polytrace ablation — {result['started_at']} ({result['mode']} mode)", "",
             f"Machine: {m['cores']} cores ({m['cpu']}), {m['ram_gib']} GiB RAM, Linux {m['kernel']}; CPU busy "
             f"before the run {m['cpu_busy_before_pct']}%, load average {m['load_average_at_start']}.",
             f"Tree: {(result['tree'].get('commit') or '?')[:12]}"
             + (f" with {len(result['tree']['changed'])} uncommitted changes" if result["tree"].get("changed") else ""),
             f"Plan: {result['plan']['rounds']} rounds of one {result['plan']['throughput_s']:g} s closed-loop slice "
             f"per stack at {result['plan']['concurrency']} connections, all stacks up at once, the order "
             "reversed each round and moved on every second round."]
    if result.get("note"):
        lines.append(f"Note: {result['note']}")
    if result.get("error"):
        lines += ["", f"**Stopped early: {result['error']}**"]
    lines += ["", "## Each stack (medians over its slices)", "",
              "| stack | variables | req/s | " + " | ".join(f"CPU ms/request: {c}" for c in SHOWN)
              + " | RSS / PSS MiB under load |",
              "|---|---|---|" + "---|" * len(SHOWN) + "---|"]
    for name, v in summary["variants"].items():
        memory = v["memory_mib"]
        shown = name + (" (untraced)" if not v["tracing"] and name != UNTRACED else "")
        lines.append(f"| {shown} | {_env_text(v['env']) or '—'} | {v['ok_per_s']:g} | "
                     + " | ".join(f"{v['cpu_ms_per_request'].get(c, 0):.2f}" for c in SHOWN)
                     + f" | {memory.get('rss_mib', 0):,.0f} / {memory.get('pss_mib', 0):,.0f} |")
    lines += ["", "## Effects (round by round: the stack's slice minus the other's, median (min–max))", "",
              "| stack | against | req/s ratio | " + " | ".join(f"Δ CPU ms/request: {c}" for c in SHOWN)
              + " | Δ RSS / PSS MiB |",
              "|---|---|---|" + "---|" * len(SHOWN) + "---|"]
    for name, e in summary["effects"].items():
        cpu, ratio, memory = e["cpu_ms_per_request"], e["throughput_ratio"], e["memory_mib"]
        cells = [f"{cpu[c]['median']:+.2f} ({cpu[c]['min']:+.2f}–{cpu[c]['max']:+.2f})" if c in cpu else "—"
                 for c in SHOWN]
        lines.append(f"| {name} | {e['against']} | {ratio['median']:.2f}× ({ratio['min']:.2f}–{ratio['max']:.2f}) | "
                     + " | ".join(cells)
                     + f" | {memory.get('rss_mib', 0):+,.0f} / {memory.get('pss_mib', 0):+,.0f} |")
    lines += ["", "A negative Δ is CPU the lever saved. The per-round range shows the machine's noise: a median "
              "inside it, and of either sign across repeated runs, is no effect. Memory is one reading per "
              "stack, right after its last slice.", ""]
    return lines
