"""How each kind of fault is caused and undone, on a running stack."""

from __future__ import annotations

import os
import signal
from collections.abc import Callable
from dataclasses import dataclass

from polytrace import flags
from polytrace.engine import Engine
from polytrace.errors import PolytraceError
from polytrace.resilience.plan import Scenario
from polytrace.resilience.receiver import PausableReceiver


@dataclass(frozen=True)
class Fault:
    inject: Callable[[], None]
    undo: Callable[[], None]


def fault_for(scenario: Scenario, engine: Engine, receiver: PausableReceiver) -> Fault:
    target = scenario.target
    if scenario.kind == "stop":  # what `polytrace stop/start COMPONENT` do
        return Fault(lambda: engine.stop_component(target), lambda: engine.start_component(target))
    if scenario.kind == "kill":
        return Fault(lambda: _signal(engine, target, signal.SIGKILL), lambda: engine.start_component(target))
    if scenario.kind == "freeze":
        return Fault(lambda: _signal(engine, target, signal.SIGSTOP), lambda: _signal(engine, target, signal.SIGCONT))
    if scenario.kind == "receiver":
        return Fault(receiver.pause, receiver.resume)
    if scenario.kind == "flag":
        settings = engine.settings
        return Fault(lambda: flags.set_flag(settings, target, scenario.value or ""),
                     lambda: flags.reset(settings, target))
    raise PolytraceError(f"scenario {scenario.name}: unknown kind of fault {scenario.kind!r}")


def _signal(engine: Engine, name: str, signum: signal.Signals) -> None:
    """The signal to the process supervisord started for `name` (the pid `polytrace status` shows)."""
    pid = engine.supervisor.info(name).get("pid")
    if not pid:
        raise PolytraceError(f"{name} has no running process to send {signum.name} to")
    os.kill(pid, signum)
