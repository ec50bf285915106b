"""Real gunicorn (gunicorn.conf.py, 4 forked workers): each worker has its own flags provider and
file watcher, and a rename-replaced flags file reaches every worker within 2 s; each request is one
log line, ours, not gunicorn's access line.

No database: PGPORT points at a closed port, so a request the flags leave alone answers 503 and
one they fail answers 500 (the flags are evaluated before the database is asked).
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

SERVICE = Path(__file__).resolve().parents[1]
WORKERS = 4


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def gunicorn(tmp_path, flags_defaults):
    flags_file = tmp_path / "flags.json"
    flags_file.write_text(flags_defaults.read_text())
    port, closed = _free_port(), _free_port()
    log_path = tmp_path / "gunicorn.log"
    log = log_path.open("w")
    env = {
        "PATH": str(Path(sys.executable).parent),
        "HOME": str(tmp_path),
        "PORT": str(port),
        "WEB_CONCURRENCY": str(WORKERS),
        "PGPORT": str(closed),
        "PGCONNECT_TIMEOUT": "1",
        "FLAGD_RESOLVER": "file",
        "FLAGD_OFFLINE_FLAG_SOURCE_PATH": str(flags_file),
    }
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "gunicorn"), "-c", "gunicorn.conf.py"],
        cwd=SERVICE,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}/prices/1"
    try:
        deadline = time.monotonic() + 90  # four workers importing at once on a busy 2-core machine
        while len(_pids(log_path, "app.ready")) < WORKERS:
            assert process.poll() is None, log_path.read_text()
            assert time.monotonic() < deadline, f"gunicorn's workers did not start:\n{log_path.read_text()}"
            time.sleep(0.1)
        yield url, flags_file, log_path
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


def _burst(url: str, n: int = 2 * WORKERS) -> list[int]:
    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(lambda _: requests.get(url, timeout=30).status_code, range(n)))


def _pids(log: Path, event: str) -> set[int]:
    """The workers that logged `event` (one JSON object per line, each with its pid)."""
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    return {line["pid"] for line in lines if line.get("event") == event}


def test_every_worker_applies_a_rename_replaced_file_within_2_s(gunicorn, write_flags):
    url, flags_file, log = gunicorn
    assert set(_burst(url)) == {503}  # flags off: the (absent) database answers
    # With a latency each sync worker is busy for a while, so a burst reaches all of them.
    write_flags(flags_file, pricingFailureRate=100, pricingLatencyMs=300)
    start = time.monotonic()
    while set(statuses := _burst(url)) != {500}:
        assert time.monotonic() - start < 2.0 + 1.0, statuses  # + the burst's own time
        time.sleep(0.05)
    assert len(_pids(log, "app.fault.injected")) == WORKERS
    write_flags(flags_file)
    start = time.monotonic()
    while set(_burst(url)) != {503}:
        assert time.monotonic() - start < 3.0
        time.sleep(0.05)


def test_one_log_line_per_request_and_no_access_line_of_gunicorn_s(gunicorn):
    url, _flags_file, log = gunicorn
    statuses = _burst(url)
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    assert [line for line in lines if line["logger"] == "gunicorn.access"] == []
    completed = [line["status"] for line in lines if line.get("event") == "request.completed"]
    assert sorted(completed) == sorted(statuses)
