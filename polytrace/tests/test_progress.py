"""Progress a person reads: live lines per component on a terminal, plain lines elsewhere; resilience's phases."""

from __future__ import annotations

import io
import re

import pytest
from rich.console import Console

from polytrace.progress import LiveLines, PhaseProgress
from polytrace.resilience import runner
from polytrace.resilience.plan import SCENARIOS, Plan


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def work(reporter: LiveLines, clock: Clock) -> None:
    reporter.step("analytics", "building: npm ci --omit=[dev]")  # text, not markup
    reporter.done("analytics", "built in 0s")
    reporter.step("catalog", "building: mvn -q -B package")
    reporter.step("pricing", "building: python3 -m venv .venv")
    clock.now += 4
    reporter.step("pricing", "building: pip install -e .[test]")  # a later step of the same build
    reporter.done("pricing", "built in 4s")
    clock.now += 33
    reporter.done("catalog", "built in 37s")
    reporter.done("stock", "up to date")


def test_without_a_terminal_one_plain_line_per_start_and_per_finish():
    console = Console(file=io.StringIO(), force_terminal=False, width=200)
    work(LiveLines(console, Clock()), Clock())
    assert not re.search(r"[\x00-\x09\x0b-\x1f]", console.file.getvalue())  # no redraws in a CI log
    assert console.file.getvalue().splitlines() == [
        "… analytics: building: npm ci --omit=[dev]",
        "✓ analytics: built in 0s",
        "… catalog: building: mvn -q -B package",
        "… pricing: building: python3 -m venv .venv",
        "✓ pricing: built in 4s",
        "✓ catalog: built in 37s",
        "✓ stock: up to date",
    ]


def test_on_a_terminal_a_live_line_per_component_with_what_it_does_and_for_how_long():
    clock = Clock()
    console = Console(file=io.StringIO(), force_terminal=True, width=100, color_system=None)
    reporter = LiveLines(console, clock)
    reporter.step("catalog", "building: mvn -q -B package")
    reporter.step("pricing", "building: python3 -m venv .venv")
    clock.now += 37
    reporter.step("pricing", "building: pip install -e .[test]")
    reporter._live.refresh()
    live = _plain(console.file.getvalue())
    assert re.search(r"catalog +building: mvn -q -B package +0:00:37", live), live
    assert re.search(r"pricing +building: pip install -e \.\[test\] +0:00:37", live), live
    reporter.done("pricing", "built in 37s")
    reporter.done("catalog", "built in 37s")
    assert not reporter._live.live.is_started  # nothing left running: later output is not redrawn over
    assert "✓ pricing: built in 37s" in _plain(console.file.getvalue())


def test_close_ends_the_live_lines_of_a_failed_start():
    console = Console(file=io.StringIO(), force_terminal=True, width=100)
    reporter = LiveLines(console)
    reporter.step("catalog", "starting, waiting until it is ready")
    reporter.close()
    assert not reporter._live.live.is_started


def _plain(output: str) -> str:
    return re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", output)


@pytest.mark.parametrize("quick", [True, False])
def test_resilience_plans_a_startup_a_warm_up_then_load_and_counting_per_scenario(quick):
    plan = Plan.make(quick, rate=10.0)
    phases = runner.planned_phases(plan)
    names = [name for name, _seconds, _stacks in phases]
    assert names[:2] == [runner.STARTING, runner.WARMUP] and len(set(names)) == len(names)
    assert [stacks for _name, _seconds, stacks in phases] == [1] + [0] * (len(phases) - 1)
    scenarios = plan.scenarios if quick else SCENARIOS
    assert names[2::2] == [f"scenario {i}/{len(scenarios)} {s.name}: under load" for i, s in enumerate(scenarios, 1)]
    for (_name, seconds, _stacks), scenario in zip(phases[2::2], scenarios, strict=True):
        assert seconds > plan.baseline_s + scenario.fault_s + plan.recovery_s  # the load, and its start


def test_the_resilience_bar_counts_down_through_its_phases():
    plan = Plan.make(True, rate=10.0)
    clock = Clock()
    phases = runner.planned_phases(plan)
    progress = PhaseProgress(phases, console=None, clock=clock)
    total = progress.left_s()
    progress.phase(runner.STARTING)
    clock.now += 12  # the stack started in 12 s: the bar stops guessing
    progress.phase(runner.WARMUP)
    assert progress.startups == [12.0]
    assert progress.left_s() == pytest.approx(total - phases[0][1])
    for name, seconds, _stacks in phases[1:]:
        progress.phase(name)
        clock.now += seconds
    assert progress.left_s() == 0
