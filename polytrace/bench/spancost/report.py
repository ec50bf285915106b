"""Runs the four programs and writes their table: into a full bench's results, or a folder of its own."""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

from polytrace import builds
from polytrace.bench.spancost.measure import Plan, measure
from polytrace.bench.spancost.programs import PROGRAMS, SPAN
from polytrace.bench.spancost.receiver import CountingReceiver
from polytrace.config import Settings, load_settings
from polytrace.engine import Engine

SCHEMA = "polytrace-span-cost/1"


def build(settings: Settings, echo) -> None:
    """Each service first (its agent, venv, modules), then the programs: only what changed."""
    Engine(settings).build(sorted({p.service for p in PROGRAMS}))
    for program in PROGRAMS:
        definition = program.build(settings.root)
        if definition and builds.is_stale(definition, settings.build_dir):
            echo(f"  building {definition.name}")
            builds.run(definition, settings.build_dir, settings.logs_dir)


def run(quick: bool, echo) -> dict:
    plan = Plan.make(quick)
    receiver = CountingReceiver().start()
    try:
        settings = load_settings(otlp_endpoint=receiver.endpoint)
        build(settings, echo)
        echo(f"span cost per language: {plan.rounds} rounds each, after {plan.warmup_spans} spans of warm-up")
        load_before = [round(x, 2) for x in os.getloadavg()]
        languages = [measure(program, receiver, settings, plan, echo) for program in PROGRAMS]
    finally:
        receiver.stop()
    return {"schema": SCHEMA, "plan": plan.__dict__, "span": SPAN, "load_average_before": load_before,
            "load_average_after": [round(x, 2) for x in os.getloadavg()], "languages": languages}


def markdown(result: dict) -> list[str]:
    lines = ["## What one span costs, per language", "",
             "CPU of the whole process (user + system, every thread) per span, made, ended, batched, encoded and "
             "exported over OTLP/HTTP to a local receiver, each SDK set up as its service sets it up; medians over "
             f"{result['plan']['rounds']} rounds after a warm-up of {result['plan']['warmup_spans']} spans, "
             f"min–max in brackets. Load average {result['load_average_before']} before, "
             f"{result['load_average_after']} after.", "",
             "| language (service) | µs CPU per span | spans per round | spans arrived / sent | spans per export "
             "| SDK |",
             "|---|---|---|---|---|---|"]
    for x in result["languages"]:
        cost = x["us_per_span"]
        sdk = ", ".join(f"{name} {version}" for name, version in x["sdk"].items())
        lines.append(f"| {x['language']} ({x['service']}) | {cost['median']:.1f} ({cost['min']:.1f}–{cost['max']:.1f}) "
                     f"| {x['rounds'][0]['spans']:,} | {x['spans_received']:,} / {x['spans_sent']:,} "
                     f"| {x['spans_received'] / x['exports']:.0f} | {sdk} |")
    lines += ["", f"The span: `{result['span']['name']}`, {result['span']['kind']}, "
              f"{len(result['span']['attributes'])} attributes, a root span each time. Attributes an SDK added: "
              + ("; ".join(f"{x['language']}: {', '.join(x['extra_attributes'])}" for x in result["languages"]
                           if x["extra_attributes"]) or "none") + ".", ""]
    return lines


def run_alone(out_root: Path, quick: bool, echo) -> Path:
    """`polytrace bench --span-cost`: bench/results/<timestamp>-spancost/ with summary.md and span-cost.json
    (not results.json: that name is a whole bench run's, which `--compare` and the results loader read)."""
    from polytrace.bench.runner import machine

    started = dt.datetime.now(dt.UTC)
    out = out_root / (started.strftime("%Y%m%dT%H%M%SZ") + "-spancost")
    result = {"started_at": started.isoformat(timespec="seconds"), "mode": "quick" if quick else "full",
              "machine": machine(), **run(quick, echo)}
    out.mkdir(parents=True, exist_ok=True)
    m = result["machine"]
    (out / "span-cost.json").write_text(json.dumps(result, indent=2) + "\n")
    (out / "summary.md").write_text("\n".join([
        f"# polytrace span cost — {result['started_at']} ({result['mode']} mode)", "",
        f"Machine: {m['cores']} cores ({m['cpu']}), {m['ram_gib']} GiB RAM, Linux {m['kernel']}; "
        f"CPU busy before the run {m['cpu_busy_before_pct']}%.", "", *markdown(result)]))
    return out
