"""`make bench`'s progress: the phases the runner announces are the ones planned, and the time left adds up."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from rich.console import Console

from polytrace.bench import runner
from polytrace.bench.plan import Plan
from polytrace.progress import PhaseProgress

RUNNER_SOURCE = Path(runner.__file__).read_text()


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def announced(plan: Plan) -> set[str]:
    """The phase names _phases passes to progress.phase(), with the plan's numbers put in."""
    names = set()
    for template in re.findall(r'progress\.phase\(f?"([^"]+)"\)', RUNNER_SOURCE):
        for pair in range(1, plan.pairs + 1):
            names.add(template.replace("{pair}", str(pair)).replace("{plan.pairs}", str(plan.pairs)))
    return names


@pytest.mark.parametrize("quick", [True, False])
def test_every_phase_the_runner_announces_is_planned(quick):
    plan = Plan.make(quick)
    planned = [name for name, _seconds, _starts in runner.planned_phases(plan)]
    assert len(planned) == len(set(planned))
    expected = announced(plan) if plan.viewer_stack else {n for n in announced(plan) if not n.startswith("viewer")}
    assert expected == set(planned)


def test_the_time_left_counts_down_and_learns_from_measured_startups():
    plan = Plan.make(True)
    clock = Clock()
    phases = runner.planned_phases(plan)
    progress = PhaseProgress(phases, console=None, clock=clock)
    total = sum(seconds for _name, seconds, _starts in phases)
    assert progress.left_s() == pytest.approx(total)

    progress.phase(phases[0][0])  # starting two stacks: planned as two guesses
    clock.now += 10
    assert progress.left_s() == pytest.approx(total - 10)
    progress.phase(phases[1][0])  # they took 10 s: 5 s a stack from now on
    assert progress.startups == [5.0, 5.0]
    later_startups = sum(1 for _name, _s, starts in phases[2:] if starts)
    guessed = sum(seconds for _name, seconds, starts in phases[2:] if starts)
    expected_left = total - phases[0][1] - guessed + later_startups * 2 * 5.0
    assert progress.left_s() == pytest.approx(expected_left)
    clock.now += 10_000  # a phase that overruns counts as done, not as negative time
    assert progress.left_s() == pytest.approx(expected_left - phases[1][1])
    progress.phase("a phase nobody planned")  # ignored: the bar keeps the last known phase
    assert progress.phases[progress.index][0] == phases[1][0]


def test_the_bar_shows_only_on_a_terminal():
    plain = Console(file=io.StringIO(), force_terminal=False)
    phases = runner.planned_phases(Plan.make(True))
    with PhaseProgress(phases, console=plain) as progress:
        progress.phase(phases[0][0])
    assert plain.file.getvalue() == ""  # logs and the test harness read plain lines
    terminal = Console(file=io.StringIO(), force_terminal=True, width=100)
    with PhaseProgress(phases, console=terminal) as progress:
        assert progress._bar is not None
