"""The summary, summary.md and the charts of one run. Only arithmetic on what runner.py measured."""

from __future__ import annotations

import statistics
from pathlib import Path

from polytrace.bench.results import (
    DropMessages,
    Ratios,
    Results,
    Run,
    SpanCount,
    Spread,
    Summary,
    ThroughputSpreads,
    save,
)
from polytrace.bench.spancost import report as span_cost

CHARTS = ("throughput.png", "latency.png", "startup.png", "memory.png")
PERCENTILES = ("p50", "p90", "p99")


def _spread(values: list[float | None]) -> Spread | None:
    values = [v for v in values if v is not None]
    if not values:
        return None
    return Spread(median=round(statistics.median(values), 3), min=round(min(values), 3),
                  max=round(max(values), 3), n=len(values))


def _ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def _runs(results: Results, *, tracing: bool, backend: str | None = "any") -> list[Run]:
    """Runs that got as far as their maximum (a run stopped early may have less)."""
    return [r for r in results.runs if r.tracing == tracing and r.throughput is not None
            and (backend == "any" or r.backend == backend)]


def summarize(results: Results) -> Summary:
    untraced = {r.pair: r for r in _runs(results, tracing=False)}
    traced = {r.pair: r for r in _runs(results, tracing=True, backend="capture receiver")}
    pairs = sorted(set(untraced) & set(traced))
    # One ratio per round: the traced slice over the untraced slice next to it in time.
    ratios: dict[str, list] = {"throughput": [], "p50": [], "p90": [], "p99": []}
    for pair in pairs:
        u, t = untraced[pair], traced[pair]
        for us, ts in zip(u.throughput_slices, t.throughput_slices, strict=False):
            ratios["throughput"].append(_ratio(ts.ok_per_s, us.ok_per_s))
        for us, ts in zip(u.latency_slices, t.latency_slices, strict=False):
            for p in PERCENTILES:
                ratios[p].append(_ratio(ts.latency_ms.get(p), us.latency_ms.get(p)))
    sustained = next((r.sustained for r in results.runs if r.sustained is not None), None)
    viewer = next((r for r in results.runs if r.backend == "viewer" and r.throughput is not None), None)
    rate = results.latency_rate
    by_mode = (("untraced", untraced), ("traced", traced))
    return Summary(
        pairs=len(pairs),
        rounds=len(ratios["throughput"]),
        traced_over_untraced=Ratios(**{name: _spread(values) for name, values in ratios.items()}),
        throughput_req_s=ThroughputSpreads(
            untraced=_spread([x.ok_per_s for p in pairs for x in untraced[p].throughput_slices]),
            traced=_spread([x.ok_per_s for p in pairs for x in traced[p].throughput_slices]),
            traced_viewer=viewer.throughput.ok_per_s if viewer else None,
        ),
        latency_ms_traced_viewer=viewer.latency.latency_ms if viewer and viewer.latency is not None else None,
        latency_rate_req_s=rate.req_s if rate else None,
        latency_rate_from=rate.origin if rate else None,
        latency_ms={mode: {p: _spread([x.latency_ms.get(p) for k in pairs for x in runs[k].latency_slices])
                           for p in PERCENTILES}
                    for mode, runs in by_mode},
        cpu_ms_per_request={
            mode: {name: _spread([x.cpu_ms_per_request.get(name) for k in pairs for x in runs[k].throughput_slices])
                   for name in sorted({n for k in pairs for x in runs[k].throughput_slices
                                       for n in x.cpu_ms_per_request})}
            for mode, runs in by_mode
        },
        startup_s={
            "untraced": _startup(list(untraced.values())),
            "traced": _startup(list(traced.values())),
            "traced_viewer": _startup([viewer]) if viewer else None,
        },
        memory_mib=_memory(untraced, traced, viewer),
        completeness=sustained.completeness() if sustained else None,
        shutdown=next((r.shutdown for r in results.runs if r.shutdown is not None), None),
    )


def _startup(runs: list[Run]) -> dict[str, Spread | None]:
    """Over every fresh stack: each pair's stacks start once per pass."""
    ups = [up for r in runs for up in (r.startup_s, r.startup_latency_pass_s) if up]
    # Ties broken by name: the names come from a set, whose order changes with PYTHONHASHSEED.
    names = sorted({name for up in ups for name in up},
                   key=lambda n: (statistics.median([up.get(n, 0) for up in ups]), n))
    return {name: _spread([up.get(name) for up in ups]) for name in names}


def _memory(untraced: dict[int, Run], traced: dict[int, Run], viewer: Run | None) -> dict[str, dict[str, float]]:
    """RSS (MiB) per component in each condition, from the last run of each kind."""
    columns = {}
    if untraced:
        last = untraced[max(untraced)]
        columns["untraced idle"] = last.memory_idle
        columns["untraced after max load"] = last.memory_loaded
    if traced:
        last = traced[max(traced)]
        columns["traced idle"] = last.memory_idle
        columns["traced after max load"] = last.memory_loaded
        columns["traced, end of sustained"] = last.memory_sustained_end
    if viewer:
        columns["traced+viewer idle"] = viewer.memory_idle
        columns["traced+viewer after max load"] = viewer.memory_loaded
    return {name: {component: values["rss_mib"] for component, values in column.items()}
            for name, column in columns.items() if column} | {
        "pss_total": {name: column["total"]["pss_mib"] for name, column in columns.items() if column}}


# ---- summary.md --------------------------------------------------------------------------------

def fmt(spread: Spread | None, digits: int = 2) -> str:
    if not spread:
        return "–"
    if spread.n == 1:
        return f"{spread.median:.{digits}f}"
    return f"{spread.median:.{digits}f} ({spread.min:.{digits}f}–{spread.max:.{digits}f})"


def markdown(results: Results) -> str:
    s = results.summary
    m = results.machine
    plan = results.plan
    sampling = plan.head_sampling  # None for a run that samples every trace: its summary reads as before
    lines = [
        f"# polytrace bench — {results.started_at} ({results.mode} mode)",
        "",
        f"Machine: {m['cores']} cores ({m['cpu']}), {m['ram_gib']} GiB RAM, Linux {m['kernel']}; "
        f"CPU busy before the run {m.get('cpu_busy_before_pct', '–')}%; "
        f"load average at start {m['load_average_at_start']}, at end {m.get('load_average_at_end')}. "
        f"Load generator: {results.tools.load_generator} (pinned to the last core). "
        f"{s.pairs} untraced/traced pair(s) of stacks, up side by side, taking turns in slices "
        f"(AB, BA, …: {s.rounds} rounds in all); figures are medians with min–max over slices, and each "
        "ratio is taken round by round.",
        "",
        *([_tree_line(results.tree), ""] if results.tree else []),
        *([f"Note: {results.note}", ""] if results.note else []),
        *([f"Head sampling on the traced services: {sampling} (`--otel`).", ""] if sampling else []),
        *([f"**Stopped early**: {results.error}", ""] if results.error else []),
        "## Tracing overhead, `GET /products/{1..3}` through the whole chain",
        "",
        "| figure | untraced | traced | traced / untraced | target |",
        "|---|---|---|---|---|",
        f"| max throughput, req/s at {plan.concurrency} connections, {plan.throughput_s:g} s slices "
        f"| {fmt(s.throughput_req_s.untraced, 0)} | {fmt(s.throughput_req_s.traced, 0)} "
        f"| {fmt(s.traced_over_untraced.throughput)} | ≥ 0.90 |",
    ]
    for p in PERCENTILES:
        target = "≤ 1.30" if p == "p99" else ""
        lines.append(
            f"| {p} latency, ms at {s.latency_rate_req_s} req/s (open loop, {plan.latency_s:g} s slices) "
            f"| {fmt(s.latency_ms['untraced'][p])} | {fmt(s.latency_ms['traced'][p])} "
            f"| {fmt(getattr(s.traced_over_untraced, p))} | {target} |")
    if s.throughput_req_s.traced_viewer is not None:
        lines.append(f"| max throughput exporting to the bundled viewer (one stack) | | "
                     f"{s.throughput_req_s.traced_viewer:.0f} | | |")
    if s.latency_ms_traced_viewer:
        viewer_latency = s.latency_ms_traced_viewer
        lines.append(f"| p50 / p99 latency exporting to the bundled viewer, ms (one stack) | | "
                     f"{viewer_latency['p50']} / {viewer_latency['p99']} | | |")
    lines += ["", f"The latency rate is {s.latency_rate_from or 'fixed'}, the same for every stack; "
              "latency is measured in a second pass on fresh stacks, after all maxima are known. "
              "The viewer rows are one stack's median over its slices."]
    cpu = s.cpu_ms_per_request or {}
    if cpu.get("traced"):
        lines += ["", "CPU milliseconds per request during the throughput phase (process trees; *machine busy* is "
                  "every process on the machine, oha and anything else included):", "",
                  "| component | untraced | traced | traced / untraced |", "|---|---|---|---|"]
        for name in cpu["traced"]:
            u, t = cpu["untraced"].get(name), cpu["traced"][name]
            ratio = t.median / u.median if u and u.median else None
            lines.append(f"| {name} | {fmt(u)} | {fmt(t)} | {f'{ratio:.2f}' if ratio else '–'} |")
        lines += ["", "Target: stack total traced / untraced ≤ 1.12."]
    lines += ["", "Traced runs export to the bench's receiver, which acknowledges without decoding in this phase; "
              "the viewer row includes Zipkin and the OTLP bridge on the same cores.", ""]
    c = s.completeness
    if c:
        share = f"{100 * c.complete_share:.2f}%" if c.complete_share is not None else "–"
        traces = "complete golden traces of the sampled answers" if sampling else "complete golden traces"
        lines += [
            f"## Trace completeness, {c.duration_s:g} s at {c.target_rate:g} req/s (achieved {c.achieved_rate:g})",
            "",
            *([f"Head sampling: {sampling} — completeness counts the sampled traces only "
               f"({c.expected_traces} of {c.ok_with_trace_id} answers sampled).", ""] if sampling else []),
            "| figure | value | target |",
            "|---|---|---|",
            f"| {traces} (by `traceresponse` id) | {c.complete_traces} / {c.expected_traces}"
            f" = {share} | 100% |",
            f"| spans dropped | {c.spans_dropped} | 0 |",
            f"| delay response → complete trace, p50 / p99 / max (s) | {c.trace_delay_s.get('p50', '–')} / "
            f"{c.trace_delay_s.get('p99', '–')} / {c.trace_delay_s.get('max', '–')} | |",
            f"| SDK drop/export-failure log lines | {_drop_counts(c.sdk_drop_messages)} | none |",
            "",
        ]
        lines += _lost_spans(c.spans_dropped_by_span)
        if c.incomplete_by_missing_part:
            lines += ["Incomplete traces by missing part:", ""]
            lines += [f"- {part}: {n}" for part, n in c.incomplete_by_missing_part.items()]
            lines.append("")
        for name, info in c.sdk_drop_messages.items():
            lines += [f"{name} log, first lines:", "", *[f"    {line}" for line in info.first], ""]
    d = s.shutdown
    if d:
        answered = (f"{d.expected_traces} sampled of the {d.ok_with_trace_id} answered requests" if sampling
                    else f"{d.ok_with_trace_id} answered requests")
        lines += [
            f"## `polytrace down` right after load ({d.load_s:g} s at {d.rate:g} req/s, then down at once)",
            "",
            "| figure | value | target |",
            "|---|---|---|",
            f"| spans lost (expected spans of the {answered}) | "
            f"{d.spans_lost} of {d.expected_spans} | 0 |",
            f"| `polytrace down` took, s | {d.down_s} | |",
            f"| SDK drop/export-failure log lines | {_drop_counts(d.sdk_drop_messages)} | none |",
            "",
        ]
        lines += _lost_spans(d.spans_lost_by_span)
    lines += ["## Startup (`polytrace up` on a built tree), seconds from its start", "",
              "Every fresh stack counts: each pair's two stacks start once in each pass.", "",
              "| component | untraced | traced | traced + viewer |", "|---|---|---|---|"]
    startup = s.startup_s
    names = list(dict.fromkeys([*startup["traced"], *startup["untraced"], *(startup["traced_viewer"] or {})]))
    for name in names:
        lines.append(f"| {name} | {fmt(startup['untraced'].get(name), 1)} | {fmt(startup['traced'].get(name), 1)} | "
                     f"{fmt((startup['traced_viewer'] or {}).get(name), 1)} |")
    lines += ["", "Target: `polytrace up` (built) → first complete trace in the bundled viewer ≤ 10 s.", "",
              "## Memory, RSS of each process tree (MiB)", ""]
    memory = {k: v for k, v in s.memory_mib.items() if k != "pss_total"}
    columns = list(memory)
    components = list(dict.fromkeys(c for column in memory.values() for c in column if c != "total")) + ["total"]
    lines += ["| component | " + " | ".join(columns) + " |", "|---" * (len(columns) + 1) + "|"]
    for component in components:
        lines.append(f"| {component} | " + " | ".join(
            f"{memory[col].get(component, 0):.0f}" if component in memory[col] else "–" for col in columns) + " |")
    lines.append("| total PSS (shared pages counted once) | " + " | ".join(
        f"{s.memory_mib['pss_total'].get(col, 0):.0f}" for col in columns) + " |")
    lines += ["", "Target: RSS of the whole local stack under load, viewer included ≤ 1 GiB. "
              "The bench's own receiver is not counted.", ""]
    if results.span_cost:
        lines += span_cost.markdown(results.span_cost)
    if results.charts:
        lines += ["## Charts", "", *[f"![{name}]({name})" for name in results.charts], ""]
    elif results.charts_note:
        lines += [f"Charts: {results.charts_note}", ""]
    return "\n".join(lines)


def _drop_counts(messages: dict[str, DropMessages]) -> str:
    return ", ".join(f"{name}: {info.count}" for name, info in messages.items()) or "none"


def _lost_spans(by_span: list[SpanCount]) -> list[str]:
    if not by_span:
        return []
    return ["Where spans were lost (service, kind, name: spans missing):", "",
            *[f"- {x.service} {x.kind} `{x.name}`: {x.count}" for x in by_span], ""]


def _tree_line(tree: dict) -> str:
    changed = len(tree.get("changed") or [])
    state = f"plus {changed} uncommitted file(s)" if changed else "no uncommitted change"
    return f"Tree: commit {(tree.get('commit') or '?')[:12]}, {state}."


# ---- charts ------------------------------------------------------------------------------------

def charts(results: Results, out: Path) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    s = results.summary
    written = []
    runs = [r for r in results.runs if r.throughput is not None]

    fig, ax = plt.subplots(figsize=(7, 3.5))
    for label, color, chosen in (("untraced", "#888", lambda r: not r.tracing),
                                 ("traced", "#27c", lambda r: r.tracing and r.backend != "viewer"),
                                 ("traced, bundled viewer", "#c60", lambda r: r.backend == "viewer")):
        slices = [x for r in runs if chosen(r) for x in r.throughput_slices]
        if slices:
            ax.scatter([x.at_s / 60 for x in slices], [x.ok_per_s for x in slices], color=color, label=label)
    ax.set_xlabel("minutes into the run")
    ax.set_ylabel("req/s (200 OK)")
    ax.set_ylim(bottom=0)
    ax.set_title("Max throughput, one point per slice")
    ax.legend(fontsize=8)
    written.append(_save(fig, out, "throughput.png"))

    fig, ax = plt.subplots(figsize=(7, 3.5))
    width = 0.38
    for offset, mode, color in ((-width / 2, "untraced", "#888"), (width / 2, "traced", "#27c")):
        values = [spread.median if (spread := s.latency_ms[mode][p]) else 0 for p in PERCENTILES]
        ax.bar([i + offset for i in range(3)], values, width, label=mode, color=color)
    ax.set_xticks(range(3), list(PERCENTILES))
    ax.set_ylabel("ms")
    ax.set_title(f"Latency at {s.latency_rate_req_s} req/s, open loop (median over slices)")
    ax.legend()
    written.append(_save(fig, out, "latency.png"))

    fig, ax = plt.subplots(figsize=(7, 3.5))
    startup = s.startup_s["traced"] or s.startup_s["untraced"]
    names = list(startup)
    ax.barh(names, [startup[n].median for n in names], color="#27c")
    ax.set_xlabel("seconds from `polytrace up`")
    ax.set_title("Startup, traced stack (median)")
    ax.invert_yaxis()
    written.append(_save(fig, out, "startup.png"))

    fig, ax = plt.subplots(figsize=(8, 4))
    memory = {k: v for k, v in s.memory_mib.items() if k != "pss_total"}
    columns = list(memory)
    components = list(dict.fromkeys(c for column in memory.values() for c in column if c != "total"))
    bottoms = [0.0] * len(columns)
    for component in components:
        values = [memory[col].get(component, 0) for col in columns]
        ax.bar(range(len(columns)), values, bottom=bottoms, label=component)
        bottoms = [b + v for b, v in zip(bottoms, values, strict=True)]
    ax.set_xticks(range(len(columns)), [c.replace(" ", "\n", 1) for c in columns], fontsize=7)
    ax.set_ylabel("RSS, MiB")
    ax.set_title("Memory per component")
    ax.legend(fontsize=7, ncol=2)
    written.append(_save(fig, out, "memory.png"))
    plt.close("all")
    return written


def _save(fig, out: Path, name: str) -> str:
    fig.tight_layout()
    fig.savefig(out / name, dpi=110)
    return name


def write(results: Results, out: Path) -> None:
    try:
        results.charts = charts(results, out)
    except ImportError:
        results.charts = []
        results.charts_note = "matplotlib is not installed (pip install -e '.[bench]')"
    save(results, out)
    (out / "summary.md").write_text(markdown(results))
