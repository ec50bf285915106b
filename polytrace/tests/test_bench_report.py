"""The bench report's arithmetic, on made-up measurements (no stack, no timing)."""

from __future__ import annotations

from polytrace.bench import report


def _run(pair: int, tracing: bool, ok_per_s: float, p99: float, backend: str | None = None) -> dict:
    memory = {"catalog": {"rss_mib": 200.0, "pss_mib": 190.0}, "total": {"rss_mib": 200.0, "pss_mib": 190.0}}
    return {
        "pair": pair, "tracing": tracing, "backend": backend or ("capture receiver" if tracing else None),
        "startup_s": {"catalog": 4.0, "all healthy": 4.0},
        "memory_idle": memory, "memory_loaded": memory,
        "throughput": {"ok_per_s": ok_per_s},
        "latency": {"target_rate": 50, "latency_ms": {"p50": p99 / 4, "p90": p99 / 2, "p99": p99}},
    }


def _results() -> dict:
    return {
        "started_at": "2026-01-01T00:00:00+00:00", "mode": "full",
        "machine": {"cores": 2, "cpu": "x", "ram_gib": 8, "kernel": "k", "load_average_at_start": [0, 0, 0]},
        "plan": {"concurrency": 16}, "tools": {"load_generator": "oha"},
        "runs": [_run(1, False, 100, 10), _run(1, True, 90, 11), _run(2, False, 100, 10), _run(2, True, 80, 12),
                 _run(3, False, 200, 10), _run(3, True, 190, 10)],
    }


def test_ratios_are_median_and_range_over_pairs():
    summary = report.summarize(_results())

    assert summary["pairs"] == 3
    assert summary["traced_over_untraced"]["throughput"] == {"median": 0.9, "min": 0.8, "max": 0.95, "n": 3}
    assert summary["traced_over_untraced"]["p99"] == {"median": 1.1, "min": 1.0, "max": 1.2, "n": 3}
    assert summary["completeness"] is None


def test_summary_markdown_has_every_section():
    results = _results()
    results["summary"] = report.summarize(results)

    text = report.markdown(results)

    assert "| max throughput, req/s at 16 connections | 100 (100–200) | 90 (80–190) | 0.90 (0.80–0.95)" in text
    assert "## Startup" in text and "## Memory" in text
