"""Do two runs agree? The test of a benchmark is that a second run of the same tree says the same.

A figure reported as median (min–max over slices or rounds) agrees when each run's median lies inside the
other run's min–max. Counts that have a target (complete traces, spans dropped or lost) agree when
they are equal.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from polytrace.bench import report, tree
from polytrace.bench import results as stored
from polytrace.bench.results import Results, Spread, Summary
from polytrace.errors import PolytraceError

RATIOS = (
    ("throughput", "max throughput, traced / untraced"),
    ("p50", "p50 latency, traced / untraced"),
    ("p90", "p90 latency, traced / untraced"),
    ("p99", "p99 latency, traced / untraced"),
)


@dataclass
class Row:
    figure: str
    a: Spread | int | None
    b: Spread | int | None
    agree: bool | None  # None: nothing to judge by
    median_gap: float | None = None


@dataclass
class Comparison:
    latency_rates: tuple[float | None, float | None]
    same_tree: bool | None
    trees: tuple[dict | None, dict | None]
    rows: list[Row]

    @property
    def agree(self) -> bool:
        judged = [row.agree for row in self.rows if row.agree is not None]
        return bool(judged) and all(judged)

    @property
    def disagree(self) -> list[str]:
        return [row.figure for row in self.rows if row.agree is False]


def load(folder: Path) -> Results:
    results = stored.load(folder)
    if results.summary is None:
        raise PolytraceError(f"{folder / stored.FILE} has no summary (a run that stopped before its report?)")
    return results


def spreads_agree(a: Spread | None, b: Spread | None) -> bool | None:
    if not a or not b or a.n < 2 or b.n < 2:
        return None  # one value has no range to agree within
    return a.min <= b.median <= a.max and b.min <= a.median <= b.max


def compare(a: Results, b: Results) -> Comparison:
    sa, sb = a.summary, b.summary
    rows = [_spread_row(label, getattr(sa.traced_over_untraced, key), getattr(sb.traced_over_untraced, key))
            for key, label in RATIOS]
    for mode in ("untraced", "traced"):
        rows.append(_spread_row(f"max throughput {mode}, req/s", getattr(sa.throughput_req_s, mode),
                                getattr(sb.throughput_req_s, mode)))
    rows.append(_spread_row("`up` → first complete trace, s", sa.startup_s["traced"].get("first complete trace"),
                            sb.startup_s["traced"].get("first complete trace")))
    for figure, value in (("incomplete traces, sustained phase", _incomplete),
                          ("spans dropped, sustained phase",
                           lambda s: s.completeness.spans_dropped if s.completeness else None),
                          ("spans lost on `down`", lambda s: s.shutdown.spans_lost if s.shutdown else None)):
        x, y = value(sa), value(sb)
        rows.append(Row(figure, x, y, None if x is None or y is None else x == y))
    return Comparison(latency_rates=(sa.latency_rate_req_s, sb.latency_rate_req_s),
                      same_tree=tree.same(a.tree, b.tree), trees=(a.tree, b.tree), rows=rows)


def _spread_row(figure: str, a: Spread | None, b: Spread | None) -> Row:
    # Wide ranges agree easily: how far apart the medians are says how precise the figure is.
    gap = abs(a.median - b.median) / a.median if a and b and a.median else None
    return Row(figure, a, b, spreads_agree(a, b), None if gap is None else round(gap, 4))


def _incomplete(summary: Summary) -> int | None:
    c = summary.completeness
    return None if not c else c.expected_traces - c.complete_traces


def _cell(value: Spread | int | None) -> str:
    if isinstance(value, Spread):
        return report.fmt(value)
    return "–" if value is None else str(value)


def _rate_warning(rates: tuple[float | None, float | None]) -> list[str]:
    if len(set(rates)) < 2:
        return []
    # Near the traced stack's saturation a few percent more load moves its latency a lot.
    return [f"The latency rows were measured at different rates ({rates[0]:g} and {rates[1]:g} req/s): they compare "
            "two loads, not two runs of one. To repeat a run's latency, give the second run its rate (`--rate`).", ""]


def _gap(gap: float | None) -> str:
    return "" if gap is None else f"{100 * gap:.1f}%"


def markdown(result: Comparison, names: tuple[str, str]) -> str:
    a, b = names
    same = {True: "yes", False: "**no**", None: "unknown (a run without a recorded tree)"}[result.same_tree]
    commits = ", ".join(((t or {}).get("commit") or "?")[:12] for t in result.trees)
    lines = [
        f"# Do `{a}` and `{b}` agree?",
        "",
        f"Same tree: {same} (commits {commits}). A figure agrees when each run's median lies within the "
        "other's min–max (over its slices or rounds); a count agrees when it is equal.",
        "",
        *_rate_warning(result.latency_rates),
        f"| figure | {a} | {b} | medians differ by | agree |",
        "|---|---|---|---|---|",
    ]
    verdicts = {True: "yes", False: "**no**", None: "–"}
    lines += [f"| {row.figure} | {_cell(row.a)} | {_cell(row.b)} | {_gap(row.median_gap)} "
              f"| {verdicts[row.agree]} |" for row in result.rows]
    verdict = "agree on every figure" if result.agree else "disagree on: " + ", ".join(result.disagree)
    lines += ["", f"The two runs {verdict}.", ""]
    return "\n".join(lines)
