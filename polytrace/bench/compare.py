"""Do two runs agree? The test of a benchmark is that a second run of the same tree says the same.

A figure reported as median (min–max over slices or rounds) agrees when each run's median lies inside the
other run's min–max. Counts that have a target (complete traces, spans dropped or lost) agree when
they are equal.
"""

from __future__ import annotations

import json
from pathlib import Path

from polytrace.bench import report, tree
from polytrace.errors import PolytraceError

RATIOS = (
    ("throughput", "max throughput, traced / untraced"),
    ("p50", "p50 latency, traced / untraced"),
    ("p90", "p90 latency, traced / untraced"),
    ("p99", "p99 latency, traced / untraced"),
)


def load(folder: Path) -> dict:
    path = folder / "results.json"
    try:
        results = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise PolytraceError(f"cannot read {path}: {exc}") from exc
    if "summary" not in results:
        raise PolytraceError(f"{path} has no summary (a run that stopped before its report?)")
    return results


def spreads_agree(a: dict | None, b: dict | None) -> bool | None:
    if not a or not b or a["n"] < 2 or b["n"] < 2:
        return None  # one value has no range to agree within
    return a["min"] <= b["median"] <= a["max"] and b["min"] <= a["median"] <= b["max"]


def compare(a: dict, b: dict) -> dict:
    sa, sb = a["summary"], b["summary"]
    rows = []
    for key, label in RATIOS:
        x, y = sa["traced_over_untraced"][key], sb["traced_over_untraced"][key]
        rows.append(_spread_row(label, x, y))
    for mode in ("untraced", "traced"):
        rows.append(_spread_row(f"max throughput {mode}, req/s", sa["throughput_req_s"][mode],
                                sb["throughput_req_s"][mode]))
    rows.append(_spread_row("`up` → first complete trace, s", sa["startup_s"]["traced"].get("first complete trace"),
                            sb["startup_s"]["traced"].get("first complete trace")))
    for figure, value in (("incomplete traces, sustained phase", _incomplete),
                          ("spans dropped, sustained phase", lambda s: (s.get("completeness") or {}).get(
                              "spans_dropped")),
                          ("spans lost on `down`", lambda s: (s.get("shutdown") or {}).get("spans_lost"))):
        x, y = value(sa), value(sb)
        rows.append({"figure": figure, "a": x, "b": y, "agree": None if x is None or y is None else x == y})
    judged = [row["agree"] for row in rows if row["agree"] is not None]
    return {
        "latency_rates": [sa.get("latency_rate_req_s"), sb.get("latency_rate_req_s")],
        "same_tree": tree.same(a.get("tree"), b.get("tree")),
        "trees": [a.get("tree"), b.get("tree")],
        "rows": rows,
        "agree": bool(judged) and all(judged),
        "disagree": [row["figure"] for row in rows if row["agree"] is False],
    }


def _spread_row(figure: str, a: dict | None, b: dict | None) -> dict:
    # Wide ranges agree easily: how far apart the medians are says how precise the figure is.
    gap = abs(a["median"] - b["median"]) / a["median"] if a and b and a["median"] else None
    return {"figure": figure, "a": a, "b": b, "agree": spreads_agree(a, b),
            "median_gap": None if gap is None else round(gap, 4)}


def _incomplete(summary: dict) -> int | None:
    c = summary.get("completeness")
    return None if not c else c["ok_with_trace_id"] - c["complete_traces"]


def _cell(value) -> str:
    if isinstance(value, dict):
        return report._fmt(value)
    return "–" if value is None else str(value)


def _rate_warning(rates: list) -> list[str]:
    if len(set(rates)) < 2:
        return []
    # Near the traced stack's saturation a few percent more load moves its latency a lot.
    return [f"The latency rows were measured at different rates ({rates[0]:g} and {rates[1]:g} req/s): they compare "
            "two loads, not two runs of one. To repeat a run's latency, give the second run its rate (`--rate`).", ""]


def _gap(gap: float | None) -> str:
    return "" if gap is None else f"{100 * gap:.1f}%"


def markdown(result: dict, names: tuple[str, str]) -> str:
    a, b = names
    same = {True: "yes", False: "**no**", None: "unknown (a run without a recorded tree)"}[result["same_tree"]]
    commits = ", ".join(((t or {}).get("commit") or "?")[:12] for t in result["trees"])
    lines = [
        f"# Do `{a}` and `{b}` agree?",
        "",
        f"Same tree: {same} (commits {commits}). A figure agrees when each run's median lies within the "
        "other's min–max (over its slices or rounds); a count agrees when it is equal.",
        "",
        *_rate_warning(result["latency_rates"]),
        f"| figure | {a} | {b} | medians differ by | agree |",
        "|---|---|---|---|---|",
    ]
    verdicts = {True: "yes", False: "**no**", None: "–"}
    lines += [f"| {row['figure']} | {_cell(row['a'])} | {_cell(row['b'])} | {_gap(row.get('median_gap'))} "
              f"| {verdicts[row['agree']]} |" for row in result["rows"]]
    verdict = "agree on every figure" if result["agree"] else "disagree on: " + ", ".join(result["disagree"])
    lines += ["", f"The two runs {verdict}.", ""]
    return "\n".join(lines)
