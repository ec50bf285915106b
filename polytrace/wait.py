"""The one wait primitive, shared by the CLI and the tests: no fixed sleeps anywhere else."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


class WaitTimeout(AssertionError):
    pass


def poll_until(
    predicate: Callable[[], T],
    description: str | Callable[[], str],
    timeout: float,
    interval: float = 0.1,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Call `predicate` until it returns a truthy value, and return that value.

    Exceptions raised by the predicate count as "not yet"; the last one is reported when
    the time runs out, together with what was being waited for. A callable description is
    asked at the deadline, so it can say what was still missing then.
    """
    deadline = clock() + timeout
    last_error: BaseException | None = None
    while True:
        try:
            result = predicate()
            if result:
                return result
            last_error = None
        except Exception as exc:  # noqa: BLE001 - any failure means "not ready yet"
            last_error = exc
        if clock() >= deadline:
            detail = f"; last error: {type(last_error).__name__}: {last_error}" if last_error else ""
            what = description() if callable(description) else description
            raise WaitTimeout(f"timed out after {timeout:g}s waiting for {what}{detail}")
        sleep(interval)
