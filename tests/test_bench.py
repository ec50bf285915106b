"""`polytrace bench --quick` end to end: the harness runs and writes its files. No figure is asserted:
timings on a shared two-core machine say nothing about correctness (docs/ARCHITECTURE.md, "Decisions")."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import psutil

from tests.stack import ROOT


def test_quick_bench_writes_results_summary_and_charts(tmp_path):
    result = subprocess.run(
        # Shifted ports and run directory: a full `make bench` may be running on the default block.
        [sys.executable, "-m", "polytrace", "bench", "--quick", "--port-shift", "100", "--out", str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=240, check=False,
    )
    assert result.returncode == 0, f"{result.stdout}\n{result.stderr}"
    [folder] = [p for p in tmp_path.iterdir() if p.is_dir()]
    results = json.loads((folder / "results.json").read_text())

    assert results["schema"] == "polytrace-bench/3" and results["mode"] == "quick"
    assert len(results["tree"]["commit"]) == 40 and isinstance(results["tree"]["changed"], list)
    assert {"cores", "ram_gib", "cpu_busy_before_pct"} <= set(results["machine"])
    assert results["latency_rate"]["req_s"] >= 1
    assert [(r["pair"], r["tracing"]) for r in results["runs"]] == [(1, False), (1, True)]
    rounds = results["plan"]["rounds"]
    for run in results["runs"]:
        assert {"startup_s", "memory_idle", "memory_loaded", "throughput", "latency", "cpu_ms_per_request"} <= set(run)
        assert len(run["throughput_slices"]) == len(run["latency_slices"]) == rounds
        assert {"all healthy", "catalog", "postgres"} <= set(run["startup_s"])
        assert set(run["latency"]["latency_ms"]) == {"p50", "p90", "p99"}
        assert {"catalog", "pricing", "stock", "analytics", "postgres", "mosquitto", "total"} <= set(
            run["memory_idle"])
    traced = results["runs"][1]
    assert "first complete trace" in traced["startup_s"]
    sustained = traced["sustained"]
    assert {"complete_share", "spans_dropped", "spans_dropped_by_span", "sdk_drop_messages",
            "trace_delay_s", "ok_with_trace_id"} <= set(sustained)
    shutdown = traced["shutdown"]
    assert {"spans_lost", "spans_lost_by_span", "expected_spans", "down_s", "sdk_drop_messages"} <= set(shutdown)
    assert shutdown["ok_with_trace_id"] > 0 and shutdown["expected_spans"] > 0
    # The stacks took turns AB, BA: every throughput slice of one stack lies between slices of the other.
    untraced, traced_run = (sorted(x["at_s"] for x in r["throughput_slices"]) for r in results["runs"])
    assert untraced[0] < traced_run[0] <= traced_run[1] < untraced[1]
    summary = results["summary"]
    assert summary["rounds"] == rounds
    assert {"traced_over_untraced", "throughput_req_s", "latency_ms", "startup_s", "memory_mib",
            "completeness", "shutdown", "latency_rate_req_s"} <= set(summary)
    assert set(summary["traced_over_untraced"]) == {"throughput", "p50", "p90", "p99"}

    text = (folder / "summary.md").read_text()
    for section in ("Tracing overhead", "Trace completeness", "`polytrace down` right after load", "Startup", "Memory"):
        assert section in text, section
    assert text.strip() in result.stdout
    for chart in ("throughput.png", "latency.png", "startup.png", "memory.png"):  # matplotlib: the bench extra
        assert (folder / chart).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", chart


def test_quick_ablation_runs_every_variant_side_by_side_and_writes_its_effects(tmp_path):
    rounds = 2
    result = subprocess.run(
        [sys.executable, "-m", "polytrace", "bench", "--quick", "--rounds", str(rounds), "--port-shift", "200",
         "--out", str(tmp_path), "--lever", "bsp-1s:OTEL_BSP_SCHEDULE_DELAY=1000",
         "--lever", "no-spans:OTEL_TRACES_SAMPLER=always_off"],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=False,
    )
    assert result.returncode == 0, f"{result.stdout}\n{result.stderr}"
    [folder] = [p for p in tmp_path.iterdir() if p.is_dir()]
    assert folder.name.endswith("-ablation")
    results = json.loads((folder / "ablation.json").read_text())

    assert results["schema"] == "polytrace-ablation/1" and results["plan"]["rounds"] == rounds
    assert [(v["name"], v["tracing"], v["slot"]) for v in results["variants"]] == [
        ("untraced", False, 0), ("traced", True, 1), ("bsp-1s", True, 2), ("no-spans", True, 3)]
    lever, no_spans = results["variants"][2:]
    assert lever["env"] == {"OTEL_BSP_SCHEDULE_DELAY": "1000"}
    assert {"analytics", "catalog", "pricing", "stock"} <= set(lever["services_with_env"])
    assert "first complete trace" in lever["startup_s"]
    # A stack whose sampler keeps nothing is up when it answers: no complete trace will ever come.
    assert "first response" in no_spans["startup_s"] and "first complete trace" not in no_spans["startup_s"]
    for variant in results["variants"]:
        assert len(variant["slices"]) == rounds and all(s["requests"] > 0 for s in variant["slices"])
        cpu = variant["slices"][0]["cpu_ms_per_request"]
        assert {"catalog", "pricing", "stock", "analytics", "stack total"} <= set(cpu)
        assert variant["memory_loaded"]["total"]["rss_mib"] > 0
    # Round 1 runs untraced, traced, the levers; round 2 the reverse.
    at = [[s["at_s"] for s in v["slices"]] for v in results["variants"]]
    assert at[0][0] < at[1][0] < at[2][0] < at[3][0] < at[3][1] < at[2][1] < at[1][1] < at[0][1]
    effects = results["summary"]["effects"]
    assert set(effects) == {"traced", "bsp-1s", "no-spans"} and effects["bsp-1s"]["against"] == "traced"
    assert effects["bsp-1s"]["cpu_ms_per_request"]["pricing"]["rounds"] == rounds

    text = (folder / "summary.md").read_text()
    assert "## Effects" in text and "| bsp-1s | traced |" in text


def test_sigterm_brings_every_stack_of_a_run_down_before_the_bench_exits(tmp_path):
    """A CI job's timeout or `kill` sends SIGTERM: the stacks the bench started must not outlive it."""
    shift = 400
    run_dir = ROOT / f".run-bench-{shift}"
    bench = subprocess.Popen(
        [sys.executable, "-m", "polytrace", "bench", "--quick", "--port-shift", str(shift), "--out", str(tmp_path)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    pidfile = run_dir / "supervisord.pid"
    deadline = time.monotonic() + 120
    while not (pidfile.exists() and pidfile.read_text().strip()) and bench.poll() is None:
        assert time.monotonic() < deadline, "the bench's first stack never started its supervisord"
        time.sleep(0.2)
    supervisord = int(pidfile.read_text())
    time.sleep(2)  # its components starting
    os.kill(bench.pid, signal.SIGTERM)
    output, _ = bench.communicate(timeout=120)

    assert bench.returncode == 128 + signal.SIGTERM, output
    assert not psutil.pid_exists(supervisord) or psutil.Process(supervisord).status() == psutil.STATUS_ZOMBIE, output
    left = [p.info["cmdline"] for p in psutil.process_iter(["cmdline"])
            if any(str(run_dir) in part for part in (p.info["cmdline"] or []))]
    assert not left, left
