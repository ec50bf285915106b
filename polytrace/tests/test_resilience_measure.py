"""polytrace/resilience: the arithmetic on answers, spans and stored views, and the plan, without a stack."""

from __future__ import annotations

import json

import pytest

from polytrace.bench import results as bench_results
from polytrace.capture.otlp import Span
from polytrace.errors import PolytraceError
from polytrace.resilience import measure, plan, report
from polytrace.resilience.load import Answer, outcome_of, trace_id_of
from polytrace.tests.bench_results import results, spread, summary

PORTS = {"pricing": 8081, "stock": 8082}


def answer(due: float, outcome: str = "complete", latency: float = 0.01, trace: str | None = None,
           path: str = "/products/1") -> Answer:
    status = 200 if outcome in ("complete", "degraded") else (int(outcome) if outcome.isdigit() else 0)
    return Answer(path, due, latency, status, outcome, trace)


def test_outcome_of_a_body():
    assert outcome_of(200, b'{"id": 1, "price": 1.0}') == "complete"
    assert outcome_of(200, b'{"id": 1, "price": null, "unavailable": ["pricing"]}') == "degraded"
    assert outcome_of(200, b'{"id": 1, "unavailable": []}') == "complete"
    assert outcome_of(503, b'{"error": "database unavailable"}') == "503"
    assert outcome_of(200, b"<html>") == "200 unreadable"


def test_trace_id_of_a_traceresponse():
    assert trace_id_of("00-" + "a" * 32 + "-" + "b" * 16 + "-01") == "a" * 32
    assert trace_id_of(None) is None and trace_id_of("garbage") is None


def test_timeline_buckets_by_the_second_requests_were_due():
    answers = [answer(0.1), answer(0.9, "degraded"), answer(1.5, "503"), answer(2.99, "timeout")]
    seconds = measure.timeline(answers, 3.0)
    assert [(s.t, s.outcomes) for s in seconds] == [
        (0, {"complete": 1, "degraded": 1}), (1, {"503": 1}), (2, {"timeout": 1})]


def test_recovery_is_the_first_whole_second_after_the_fault_with_only_complete_answers():
    answers = ([answer(t / 10) for t in range(0, 20)] + [answer(2 + t / 10, "degraded") for t in range(30)]
               + [answer(5 + t / 10, "degraded" if t < 15 else "complete") for t in range(30)]
               + [answer(8 + t / 10) for t in range(20)])
    seconds = measure.timeline(answers, 10.0)
    # The fault ended at 4.5 s: seconds 4, 5 and 6 hold degraded answers; 7 is clean.
    assert measure.recover_s(seconds, 4.5) == 2.5
    assert measure.recover_s(seconds, 1.0) == 0.0  # second 1 starts at the end of the fault, all complete
    assert measure.recover_s(seconds, 1.2) == 0.0  # the second the fault ended in counts when it is clean
    assert measure.recover_s(seconds, 2.0) == 5.0
    assert measure.recover_s(measure.timeline([answer(0.5, "503")], 1.0), 0.0) is None


def test_p99_counts_the_fault_window_only_and_includes_failures():
    answers = [answer(t / 100, latency=0.01) for t in range(100)]
    answers += [answer(1 + t / 100, "timeout" if t == 99 else "complete", latency=10.0 if t == 99 else 0.02)
                for t in range(100)]
    assert measure.p99_ms(answers, 0.0, 1.0) == 10.0
    assert measure.p99_ms(answers, 1.0, 2.0) == 20.0
    assert measure.p99_ms(answers, 1.5, 2.0) == 10000.0  # 1 slow answer in 50 is above the 99th percentile
    assert measure.p99_ms(answers, 5.0, 6.0) is None


def _span(trace: str, service: str, kind: str, name: str = "x", span: str = "1", parent: str = "",
          **attributes) -> Span:
    return Span(trace, span, parent, name, kind, service, attributes, {}, "UNSET", "", 0, 1)


def test_page_views_are_matched_by_id_and_counted_per_path():
    answers = [answer(0, trace="t1"), answer(0.1, trace="t2", path="/products/2"), answer(0.2, "503"),
               answer(0.3, "degraded", trace="t3")]
    traces = {
        "t1": [_span("t1", "catalog", "PRODUCER", **{"messaging.message.id": "v1"}),
               _span("t1", "analytics", "CONSUMER"), _span("t1", "analytics", "CONSUMER", span="2")],
        "t2": [_span("t2", "catalog", "PRODUCER", **{"messaging.message.id": "v2"})],
        "t3": [],  # its producer span never arrived: counted, not matched
    }
    stored = [("v1", "/products/1"), ("v9", "/products/1")]
    views = measure.tally_views(answers, traces, stored, settled_s=3.21)
    # v2 is known and missing: lost. v9 is nobody's known id: it may be t3's, so t3 is not counted lost.
    assert (views.expected, views.stored, views.lost, views.stored_twice) == (3, 2, 1, 0)
    assert (views.ids_known, views.known_ids_not_stored, views.delivered_more_than_once) == (2, 1, 1)
    assert views.stored_without_answer == 0
    assert views.by_path == {"/products/1": [2, 2], "/products/2": [1, 0]}
    assert views.settled_s == 3.2
    twice = measure.tally_views(answers, traces, [("v1", "/products/1")] * 2, 0)
    assert (twice.stored_twice, twice.lost) == (1, 2)  # v2 and t3's view are missing


def test_views_of_requests_the_client_gave_up_on_are_not_counted_against_the_answers():
    answers = [answer(0, trace="t1"), answer(0.1, "timeout")]
    traces = {"t1": [_span("t1", "catalog", "PRODUCER", **{"messaging.message.id": "v1"})]}
    views = measure.tally_views(answers, traces, [("v1", "/products/1"), ("v2", "/products/1")], 0)
    assert (views.expected, views.stored, views.lost, views.stored_without_answer) == (1, 2, 0, 1)


def test_traces_of_complete_answers_are_judged_against_the_golden_trace():
    answers = [answer(0, trace="t1"), answer(1, trace="t2"), answer(2), answer(3, "degraded", trace="t3")]
    traces = {"t1": [_span("t1", "catalog", "SERVER")], "t2": []}
    drops = {"pricing": ["queue is full", "queue is full", "queue is full", "queue is full"]}
    result = measure.tally_traces(answers, traces, PORTS, baseline_end_s=1.0, drops=drops)
    assert (result.complete, result.incomplete, result.without_trace_id) == (0, 2, 1)
    # t2 is empty; t1's SERVER span has neither the golden name nor its attributes.
    assert result.incomplete_by_missing_part["no span for catalog_server"] == 2
    assert result.sdk_drop_lines == {"pricing": 4} and len(result.sdk_drop_first["pricing"]) == 3
    assert result.spans_per_trace == 0  # no complete baseline trace: nothing to count missing spans against


def test_plan_quick_runs_one_short_scenario_and_names_the_unknown():
    quick = plan.Plan.make(True)
    assert [s.name for s in quick.scenarios] == [plan.QUICK_SCENARIO] and quick.scenarios[0].fault_s == 3
    assert quick.ports()["catalog"] == 22380 and quick.capture_port == 22619
    assert quick.run_dir.name == ".run-resilience"
    assert plan.Plan.make(True, port_shift=400).run_dir.name == ".run-resilience-400"
    full = plan.Plan.make(False, rate=40)
    assert [s.name for s in full.scenarios] == [s.name for s in plan.SCENARIOS] and full.rate == 40
    assert {s.name for s in full.scenarios if s.views_promised} == {"broker-stop", "analytics-kill",
                                                                     "analytics-failure"}
    with pytest.raises(PolytraceError, match="unknown scenario 'nope' \\(known: broker-stop, "):
        plan.Plan.make(False, ("nope",), rate=1)


def test_default_rate_is_half_the_newest_full_benchmarks_untraced_median(tmp_path):
    for name, mode, median in (("20260101T000000Z", "full", 300.0), ("20260102T000000Z", "full", 250.0),
                               ("20260103T000000Z", "quick", 10.0)):
        (tmp_path / name).mkdir()
        made_up = summary(spread(0.7, 0.6, 0.8), untraced=spread(median, median, median))
        bench_results.save(results(made_up, mode=mode), tmp_path / name)
    rate, origin = plan.default_rate(tmp_path)
    assert rate == 125 and "bench/results/20260102T000000Z" in origin
    with pytest.raises(PolytraceError, match="pass --rate"):
        plan.default_rate(tmp_path / "none")


def test_report_writes_json_markdown_and_a_chart(tmp_path):
    from polytrace.resilience.runner import RunResult

    answers = [answer(t / 10, "complete" if not 10 <= t < 20 else "degraded", trace=None) for t in range(40)]
    seconds = measure.timeline(answers, 4.0)
    memory = {"catalog": {"rss_mib": 200.0, "pss_mib": 190.0}, "total": {"rss_mib": 200.0, "pss_mib": 190.0}}
    scenario = measure.ScenarioResult(
        name="stock-freeze", title="stock frozen", kind="freeze", target="stock", fault_s=1, value=None,
        views_promised=False, window=measure.Window(4.0, 1.0, 2.0, 2.1), requests=40, late_sends=0,
        outcomes=measure.outcomes(answers), page_views=measure.tally_views(answers, {}, [], 0.0),
        traces=measure.tally_traces(answers, {}, PORTS, 1.0, {}), recover_s=measure.recover_s(seconds, 2.0),
        p99_baseline_ms=10.0, p99_fault_ms=measure.p99_ms(answers, 1.0, 2.0), memory_before=memory,
        memory_fault_end=memory, memory_after=memory, timeline=seconds, notes=["a note"])
    result = RunResult(schema="polytrace-resilience/1", started_at="now", mode="quick", machine={"cores": 2},
                       tree={"commit": "0" * 40, "changed": []}, rate_req_s=10, rate_from="quick mode",
                       load_client="aiohttp", ports={}, scenarios=[scenario],
                       phases_s={"baseline": 1, "recovery": 2, "request_timeout": 10})
    report.write(result, tmp_path)
    data = json.loads((tmp_path / "results.json").read_text())
    [row] = data["scenarios"]
    assert row["answers"] == {"complete": 30, "degraded": 10, "other": {}} and row["recover_s"] == 0.0
    assert row["page_views"]["expected"] == 40 and row["page_views"]["lost"] == 40
    text = (tmp_path / "summary.md").read_text()
    assert "| stock-freeze | stock frozen, 1 s | 40 | 30 | 10 | 0 | 40 / 0 | 40 |" in text and "- a note" in text
    assert (tmp_path / "timeline-stock-freeze.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
