"""The bench report's arithmetic, on made-up measurements (no stack, no timing)."""

from __future__ import annotations

from polytrace.bench import report
from polytrace.bench.plan import Plan
from polytrace.bench.results import Completeness, Results, Run, Shutdown, Slice, Spread, StackThroughput, Tools


def _slice(ok_per_s: float = 0.0, **figures) -> Slice:
    return Slice(**{"duration_s": 8, "connections": 16, "target_rate": None, "requests": 0, "requests_per_s": 0.0,
                    "ok_per_s": ok_per_s, "status_codes": {}, "errors": {}, "latency_ms": {}, **figures})


def _run(pair: int, tracing: bool, ok_per_s: list[float], p99: list[float], backend: str | None = None) -> Run:
    memory = {"catalog": {"rss_mib": 200.0, "pss_mib": 190.0}, "total": {"rss_mib": 200.0, "pss_mib": 190.0}}
    return Run(
        pair=pair, tracing=tracing, backend=backend or ("capture receiver" if tracing else None),
        startup_s={"catalog": 4.0, "all healthy": 4.0},
        startup_latency_pass_s={"catalog": 6.0, "all healthy": 6.0},
        memory_idle=memory, memory_loaded=memory,
        throughput=StackThroughput(ok_per_s=sorted(ok_per_s)[len(ok_per_s) // 2], slices=len(ok_per_s)),
        throughput_slices=[_slice(v, at_s=10.0 * i, cpu_ms_per_request={"catalog": 1000 / v})
                           for i, v in enumerate(ok_per_s)],
        latency_slices=[_slice(latency_ms={"p50": p / 4, "p90": p / 2, "p99": p}) for p in p99],
    )


def _results() -> Results:
    # Two pairs of two rounds: the ratios are slice by slice, the 200 → 100 drift of pair 2 cancels out.
    return Results(
        started_at="2026-01-01T00:00:00+00:00", mode="full",
        machine={"cores": 2, "cpu": "x", "ram_gib": 8, "kernel": "k", "load_average_at_start": [0, 0, 0]},
        tree={}, plan=Plan.make(False), tools=Tools(load_generator="oha", oha_path="oha"),
        runs=[_run(1, False, [100, 100], [10, 10]), _run(1, True, [90, 80], [11, 12]),
              _run(2, False, [200, 100], [10, 20]), _run(2, True, [190, 95], [10, 20])],
    )


def test_ratios_are_taken_round_by_round_and_summarised_over_all_rounds():
    summary = report.summarize(_results())

    assert summary.pairs == 2 and summary.rounds == 4
    assert summary.traced_over_untraced.throughput == Spread(median=0.925, min=0.8, max=0.95, n=4)
    assert summary.traced_over_untraced.p99 == Spread(median=1.05, min=1.0, max=1.2, n=4)
    assert summary.throughput_req_s.untraced == Spread(median=100, min=100, max=200, n=4)
    assert summary.cpu_ms_per_request["traced"]["catalog"].n == 4
    # Every fresh stack's startup counts: two pairs, each started once per pass.
    assert summary.startup_s["untraced"]["catalog"] == Spread(median=5.0, min=4.0, max=6.0, n=4)
    assert summary.completeness is None


def test_summary_markdown_has_every_section():
    results = _results()
    results.summary = report.summarize(results)

    text = report.markdown(results)

    assert ("| max throughput, req/s at 16 connections, 8 s slices | 100 (100–200) | 92 (80–190) "
            "| 0.93 (0.80–0.95) | ≥ 0.90 |") in text
    assert "(AB, BA, …: 4 rounds in all)" in text
    assert "## Startup" in text and "## Memory" in text


def _with_trace_phases(results: Results, *, sampled: int, unsampled: int) -> Results:
    results.summary = report.summarize(results)
    results.summary.completeness = Completeness(
        target_rate=100, achieved_rate=100, duration_s=60, ok_with_trace_id=sampled + unsampled, sampled=sampled,
        complete_traces=sampled, complete_share=1.0, spans_dropped=0, spans_dropped_by_span=[],
        incomplete_by_missing_part={}, sdk_drop_messages={}, trace_delay_s={})
    results.summary.shutdown = Shutdown(load_s=10, rate=100, ok_with_trace_id=1000, sampled=sampled // 6,
                                        down_s=2.0, expected_spans=11 * (sampled // 6),
                                        spans_lost=0, spans_lost_by_span=[], sdk_drop_messages={})
    return results


def test_a_head_sampled_run_says_that_completeness_counts_the_sampled_traces_only():
    results = _results()
    results.plan = Plan.make(False, otel_env={"OTEL_TRACES_SAMPLER": "parentbased_traceidratio",
                                              "OTEL_TRACES_SAMPLER_ARG": "0.1"})

    text = report.markdown(_with_trace_phases(results, sampled=600, unsampled=5400))

    assert "Head sampling on the traced services: parentbased_traceidratio 0.1 (`--otel`)." in text
    assert ("Head sampling: parentbased_traceidratio 0.1 — completeness counts the sampled traces only "
            "(600 of 6000 answers sampled).") in text
    assert "| complete golden traces of the sampled answers (by `traceresponse` id) | 600 / 600 = 100.00% |" in text
    assert "| spans lost (expected spans of the 100 sampled of the 1000 answered requests) | 0 of 1100 | 0 |" in text


def test_a_run_that_samples_every_trace_reads_as_before():
    text = report.markdown(_with_trace_phases(_results(), sampled=6000, unsampled=0))

    assert "| complete golden traces (by `traceresponse` id) | 6000 / 6000 = 100.00% | 100% |" in text
    assert "sampl" not in text.lower()
