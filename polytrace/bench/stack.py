"""One stack under benchmark: the real Engine, on the bench ports and run directory, with timings."""

from __future__ import annotations

import re
import subprocess
import time
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path

import psutil

from polytrace import postgres
from polytrace.bench.plan import Plan
from polytrace.config import ROOT, SERVICES, Settings, load_settings, port_variable
from polytrace.engine import Engine
from polytrace.secrets import load_or_create

# What the SDKs log when they lose spans (Python, Java agent, Rust, Node), matched case-insensitively.
DROP_PATTERNS = re.compile(
    r"queue is full|dropp(ed|ing) \d* ?spans?|spans? (were |was )?dropped|channel is full|"
    r"failed to export|export(ing)? failed|exporter.*(error|fail)|maxQueueSize",
    re.IGNORECASE,
)


def bench_env(run_dir: Path, ports: dict[str, int]) -> dict[str, str]:
    return {
        "POLYTRACE_RUN_DIR": str(run_dir),
        **{port_variable(name): str(port) for name, port in ports.items()},
    }


def stack_settings(run_dir: Path, ports: dict[str, int], *, tracing: bool, otlp_endpoint: str | None) -> Settings:
    """The settings of a stack on its own ports and run directory (a benchmark's, or the resilience run's)."""
    return load_settings(env=bench_env(run_dir, ports), tracing=tracing, otlp_endpoint=otlp_endpoint)


class TimingReporter:
    """Records when each component reported ready, relative to the start of `up`."""

    def __init__(self, echo) -> None:
        self.echo = echo
        self.started = time.monotonic()
        self.ready: dict[str, float] = {}

    def step(self, name: str, what: str) -> None:
        self.echo(f"    … {name}: {what}")

    def done(self, name: str, outcome: str) -> None:
        if outcome.startswith("ready in "):
            self.ready[name] = round(time.monotonic() - self.started, 2)
        self.echo(f"    ✓ {name}: {outcome}")


class BenchStack:
    def __init__(self, settings: Settings, *, echo):
        self.settings = settings
        self.echo = echo
        self.reporter = TimingReporter(echo)
        self.engine = Engine(settings, self.reporter)
        self.log_offsets: dict[str, int] = {}

    @classmethod
    def for_plan(cls, plan: Plan, *, tracing: bool, otlp_endpoint: str | None, echo, slot: int | None = None,
                 lever_env: Mapping[str, str] | None = None) -> BenchStack:
        """The untraced (slot 0) or traced (slot 1) stack; an ablation's lever in its own slot, its variables last."""
        slot = int(tracing) if slot is None else slot
        settings = stack_settings(ROOT / plan.run_dir_name(slot), plan.ports(slot), tracing=tracing,
                                  otlp_endpoint=otlp_endpoint)
        extra = {**(plan.otel_env if tracing else {}), **(lever_env or {})}
        if extra:
            settings = replace(settings, extra_env=extra)
        return cls(settings, echo=echo)

    @property
    def ports(self) -> dict[str, int]:
        return dict(self.settings.ports)

    def prepare(self) -> None:
        """Builds and the database cluster exist before anything is timed."""
        self.engine.down()  # a bench stack left by an interrupted run
        self.engine.build()
        passwords = load_or_create(self.settings.run_dir)
        self.settings.logs_dir.mkdir(parents=True, exist_ok=True)
        postgres.ensure_cluster(self.settings.run_dir, passwords["admin"])

    def up(self) -> dict[str, float]:
        """`polytrace up` on a built tree: seconds from its start to each component's readiness."""
        self.reporter.started = time.monotonic()
        self.reporter.ready = {}
        self.engine.up()
        total = round(time.monotonic() - self.reporter.started, 2)
        return {**self.reporter.ready, "all healthy": total}

    def down(self) -> None:
        self.engine.down()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.settings.ports['catalog']}{path}"

    def services_with(self, env: Mapping[str, str]) -> list[str]:
        """The services whose process was started with every one of `env`'s variables, as given (/proc)."""
        found = []
        for name, pid in self.pids().items():
            if name not in SERVICES:
                continue
            try:
                environ = psutil.Process(pid).environ()
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                continue
            if all(environ.get(k) == v for k, v in env.items()):
                found.append(name)
        return sorted(found)

    # ---- memory --------------------------------------------------------------------------------

    def pids(self) -> dict[str, int]:
        """Each running component's pid, from supervisord: no health probe, so sampling stays cheap mid-fault."""
        return {info["name"]: info["pid"] for info in self.engine.supervisor.all_info() if info.get("pid")}

    def memory(self) -> dict[str, dict[str, float]]:
        """RSS and PSS (MiB) of each component's process tree, from the pids supervisord reports."""
        result = {}
        for name, pid in self.pids().items():
            rss = pss = 0
            try:
                root = psutil.Process(pid)
                for process in [root, *root.children(recursive=True)]:
                    try:
                        info = process.memory_full_info()
                    except (psutil.NoSuchProcess, psutil.AccessDenied):
                        continue
                    rss += info.rss
                    pss += getattr(info, "pss", info.rss)
            except psutil.NoSuchProcess:
                continue
            result[name] = {"rss_mib": round(rss / 2**20, 1), "pss_mib": round(pss / 2**20, 1)}
        result["total"] = {key: round(sum(v[key] for v in result.values()), 1) for key in ("rss_mib", "pss_mib")}
        return result

    # ---- CPU -----------------------------------------------------------------------------------

    def cpu_seconds(self) -> dict[str, float]:
        """CPU time (user + system) used so far by each component's process tree, and by the machine."""
        result = {}
        for name, pid in self.pids().items():
            total = 0.0
            try:
                root = psutil.Process(pid)
                for process in [root, *root.children(recursive=True)]:
                    try:
                        times = process.cpu_times()
                    except psutil.NoSuchProcess:
                        continue
                    total += times.user + times.system + times.children_user + times.children_system
            except psutil.NoSuchProcess:
                continue
            result[name] = total
        machine = psutil.cpu_times()
        result["machine busy"] = machine.user + machine.system + machine.nice + machine.irq + machine.softirq
        return result

    # ---- a stack that stopped answering --------------------------------------------------------

    def dump_threads(self, tag: str) -> list[Path]:
        """Thread dumps of the stack's JVMs into its logs folder, for a slice that got no answer.

        Taken while the stack is still up: once it is down, a hang leaves nothing to read (it
        happened once to an untraced catalog, services/catalog/README.md "Known limits").
        """
        written = []
        for name, pid in self.pids().items():
            try:
                if psutil.Process(pid).name() != "java":
                    continue
                dump = subprocess.run(["jcmd", str(pid), "Thread.print"], capture_output=True, text=True,
                                      timeout=30)
            except (psutil.NoSuchProcess, OSError, subprocess.TimeoutExpired):
                continue
            path = self.settings.logs_dir / f"{name}-threads-{tag}.txt"
            path.write_text(dump.stdout + dump.stderr)
            written.append(path)
        return written

    # ---- logs ----------------------------------------------------------------------------------

    def mark_logs(self) -> None:
        for name in SERVICES:
            path = self.settings.logs_dir / f"{name}.log"
            self.log_offsets[name] = path.stat().st_size if path.exists() else 0

    def drop_messages(self) -> dict[str, list[str]]:
        """Lines since mark_logs() in which an SDK says it lost or failed to export spans."""
        found: dict[str, list[str]] = {}
        for name in SERVICES:
            path = self.settings.logs_dir / f"{name}.log"
            if not path.exists():
                continue
            with path.open("rb") as handle:
                handle.seek(self.log_offsets.get(name, 0))
                text = handle.read().decode(errors="replace")
            lines = [line.strip()[:300] for line in text.splitlines() if DROP_PATTERNS.search(line)]
            if lines:
                found[name] = lines
        return found
