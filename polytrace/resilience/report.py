"""results.json, summary.md and one timeline chart per scenario. Only formatting of what runner.py measured."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from polytrace.resilience.load import COMPLETE, DEGRADED
from polytrace.resilience.measure import ScenarioResult

COLOURS = {COMPLETE: "#2e7d32", DEGRADED: "#f9a825"}
OTHER_COLOURS = ("#c62828", "#6a1b9a", "#1565c0", "#4e342e", "#37474f", "#ad1457")


def as_dict(result) -> dict:
    data = dataclasses.asdict(result)
    for scenario, typed in zip(data.get("scenarios", []), result.scenarios, strict=True):
        scenario["answers"] = {"complete": typed.complete, "degraded": typed.degraded, "other": typed.other}
    return data


def write(result, out: Path) -> None:
    (out / "results.json").write_text(json.dumps(as_dict(result), indent=2) + "\n")
    (out / "summary.md").write_text(markdown(result))
    for scenario in result.scenarios:
        chart(scenario, out / f"timeline-{scenario.name}.png", result.rate_req_s)


def _num(value, unit: str = "") -> str:
    return "–" if value is None else f"{value:g}{unit}"


def one_line(s: ScenarioResult) -> str:
    views = s.page_views
    return (f"{s.requests} sent: {s.complete} complete, {s.degraded} degraded, other {s.other or 0}; "
            f"views {views.stored}/{views.expected} stored ({views.lost} lost, {views.stored_twice} twice); "
            f"traces {s.traces.complete} complete / {s.traces.incomplete} incomplete; "
            f"recovered in {_num(s.recover_s, ' s')}; p99 during the fault {_num(s.p99_fault_ms, ' ms')}")


def _rss(memory: dict) -> str:
    return _num((memory.get("total") or {}).get("rss_mib"))


def markdown(result) -> str:
    m = result.machine
    lines = [
        f"# Resilience run {result.started_at} ({result.mode})",
        "",
        f"Tree {result.tree.get('commit', '?')[:12]}"
        + (f" with {len(result.tree.get('changed', []))} uncommitted file(s)" if result.tree.get("changed") else "")
        + f". Machine: {m.get('cores')} cores, {m.get('ram_gib')} GiB, {m.get('cpu_busy_before_pct')}% busy before the "
        f"run, load average {m.get('load_average_at_start')} → {m.get('load_average_at_end')}.",
        f"Load: **{result.rate_req_s:g} req/s open loop** ({result.rate_from}) on `GET /products/{{1,2,3}}`, "
        f"{result.load_client}; each scenario: {result.phases_s['baseline']:g} s baseline, the fault, "
        f"{result.phases_s['recovery']:g} s recovery, request timeout {result.phases_s['request_timeout']:g} s.",
    ]
    if result.note:
        lines += ["", f"Note: {result.note}"]
    if result.error:
        lines += ["", f"**Stopped early:** {result.error}"]
    lines += [
        "",
        "| scenario | fault | sent | 200 complete | 200 degraded | other | views expected / stored | lost | "
        "stored twice | traces complete / incomplete | recover (s) | p99 fault (ms) | p99 baseline (ms) | "
        "RSS before → after (MiB) |",
        "|---|---|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for s in result.scenarios:
        v, t = s.page_views, s.traces
        other = ", ".join(f"{k}: {n}" for k, n in s.other.items()) or "0"
        promised = " (promised 0)" if s.views_promised else ""
        lines.append(
            f"| {s.name} | {s.title}, {s.fault_s:g} s | {s.requests} | {s.complete} | {s.degraded} | {other} | "
            f"{v.expected} / {v.stored} | {v.lost}{promised} | {v.stored_twice}{promised} | "
            f"{t.complete} / {t.incomplete} | {_num(s.recover_s)} | {_num(s.p99_fault_ms)} | "
            f"{_num(s.p99_baseline_ms)} | {_rss(s.memory_before)} → {_rss(s.memory_after)} |")
    lines += [
        "",
        "*200 complete*: every field; *degraded*: 200 with `\"unavailable\"`; *views*: rows of "
        "`analytics.page_view` created during the load (by the event's `ts`) against one per 200 answer, "
        "matched by page-view id where the producer span names it (*lost* counts 200 answers only: a request "
        "the client timed out on may still store a view); "
        "*stored twice*: rows sharing a page-view id (the primary key allows none; a redelivery shows as "
        "\"delivered more than once\" below); *traces*: the complete answers' traces against the golden trace; "
        "*recover*: from the end of the fault to the first second whose answers were all complete.",
    ]
    for s in result.scenarios:
        v, t, w = s.page_views, s.traces, s.window
        lines += [
            "",
            f"## {s.name}: {s.title}",
            "",
            f"![timeline](timeline-{s.name}.png)",
            "",
            f"- Fault from {w.fault_start_s:g} s to {w.fault_end_s:g} s (undone and ready at {w.restored_s:g} s) "
            f"of {w.load_s:g} s of load; {s.late_sends} requests left late.",
            f"- Page views: {v.expected} expected, {v.stored} stored, {v.lost} lost, {v.stored_twice} stored twice; "
            f"{v.ids_known} ids known from producer spans, {v.known_ids_not_stored} of them not stored; "
            f"{v.stored_without_answer} stored for requests the client gave up on; "
            f"{v.delivered_more_than_once} delivered more than once; settled {v.settled_s:g} s after the load. "
            "By path (expected, stored): " + ", ".join(f"`{p}` {e}/{n}" for p, (e, n) in v.by_path.items()) + ".",
            f"- Traces of complete answers: {t.complete} complete, {t.incomplete} incomplete, "
            f"{t.without_trace_id} without a trace id; {t.spans_missing} spans missing of "
            f"{t.spans_per_trace} per trace"
            + (": missing " + ", ".join(f"{k} ×{n}" for k, n in t.incomplete_by_missing_part.items())
               if t.incomplete_by_missing_part else "") + ".",
            "- RSS (MiB) before / end of fault / after: " + ", ".join(
                f"{name} {_num(s.memory_before.get(name, {}).get('rss_mib'))} / "
                f"{_num(s.memory_fault_end.get(name, {}).get('rss_mib'))} / "
                f"{_num(s.memory_after.get(name, {}).get('rss_mib'))}"
                for name in s.memory_before) + ".",
        ]
        lines += [f"- {note}" for note in s.notes]
    return "\n".join(lines) + "\n"


def chart(s: ScenarioResult, path: Path, rate: float) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [COMPLETE, DEGRADED] + sorted({k for sec in s.timeline for k in sec.outcomes} - {COMPLETE, DEGRADED})
    xs = [sec.t for sec in s.timeline]
    fig, ax = plt.subplots(figsize=(10, 3.6), dpi=100)
    bottom = [0] * len(xs)
    for index, name in enumerate(names):
        heights = [sec.outcomes.get(name, 0) for sec in s.timeline]
        if not any(heights) and name not in (COMPLETE, DEGRADED):
            continue
        colour = COLOURS.get(name, OTHER_COLOURS[index % len(OTHER_COLOURS)])
        ax.bar(xs, heights, bottom=bottom, width=0.9, align="edge", color=colour, label=name, linewidth=0, zorder=2)
        bottom = [b + h for b, h in zip(bottom, heights, strict=True)]
    top = max([rate, *bottom]) * 1.15
    ax.axvspan(s.window.fault_start_s, s.window.fault_end_s, color="#90a4ae", alpha=0.35, label="fault", zorder=0)
    if s.window.restored_s > s.window.fault_end_s + 0.05:
        ax.axvspan(s.window.fault_end_s, s.window.restored_s, color="#90a4ae", alpha=0.15, label="restoring",
                   zorder=0)
    for edge in (s.window.fault_start_s, s.window.fault_end_s):
        ax.axvline(edge, color="#263238", linewidth=1.0, linestyle="--", zorder=3)
    ax.axhline(rate, color="#555555", linewidth=0.8, linestyle=":", zorder=3, label=f"rate ({rate:g}/s)")
    ax.set_xlim(0, max(xs) + 1 if xs else 1)
    ax.set_ylim(0, top)
    ax.set_xlabel("second of the load (requests by the second they were due)")
    ax.set_ylabel("answers per second")
    ax.set_title(f"{s.name}: {s.title}, {s.fault_s:g} s")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
