"""`make resilience`'s progress: the phases it plans, and a bar that counts down through them."""

from __future__ import annotations

import pytest

from polytrace.progress import PhaseProgress
from polytrace.resilience import runner
from polytrace.resilience.plan import SCENARIOS, Plan


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


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
