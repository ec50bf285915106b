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
    description: str,
    timeout: float,
    interval: float = 0.1,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Call `predicate` until it returns a truthy value, and return that value.

    Exceptions raised by the predicate count as "not yet"; the last one is reported when
    the time runs out, together with what was being waited for.
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
            raise WaitTimeout(f"timed out after {timeout:g}s waiting for {description}{detail}")
        sleep(interval)
