"""What one scenario's answers, spans and stored page views say; typed results, arithmetic only."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field

from polytrace.capture.golden import missing_parts
from polytrace.capture.otlp import Span
from polytrace.resilience.load import COMPLETE, DEGRADED, Answer

EXPECTATION = "product_request"

Memory = dict[str, dict[str, float]]  # component → {"rss_mib", "pss_mib"}, as BenchStack.memory() gives


@dataclass
class Window:
    """Seconds since the load's first request."""

    load_s: float
    fault_start_s: float
    fault_end_s: float  # the fault was undone (start issued, SIGCONT sent, flag reset)
    restored_s: float  # the undo returned (a restarted component is ready)


@dataclass
class PageViews:
    expected: int  # one per 200 answer (catalog publishes a view for every successful answer)
    stored: int  # rows of analytics.page_view created during the load (by the event's ts)
    lost: int  # views of 200 answers not stored: by id, plus unmatched answers not covered by unmatched rows
    stored_twice: int
    ids_known: int  # answers whose page-view id is known (the PRODUCER span's messaging.message.id)
    known_ids_not_stored: int
    stored_without_answer: int  # rows no 200 answer accounts for: requests the client gave up on (timeout)
    delivered_more_than_once: int  # traces with more than one analytics CONSUMER span: a redelivery
    by_path: dict[str, list[int]]  # path → [expected, stored]
    settled_s: float  # after the load, until the stored count stopped changing


@dataclass
class Traces:
    """Over the complete answers: is each one's trace the complete golden trace?"""

    complete: int
    incomplete: int
    without_trace_id: int
    incomplete_by_missing_part: dict[str, int]
    spans_per_trace: int  # the census of a complete trace in this scenario's baseline
    spans_missing: int  # spans of that census that never arrived, over all complete answers
    sdk_drop_lines: dict[str, int]  # service → log lines in which its SDK says it lost or failed to export spans
    sdk_drop_first: dict[str, list[str]]


@dataclass
class Second:
    t: int  # the second (since the load started) in which these requests were due
    outcomes: dict[str, int]


@dataclass
class ScenarioResult:
    name: str
    title: str
    kind: str
    target: str
    fault_s: float
    value: str | None
    views_promised: bool
    window: Window
    requests: int
    late_sends: int
    outcomes: dict[str, int]
    page_views: PageViews
    traces: Traces
    recover_s: float | None  # end of the fault → first second with only complete answers
    p99_baseline_ms: float | None
    p99_fault_ms: float | None
    memory_before: Memory
    memory_fault_end: Memory
    memory_after: Memory
    timeline: list[Second]
    notes: list[str] = field(default_factory=list)

    @property
    def complete(self) -> int:
        return self.outcomes.get(COMPLETE, 0)

    @property
    def degraded(self) -> int:
        return self.outcomes.get(DEGRADED, 0)

    @property
    def other(self) -> dict[str, int]:
        return {k: v for k, v in self.outcomes.items() if k not in (COMPLETE, DEGRADED)}


def outcomes(answers: list[Answer]) -> dict[str, int]:
    return dict(Counter(a.outcome or "unanswered" for a in answers).most_common())


def timeline(answers: list[Answer], load_s: float) -> list[Second]:
    seconds = [Counter() for _ in range(max(1, math.ceil(load_s)))]
    for answer in answers:
        seconds[min(len(seconds) - 1, int(answer.due_s))][answer.outcome or "unanswered"] += 1
    return [Second(t, dict(c)) for t, c in enumerate(seconds)]


def recover_s(seconds: list[Second], fault_end_s: float) -> float | None:
    """From the end of the fault to the start of the first second whose answers were all complete."""
    for second in seconds:
        if second.t + 1 <= fault_end_s:  # over before the fault ended
            continue
        if second.outcomes and set(second.outcomes) == {COMPLETE}:
            return round(max(0.0, second.t - fault_end_s), 1)
    return None


def p99_ms(answers: list[Answer], start_s: float, end_s: float) -> float | None:
    """p99 latency of the requests due in [start_s, end_s), failed ones included (their time to fail)."""
    values = sorted(a.latency_s for a in answers if start_s <= a.due_s < end_s and a.latency_s is not None)
    if not values:
        return None
    return round(1000 * values[min(len(values) - 1, math.ceil(0.99 * len(values)) - 1)], 1)


def ok_answers(answers: list[Answer]) -> list[Answer]:
    return [a for a in answers if a.status == 200]


def page_view_ids(trace: list[Span]) -> list[str]:
    """The page-view ids catalog published in this trace (its PRODUCER spans' messaging.message.id)."""
    return [str(s.attributes["messaging.message.id"]) for s in trace
            if s.service == "catalog" and s.kind == "PRODUCER" and "messaging.message.id" in s.attributes]


def consumer_spans(trace: list[Span]) -> int:
    return sum(1 for s in trace if s.service == "analytics" and s.kind == "CONSUMER")


def tally_views(answers: list[Answer], traces: dict[str, list[Span]], stored: list[tuple[str, str]],
                settled_s: float) -> PageViews:
    """`stored`: (id, path) of every row created during the load; `traces`: trace id → its spans.

    A request the client timed out on may still be answered by catalog, and its view stored: rows are
    matched to answers by page-view id where the producer span says it, and only the rest by count.
    """
    ok = ok_answers(answers)
    known_by_answer = [ids for a in ok if a.trace_id and (ids := page_view_ids(traces.get(a.trace_id, [])))]
    known = {view_id for ids in known_by_answer for view_id in ids}
    stored_ids = Counter(view_id for view_id, _ in stored)
    unknown_answers = len(ok) - len(known_by_answer)
    unmatched_rows = len(set(stored_ids) - known)
    expected_by_path = Counter(a.path for a in ok)
    stored_by_path = Counter(path for _, path in stored)
    return PageViews(
        expected=len(ok),
        stored=len(stored_ids),
        lost=len(known - set(stored_ids)) + max(0, unknown_answers - unmatched_rows),
        stored_twice=sum(n - 1 for n in stored_ids.values()),
        ids_known=len(known),
        known_ids_not_stored=len(known - set(stored_ids)),
        stored_without_answer=max(0, unmatched_rows - unknown_answers),
        delivered_more_than_once=sum(1 for a in ok if a.trace_id and consumer_spans(traces.get(a.trace_id, [])) > 1),
        by_path={path: [expected_by_path[path], stored_by_path[path]]
                 for path in sorted(set(expected_by_path) | set(stored_by_path))},
        settled_s=round(settled_s, 1),
    )


def census(trace: list[Span]) -> Counter:
    return Counter((s.service, s.kind, s.name) for s in trace)


def tally_traces(answers: list[Answer], traces: dict[str, list[Span]], ports: dict[str, int],
                 baseline_end_s: float, drops: dict[str, list[str]]) -> Traces:
    complete_answers = [a for a in answers if a.outcome == COMPLETE]
    with_id = [a for a in complete_answers if a.trace_id]
    missing_roles: Counter = Counter()
    complete_ids = []
    for answer in with_id:
        problems = missing_parts(traces.get(answer.trace_id, []), EXPECTATION, ports)
        if problems:
            missing_roles.update({problem.split(":")[0] for problem in problems})
        else:
            complete_ids.append(answer.trace_id)
    # The spans a complete trace holds here: the most common census among the baseline's complete traces.
    baseline = {a.trace_id for a in with_id if a.due_s < baseline_end_s}
    shapes = Counter(frozenset(census(traces[t]).items()) for t in complete_ids if t in baseline)
    expected = Counter(dict(shapes.most_common(1)[0][0])) if shapes else Counter()
    spans_missing = 0
    for answer in with_id:
        have = census(traces.get(answer.trace_id, []))
        spans_missing += sum(max(0, n - have[key]) for key, n in expected.items())
    return Traces(
        complete=len(complete_ids),
        incomplete=len(with_id) - len(complete_ids),
        without_trace_id=len(complete_answers) - len(with_id),
        incomplete_by_missing_part=dict(missing_roles.most_common()),
        spans_per_trace=sum(expected.values()),
        spans_missing=spans_missing,
        sdk_drop_lines={name: len(lines) for name, lines in drops.items()},
        sdk_drop_first={name: lines[:3] for name, lines in drops.items()},
    )
