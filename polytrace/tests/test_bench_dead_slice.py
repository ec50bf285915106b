"""A throughput slice that got no answer keeps thread dumps of the stack's JVMs (taken while it is up)."""

from __future__ import annotations

from pathlib import Path

from polytrace.bench import load, runner
from polytrace.bench.plan import Plan
from polytrace.bench.results import Slice
from polytrace.config import ROOT


class FakeStack:
    ports = {"catalog": 1}

    def __init__(self) -> None:
        self.dumped: list[str] = []

    def cpu_seconds(self) -> dict[str, float]:
        return {"catalog": 1.0, "machine busy": 2.0}

    def dump_threads(self, tag: str) -> list[Path]:
        self.dumped.append(tag)
        return [ROOT / ".run-bench" / "logs" / f"catalog-threads-{tag}.txt"]


def _slice(requests: int) -> Slice:
    return Slice(duration_s=8, connections=16, target_rate=None, requests=requests, requests_per_s=requests / 8,
                 ok_per_s=requests / 8, status_codes={"200": requests} if requests else {},
                 errors={} if requests else {"aborted due to deadline": 16}, latency_ms={})


def test_a_slice_with_no_answer_keeps_thread_dumps(monkeypatch):
    monkeypatch.setattr(load, "run_oha", lambda *a, **k: _slice(0))
    stack = FakeStack()
    result = runner.throughput_slice(Plan.make(False), stack, 71.3)
    assert stack.dumped == ["71s"]
    assert result.thread_dumps == [".run-bench/logs/catalog-threads-71s.txt"]


def test_a_slice_with_answers_takes_no_dump(monkeypatch):
    monkeypatch.setattr(load, "run_oha", lambda *a, **k: _slice(2000))
    stack = FakeStack()
    result = runner.throughput_slice(Plan.make(False), stack, 10.0)
    assert stack.dumped == [] and result.thread_dumps is None
