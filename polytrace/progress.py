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
from collections.abc import Callable, Sequence

from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Column

Phase = tuple[str, float, int]  # name, expected seconds, how many stacks it starts


class LiveLines:
    """The engine's reporter for the CLI: while a component builds or starts, a line with what it is
    doing and for how long; once it is done, a ✓ line that stays. Messages are text, not markup:
    `pip install -e .[test]` must not lose its `[test]`."""

    def __init__(self, console: Console, clock: Callable[[], float] = time.monotonic):
        self.console = console
        self._pending: dict[str, TaskID | None] = {}
        # On a narrow terminal the description gives way, never the time.
        what = TextColumn("{task.description}", markup=False,
                          table_column=Column(ratio=1, no_wrap=True, overflow="ellipsis"))
        self._live = Progress(SpinnerColumn(), TextColumn("[bold]{task.fields[name]}"), what, TimeElapsedColumn(),
                              console=console, transient=True, get_time=clock, expand=True) \
            if console.is_terminal else None

    def step(self, name: str, what: str) -> None:
        if name in self._pending:
            if self._live:  # a later step of the same work: the line says what it does now
                self._live.update(self._pending[name], description=what)
            return
        if self._live is None:
            self.console.print(f"[cyan]…[/] {escape(name)}: {escape(what)}")
            self._pending[name] = None
            return
        if not self._pending:
            self._live.start()
        self._pending[name] = self._live.add_task(what, name=name)

    def done(self, name: str, outcome: str) -> None:
        task = self._pending.pop(name, None)
        if self._live and task is not None:
            self._live.remove_task(task)
        self.console.print(f"[green]✓[/] {escape(name)}: {escape(outcome)}")
        if self._live and not self._pending:
            self._live.stop()  # nothing is running: what follows (tables, logs) prints as usual

    def close(self) -> None:
        """Whatever was still pending (a failed start) is dropped; the error says what happened."""
        self._pending.clear()
        if self._live:
            self._live.stop()


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
