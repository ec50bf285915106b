"""The stack under test: the real `polytrace up`, on its own ports and run directory."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests

from polytrace.capture.golden import missing_parts
from polytrace.capture.otlp import Span
from polytrace.capture.receiver import OtlpReceiver
from polytrace.ports import port_block, port_is_free
from polytrace.wait import poll_until

ROOT = Path(__file__).resolve().parent.parent

# Away from the defaults, so the suite can run beside a developer's `make run`.
TEST_PORTS = port_block(28000)


class Stack:
    def __init__(self, receiver: OtlpReceiver | None, run_dir: Path | None = None,
                 ports: dict[str, int] | None = None, services: str | None = None,
                 extra_env: dict[str, str] | None = None):
        self.receiver = receiver
        self.ports = dict(ports or TEST_PORTS)
        self.run_dir = run_dir or ROOT / ".run-test"
        self.env = {
            **os.environ,
            "POLYTRACE_RUN_DIR": str(self.run_dir),
            **{f"POLYTRACE_{name.upper()}_PORT": str(port) for name, port in self.ports.items()},
        }
        self.env.pop("POLYTRACE_OTLP_ENDPOINT", None)
        self.env.pop("POLYTRACE_EXTRA_ENV", None)
        if extra_env:  # e.g. {"POLYTRACE_EXTRA_ENV": "OTEL_PROPAGATORS=b3"}
            self.env.update(extra_env)
        if services:
            self.env["POLYTRACE_SERVICES"] = services
        self.http = requests.Session()

    # ---- the CLI -------------------------------------------------------------------------------

    def polytrace(self, *args: str, check: bool = True, timeout: float = 600) -> subprocess.CompletedProcess:
        result = subprocess.run(
            [sys.executable, "-m", "polytrace", *args],
            cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=timeout, check=False,
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"polytrace {' '.join(args)} exited {result.returncode}\n{result.stdout}\n{result.stderr}"
            )
        return result

    def up(self, *extra: str) -> None:
        """Exports go to the receiver when there is one, else to the bundled viewer.

        `--debug-endpoints`: POST /debug/tracecontext on every service (test_tracecontext.py).
        """
        endpoint = ("--otlp-endpoint", self.receiver.endpoint) if self.receiver else ()
        self.polytrace("up", "--detach", "--debug-endpoints", *endpoint, *extra)

    @contextmanager
    def running(self, *extra: str) -> Iterator[Stack]:
        """Up for the block, down afterwards; no port of it may stay taken (a fixture's whole body)."""
        self.polytrace("down", check=False)  # a stack left by an interrupted run
        self.up(*extra)
        try:
            yield self
        finally:
            self.polytrace("down")
            taken = [name for name, port in self.ports.items() if not port_is_free(port)]
            assert not taken, f"ports left taken after `polytrace down`: {taken}"

    def status(self) -> dict[str, dict]:
        result = self.polytrace("status", "--json", check=False)
        return {entry["name"]: entry for entry in json.loads(result.stdout)}

    def log(self, name: str) -> str:
        path = self.run_dir / "logs" / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    # ---- HTTP ----------------------------------------------------------------------------------

    def url(self, service: str, path: str = "") -> str:
        return f"http://127.0.0.1:{self.ports[service]}{path}"

    def get(self, service: str, path: str, **kwargs) -> requests.Response:
        kwargs.setdefault("timeout", 10)
        return self.http.get(self.url(service, path), **kwargs)

    # ---- traces --------------------------------------------------------------------------------

    def wait_for_trace(self, trace_id: str, expectation: str, timeout: float = 20) -> list[Span]:
        """The trace once every span of the expectation arrived (the exporters batch for 500 ms)."""
        return poll_until(
            lambda: (trace := self.receiver.trace(trace_id))
            and not missing_parts(trace, expectation, self.ports) and trace,
            lambda: f"trace {trace_id} to match {expectation}: "
                    f"{missing_parts(self.receiver.trace(trace_id), expectation, self.ports)}",
            timeout,
        )

    def wait_for_spans(self, description: str, predicate, timeout: float = 20) -> list[Span]:
        return poll_until(lambda: [s for s in self.receiver.spans() if predicate(s)], description, timeout)
