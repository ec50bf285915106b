"""Made-up bench results for the tests: every field results.json holds, no figure measured."""

from __future__ import annotations

from polytrace.bench.plan import Plan
from polytrace.bench.results import Completeness, Ratios, Results, Shutdown, Spread, Summary, ThroughputSpreads, Tools


def spread(median: float, low: float, high: float, n: int = 5) -> Spread:
    return Spread(median=median, min=low, max=high, n=n)


def summary(throughput_ratio: Spread, *, untraced: Spread | None = None, complete: int = 100, dropped: int = 0,
            lost: int = 0) -> Summary:
    same = spread(2.6, 2.4, 2.9)
    return Summary(
        pairs=5, rounds=20, traced_over_untraced=Ratios(throughput=throughput_ratio, p50=same, p90=same, p99=same),
        throughput_req_s=ThroughputSpreads(untraced=untraced or spread(450, 440, 460), traced=spread(320, 310, 330),
                                           traced_viewer=None),
        latency_ms_traced_viewer=None, latency_rate_req_s=None, latency_rate_from=None, latency_ms={},
        cpu_ms_per_request={}, startup_s={"traced": {"first complete trace": spread(7.1, 6.9, 7.6)}}, memory_mib={},
        completeness=Completeness(target_rate=100, achieved_rate=100, duration_s=60, ok_with_trace_id=100,
                                  complete_traces=complete, complete_share=complete / 100, spans_dropped=dropped,
                                  spans_dropped_by_span=[], incomplete_by_missing_part={}, sdk_drop_messages={},
                                  trace_delay_s={}),
        shutdown=Shutdown(load_s=10, rate=100, ok_with_trace_id=1000, down_s=2.0, expected_spans=10000,
                          spans_lost=lost, spans_lost_by_span=[], sdk_drop_messages={}),
    )


def results(made_up: Summary | None, *, mode: str = "full", started: str = "2026-01-01T00:00:00+00:00",
            commit: str = "a" * 40) -> Results:
    return Results(started_at=started, mode=mode, machine={"cores": 2},
                   tree={"commit": commit, "changed": [], "changes_sha256": None}, plan=Plan.make(mode == "quick"),
                   tools=Tools(load_generator="oha 1.16.0", oha_path="oha"), summary=made_up)
