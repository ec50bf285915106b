"""`polytrace resilience --quick` end to end: one short fault under load, and the files it writes.

Structure, not figures: how a two-core machine shared with other work recovers says nothing about
correctness (docs/ARCHITECTURE.md, Targets). What must hold whatever the timings: every request is accounted for, the
fault window lies inside the load, and the counts add up.
"""

from __future__ import annotations

import json
import subprocess
import sys

from tests.stack import ROOT


def test_quick_resilience_run_writes_results_summary_and_a_timeline(tmp_path):
    result = subprocess.run(
        # Its own port block and run directory (shift 400): a full `make resilience` may be running on 300.
        [sys.executable, "-m", "polytrace", "resilience", "--quick", "--port-shift", "400", "--out", str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=400, check=False,
    )
    assert result.returncode == 0, f"{result.stdout}\n{result.stderr}"
    [folder] = [p for p in tmp_path.iterdir() if p.is_dir()]
    results = json.loads((folder / "results.json").read_text())

    assert results["schema"] == "polytrace-resilience/1" and results["mode"] == "quick"
    assert results["error"] is None and results["rate_req_s"] == 10
    assert results["ports"]["catalog"] == 22480 and len(results["tree"]["commit"]) == 40
    assert {"all healthy", "catalog", "postgres"} <= set(results["startup_s"])
    [scenario] = results["scenarios"]
    assert scenario["name"] == "stock-freeze" and scenario["fault_s"] == 3

    window = scenario["window"]
    assert 0 < window["fault_start_s"] < window["fault_end_s"] <= window["restored_s"] < window["load_s"]
    assert scenario["requests"] == int(results["rate_req_s"] * window["load_s"])
    assert sum(scenario["outcomes"].values()) == scenario["requests"]  # every request has an outcome
    assert sum(sum(s["outcomes"].values()) for s in scenario["timeline"]) == scenario["requests"]
    answers = scenario["answers"]
    assert answers["complete"] + answers["degraded"] + sum(answers["other"].values()) == scenario["requests"]
    assert answers["complete"] > 0  # the baseline answered

    views = scenario["page_views"]
    assert views["expected"] == answers["complete"] + answers["degraded"]
    assert views["lost"] == max(0, views["expected"] - views["stored"])
    assert 0 < views["ids_known"] <= views["expected"]
    assert sum(e for e, _ in views["by_path"].values()) == views["expected"]
    assert set(views["by_path"]) <= {"/products/1", "/products/2", "/products/3"}
    traces = scenario["traces"]
    assert traces["complete"] + traces["incomplete"] + traces["without_trace_id"] == answers["complete"]
    assert traces["complete"] > 0 and traces["spans_per_trace"] > 0  # the baseline's traces are golden
    assert scenario["p99_baseline_ms"] > 0 and scenario["p99_fault_ms"] > 0
    for memory in ("memory_before", "memory_fault_end", "memory_after"):
        assert {"catalog", "pricing", "stock", "analytics", "postgres", "mosquitto", "total"} <= set(
            scenario[memory]), memory

    text = (folder / "summary.md").read_text()
    assert "| stock-freeze |" in text and "## stock-freeze" in text
    assert text.strip() in result.stdout
    assert (folder / "timeline-stock-freeze.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
