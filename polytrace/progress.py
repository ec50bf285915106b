"""What a person watches while polytrace works: a live line per component (builds, `up`) and a bar
with the phase and the time left (`bench`, `resilience`).

Both redraw only on a terminal. Elsewhere (CI logs, pipes, the tests' captured output) a redrawn
line would be a stream of control characters, so there are only plain lines: one when a component
starts and one when it is done; the phases are already announced by the runners' own lines.
"""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Sequence

from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
)

Phase = tuple[str, float, int]  # name, expected seconds, how many stacks it starts


class PhaseProgress:
    """A progress bar with the phase and the time left (stderr, only on a terminal: logs stay plain).

    The time left is the planned length of the phases to come plus what remains of this one; the
    phases that start stacks, whose length no plan can know, are re-estimated from the startups
    measured so far.
    """

    def __init__(self, phases: Sequence[Phase], console: Console | None, clock=time.monotonic):
        self.phases = list(phases)
        self.index = -1
        self.clock = clock
        self.started = self.phase_started = clock()
        self.startups: list[float] = []  # measured seconds per stack started
        self._bar = Progress(TextColumn("{task.description}"), BarColumn(), TaskProgressColumn(),
                             TimeElapsedColumn(), TextColumn("[dim]about {task.fields[left]} left"),
                             console=console, transient=True) if console and console.is_terminal else None
        self._task = None
        self._stop = threading.Event()

    def __enter__(self) -> PhaseProgress:
        if self._bar:
            self._bar.start()
            self._task = self._bar.add_task("starting", total=1000, left="?")
            threading.Thread(target=self._tick, daemon=True).start()
        return self

    def __exit__(self, *_exc) -> None:
        self._stop.set()
        if self._bar:
            self._bar.stop()

    def phase(self, name: str) -> None:
        now = self.clock()
        if 0 <= self.index < len(self.phases) and (stacks := self.phases[self.index][2]):
            self.startups += [(now - self.phase_started) / stacks] * stacks
        names = [phase[0] for phase in self.phases]
        self.index = names.index(name) if name in names else self.index
        self.phase_started = now

    def expected(self, index: int) -> float:
        _name, seconds, stacks = self.phases[index]
        if stacks and self.startups:
            return statistics.fmean(self.startups) * stacks
        return seconds

    def left_s(self) -> float:
        if self.index < 0:
            return sum(self.expected(i) for i in range(len(self.phases)))
        in_phase = max(0.0, self.expected(self.index) - (self.clock() - self.phase_started))
        return in_phase + sum(self.expected(i) for i in range(self.index + 1, len(self.phases)))

    def _tick(self) -> None:
        while not self._stop.wait(0.5):
            elapsed = self.clock() - self.started
            left = self.left_s()
            name = self.phases[self.index][0] if self.index >= 0 else "starting"
            self._bar.update(self._task, description=name, completed=1000 * elapsed / max(1e-9, elapsed + left),
                             left=_minutes(left))


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:.0f} min" if seconds >= 90 else f"{seconds:.0f} s"
