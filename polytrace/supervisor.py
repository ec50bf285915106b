"""supervisord: the process supervisor polytrace drives (config rendering and its XML-RPC API)."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import xmlrpc.client
from collections.abc import Iterable
from pathlib import Path

from supervisor.xmlrpc import SupervisorTransport

from polytrace.components import Component
from polytrace.errors import PolytraceError


class Supervisor:
    def __init__(self, run_dir: Path):
        self.run_dir = run_dir
        self.conf = run_dir / "supervisord.conf"
        self.socket = run_dir / "supervisor.sock"
        self.pidfile = run_dir / "supervisord.pid"
        self.logs = run_dir / "logs"

    # ---- lifecycle of supervisord itself -------------------------------------------------

    def pid(self) -> int | None:
        """supervisord's pid when it is alive and answering, else None."""
        try:
            pid = int(self.pidfile.read_text())
            os.kill(pid, 0)
        except (OSError, ValueError):
            return None
        try:
            self.rpc().getState()
        except (OSError, xmlrpc.client.Fault):
            return None
        return pid

    def write_config(self, components: Iterable[Component]) -> None:
        self.logs.mkdir(parents=True, exist_ok=True)
        sections = [
            f"[unix_http_server]\nfile={self.socket}\nchmod=0700\n",
            "[supervisord]\n"
            f"logfile={self.logs / 'supervisord.log'}\n"
            f"pidfile={self.pidfile}\n"
            f"directory={self.run_dir}\n"
            "logfile_maxbytes=5MB\nlogfile_backups=1\nloglevel=info\n",
            "[rpcinterface:supervisor]\n"
            "supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface\n",
            f"[supervisorctl]\nserverurl=unix://{self.socket}\n",
        ]
        for index, component in enumerate(components):
            sections.append(_program(component, index, self.logs))
        self.conf.write_text("\n".join(sections))

    def start_daemon(self) -> None:
        result = subprocess.run(
            [sys.executable, "-m", "supervisor.supervisord", "-c", str(self.conf)],
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            output = result.stderr.strip() or result.stdout.strip()
            raise PolytraceError(f"supervisord did not start: {output}")

    def rpc(self):
        transport = SupervisorTransport(None, None, serverurl=f"unix://{self.socket}")
        return xmlrpc.client.ServerProxy("http://127.0.0.1", transport=transport).supervisor

    # ---- programs --------------------------------------------------------------------------

    def start(self, name: str) -> None:
        try:
            self.rpc().startProcess(name, False)
        except xmlrpc.client.Fault as fault:
            if "ALREADY_STARTED" not in fault.faultString:
                raise PolytraceError(f"supervisord could not start {name}: {fault.faultString}") from None

    def stop(self, name: str) -> None:
        try:
            self.rpc().stopProcess(name, True)
        except xmlrpc.client.Fault as fault:
            if "NOT_RUNNING" not in fault.faultString:
                raise PolytraceError(f"supervisord could not stop {name}: {fault.faultString}") from None

    def info(self, name: str) -> dict:
        return self.rpc().getProcessInfo(name)

    def all_info(self) -> list[dict]:
        return self.rpc().getAllProcessInfo()

    def shutdown(self) -> None:
        self.rpc().shutdown()


def _program(component: Component, index: int, logs: Path) -> str:
    env = ",".join(f'{key}="{_escape(value)}"' for key, value in component.env.items())
    lines = [
        f"[program:{component.name}]",
        f"command={' '.join(_escape(shlex.quote(arg)) for arg in component.command)}",
        f"directory={component.cwd}",
        "autostart=false",
        "autorestart=false",
        "startsecs=0",
        "startretries=0",
        f"priority={100 + index}",  # supervisord stops in reverse priority: services before infra
        f"stopsignal={component.stop_signal}",
        "stopwaitsecs=30",
        "stopasgroup=true",
        "killasgroup=true",
        "redirect_stderr=true",
        f"stdout_logfile={logs / (component.name + '.log')}",
        "stdout_logfile_maxbytes=20MB",
        "stdout_logfile_backups=1",
    ]
    if env:
        lines.append(f"environment={env}")
    if component.user:
        lines.append(f"user={component.user}")
    return "\n".join(lines) + "\n"


def _escape(value: str) -> str:
    """supervisord expands %(name)s in values: a literal % is written %%."""
    return value.replace("%", "%%").replace('"', '\\"')
