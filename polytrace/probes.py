"""Readiness checks: each returns True when the component can serve, or raises saying why not."""

from __future__ import annotations

import socket
import subprocess
import urllib.error
import urllib.request
from collections.abc import Callable

Probe = Callable[[], bool]


def http_ok(url: str, timeout: float = 1.0) -> Probe:
    def probe() -> bool:
        try:
            with urllib.request.urlopen(url, timeout=timeout) as response:
                return 200 <= response.status < 300
        except urllib.error.HTTPError as exc:
            raise ConnectionError(f"{url} answered {exc.code}") from None

    return probe


def tcp_open(port: int, host: str = "127.0.0.1", timeout: float = 1.0) -> Probe:
    def probe() -> bool:
        with socket.create_connection((host, port), timeout=timeout):
            return True

    return probe


def postgres_ready(pg_isready: str, port: int) -> Probe:
    def probe() -> bool:
        result = subprocess.run(
            [pg_isready, "-q", "-h", "127.0.0.1", "-p", str(port), "-t", "1"], check=False
        )
        if result.returncode != 0:
            raise ConnectionError(f"pg_isready exit status {result.returncode}")
        return True

    return probe
