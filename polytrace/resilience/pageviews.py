"""The page views analytics stored (analytics.page_view), read as the administrator with psql."""

from __future__ import annotations

import os
import subprocess
import time

from polytrace.components import ADMIN_ROLE, DATABASE
from polytrace.errors import PolytraceError


class PageViewTable:
    def __init__(self, port: int, admin_password: str):
        self.port = port
        self.env = {**os.environ, "PGPASSWORD": admin_password, "PGCONNECT_TIMEOUT": "5"}

    def rows(self, since: float, until: float) -> list[tuple[str, str]]:
        """(id, path) of the views whose event was created in [since, until] (Unix seconds, catalog's clock).

        By `ts`, the time catalog created the event, not `received_at`: a view held back by a fault
        and stored later still belongs to the request that caused it.
        """
        query = ("SELECT id, path FROM analytics.page_view "
                 f"WHERE ts >= to_timestamp({since:.3f}) AND ts <= to_timestamp({until:.3f})")
        result = subprocess.run(
            ["psql", "-X", "-A", "-t", "-F", "\t", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p", str(self.port),
             "-U", ADMIN_ROLE, "-d", DATABASE, "-c", query],
            capture_output=True, text=True, env=self.env, timeout=30, check=False)
        if result.returncode != 0:
            raise PolytraceError(f"reading analytics.page_view failed: {result.stderr.strip()[-300:]}")
        return [tuple(line.split("\t", 1)) for line in result.stdout.splitlines() if line]

    def settle(self, since: float, until: float, expected: int, quiet_s: float, timeout_s: float
               ) -> tuple[list[tuple[str, str]], float]:
        """Rows once `expected` are there or the count has not moved for quiet_s; and how long that took."""
        started = time.monotonic()
        rows = self.rows(since, until)
        last_change = started
        while len(rows) < expected and time.monotonic() - last_change < quiet_s \
                and time.monotonic() - started < timeout_s:
            time.sleep(1.0)
            current = self.rows(since, until)
            if len(current) != len(rows):
                last_change = time.monotonic()
            rows = current
        return rows, time.monotonic() - started
