"""Start, stop and inspect the stack. No terminal I/O here: progress goes through a Reporter."""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import Protocol

import psutil

from polytrace import builds, postgres, registry
from polytrace.components import Component, all_components, selected_services
from polytrace.config import SERVICES, Settings
from polytrace.errors import PolytraceError
from polytrace.flags import ensure_live_copy
from polytrace.ports import require_free
from polytrace.secrets import load_or_create
from polytrace.supervisor import Supervisor
from polytrace.wait import WaitTimeout, poll_until


class Reporter(Protocol):
    """Progress per piece of work (a component, the database, the stack): what it is doing now, then
    how it ended. A name may get several steps before its one `done`."""

    def step(self, name: str, what: str) -> None: ...
    def done(self, name: str, outcome: str) -> None: ...


class SilentReporter:
    def step(self, name: str, what: str) -> None:
        pass

    def done(self, name: str, outcome: str) -> None:
        pass


@dataclass(frozen=True)
class ComponentStatus:
    name: str
    state: str
    pid: int | None
    port: int
    healthy: bool
    url: str


class Engine:
    def __init__(self, settings: Settings, reporter: Reporter | None = None,
                 clock: Callable[[], float] = time.monotonic):
        self.settings = settings
        self.reporter = reporter or SilentReporter()
        self.clock = clock
        self.supervisor = Supervisor(settings.run_dir)

    # ---- build ---------------------------------------------------------------------------------

    def build(self, names: Iterable[str] | None = None) -> None:
        definitions = builds.definitions(self.settings.root)
        wanted = list(names) if names is not None else self._buildable()
        for name in wanted:
            build = definitions[name]
            if not builds.is_stale(build, self.settings.build_dir):
                self.reporter.done(name, "up to date")
                continue
            started = self.clock()
            builds.run(build, self.settings.build_dir, self.settings.logs_dir,
                       on_step=lambda step, name=name: self.reporter.step(name, f"building: {builds.describe(step)}"))
            self.reporter.done(name, f"built in {self.clock() - started:.0f}s")

    def _buildable(self) -> list[str]:
        """What this stack needs built: the viewer only when it runs, services only when selected."""
        services = selected_services()
        return [spec.name for spec in registry.specs() if spec.build
                and (spec.when != "viewer" or self.settings.viewer_enabled)
                and (spec.kind != "service" or spec.name in services)]

    # ---- up ------------------------------------------------------------------------------------

    def up(self) -> list[Component]:
        running = self.supervisor.pid()
        if running:
            raise PolytraceError(
                f"polytrace is already running (supervisord pid {running}, {self.settings.run_dir}); "
                "see `polytrace status`, or stop it with `polytrace down`"
            )
        passwords = load_or_create(self.settings.run_dir)
        components = all_components(self.settings, passwords)
        require_free({c.name: c.port for c in components})
        self.build()
        self.settings.logs_dir.mkdir(parents=True, exist_ok=True)
        if not postgres.has_cluster(self.settings.run_dir):
            self.reporter.step("postgres", "creating its cluster (initdb, first start only)")
            started = self.clock()
            postgres.ensure_cluster(self.settings.run_dir, passwords["admin"])
            self.reporter.done("postgres", f"cluster created in {self.clock() - started:.1f}s")
        postgres.write_mosquitto_config(
            self.settings.root, self.settings.run_dir, self.settings.ports["mosquitto"]
        )
        ensure_live_copy(self.settings)
        self.supervisor.write_config(components)
        self.supervisor.start_daemon()
        self._save_state(components)
        try:
            for phase in sorted({c.phase for c in components}):
                self._start_phase([c for c in components if c.phase == phase])
                if phase == 0:
                    self.reporter.step("database", "provisioning schemas, roles and seed data")
                    postgres.provision(self.settings.root, self.settings.ports["postgres"], passwords)
                    self.reporter.done("database", "schemas, roles and seed data in place")
        except BaseException:
            self.down()
            raise
        return components

    def _start_phase(self, phase: list[Component]) -> None:
        started = self.clock()
        for component in phase:
            self.supervisor.start(component.name)
            self.reporter.step(component.name, "starting, waiting until it is ready")
        pending = {c.name: c for c in phase}
        while pending:
            for name, component in list(pending.items()):
                if self._ready(component, started):
                    del pending[name]
                    self.reporter.done(name, f"ready in {self.clock() - started:.1f}s  {component.url}")
            if pending:
                time.sleep(0.1)

    def _ready(self, component: Component, started: float) -> bool:
        """True when ready; raises when the process died or its time ran out."""
        info = self.supervisor.info(component.name)
        if info["statename"] in ("EXITED", "FATAL", "STOPPED", "BACKOFF"):
            raise PolytraceError(
                f"{component.name} exited during startup ({info['statename']}, status "
                f"{info.get('exitstatus')}); last lines of {self._log(component.name)}:\n"
                + self.log_tail(component.name)
            )
        try:
            if component.probe():
                return True
        except Exception as exc:  # noqa: BLE001 - not ready yet
            last = exc
        else:
            last = None
        if self.clock() - started > component.ready_timeout:
            raise PolytraceError(
                f"{component.name} was not ready after {component.ready_timeout:g}s "
                f"(last check: {last}); see {self._log(component.name)}:\n" + self.log_tail(component.name)
            )
        return False

    # ---- one component -------------------------------------------------------------------------

    def stop_component(self, name: str) -> None:
        self._require_running()
        self.supervisor.stop(name)

    def start_component(self, name: str) -> None:
        self._require_running()
        components = {c.name: c for c in self._components()}
        if name not in components:
            raise PolytraceError(f"unknown component {name!r} (known: {', '.join(components)})")
        self._start_phase([components[name]])

    # ---- down ----------------------------------------------------------------------------------

    def down(self, timeout: float = 90.0) -> list[int]:
        """Stop everything; returns pids that had to be killed because they outlived supervisord."""
        pid = self.supervisor.pid()
        tracked = self._tracked_pids()
        if pid:
            self.reporter.step("stack", "stopping every component")
            try:
                self.supervisor.shutdown()
            except OSError:
                pass
            poll_until(lambda: not psutil.pid_exists(pid) or _is_zombie(pid),
                       "supervisord to stop every component", timeout)
        leftovers = [p for p in tracked if psutil.pid_exists(p) and not _is_zombie(p)]
        for leftover in leftovers:
            try:
                os.kill(leftover, signal.SIGKILL)
            except ProcessLookupError:
                pass
        (self.settings.run_dir / "state.json").unlink(missing_ok=True)
        if pid:
            self.reporter.done("stack", "stopped")
        return leftovers

    # ---- status --------------------------------------------------------------------------------

    def status(self) -> list[ComponentStatus]:
        self._require_running()
        infos = {i["name"]: i for i in self.supervisor.all_info()}
        result = []
        for component in self._components():
            info = infos.get(component.name, {})
            try:
                healthy = bool(component.probe())
            except Exception:  # noqa: BLE001 - unhealthy
                healthy = False
            result.append(ComponentStatus(
                name=component.name,
                state=info.get("statename", "UNKNOWN"),
                pid=info.get("pid") or None,
                port=component.port,
                healthy=healthy,
                url=component.url,
            ))
        return result

    def log_tail(self, name: str, lines: int = 20) -> str:
        path = self._log(name)
        if not path.exists():
            return "(no log)"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])

    def _log(self, name: str):
        return self.settings.logs_dir / f"{name}.log"

    # ---- state shared between `up` and later commands -------------------------------------------

    def _components(self) -> list[Component]:
        """The components the running `up` started, with the settings it was given."""
        state_file = self.settings.run_dir / "state.json"
        settings, services = self.settings, None
        if state_file.exists():
            state = json.loads(state_file.read_text())
            settings = replace(
                self.settings,
                ports=state["ports"],
                otlp_endpoint=state["otlp_endpoint"],
                tracing=state["tracing"],
                debug_endpoints=state["debug_endpoints"],
                extra_env=state.get("extra_env", {}),
            )
            services = state["services"]
        return all_components(settings, load_or_create(self.settings.run_dir), services)

    def _require_running(self) -> None:
        if not self.supervisor.pid():
            raise PolytraceError(
                f"polytrace is not running ({self.settings.run_dir}); start it with `polytrace up`"
            )

    def _save_state(self, components: list[Component]) -> None:
        settings = self.settings
        state = {
            "supervisord": self.supervisor.pid(),
            "ports": dict(settings.ports),
            "otlp_endpoint": settings.otlp_endpoint,
            "tracing": settings.tracing,
            "debug_endpoints": settings.debug_endpoints,
            "extra_env": dict(settings.extra_env),
            "services": [c.name for c in components if c.name in SERVICES],
        }
        (self.settings.run_dir / "state.json").write_text(json.dumps(state))

    def _tracked_pids(self) -> list[int]:
        """supervisord and every process below it: what `down` must leave dead."""
        pid = self.supervisor.pid()
        if not pid:
            return []
        try:
            parent = psutil.Process(pid)
            return [pid, *(child.pid for child in parent.children(recursive=True))]
        except psutil.NoSuchProcess:
            return []


def _is_zombie(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


__all__ = ["Engine", "ComponentStatus", "SilentReporter", "WaitTimeout"]
