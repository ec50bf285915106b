from __future__ import annotations

import psutil
import pytest

from polytrace.capture.receiver import OtlpReceiver
from polytrace.ports import port_is_free
from tests.stack import Stack


@pytest.fixture(scope="session")
def receiver():
    receiver = OtlpReceiver().start()
    yield receiver
    receiver.stop()


@pytest.fixture(scope="session")
def stack(receiver):
    """One real stack for the whole session; `down` must leave no process and no port behind."""
    stack = Stack(receiver)
    stack.polytrace("down", check=False)  # a stack left by an interrupted run
    stack.up()
    processes = _stack_processes(stack)
    try:
        yield stack
    finally:
        processes += _stack_processes(stack)
        stack.polytrace("down")
        alive = [p for p in processes if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
        taken = [name for name, port in stack.ports.items() if name != "viewer" and not port_is_free(port)]
        assert not alive, f"processes left after `polytrace down`: {alive}"
        assert not taken, f"ports still taken after `polytrace down`: {taken}"


def _stack_processes(stack: Stack) -> list[psutil.Process]:
    try:
        root = psutil.Process(int((stack.run_dir / "supervisord.pid").read_text()))
        return [root, *root.children(recursive=True)]
    except (OSError, ValueError, psutil.NoSuchProcess):
        return []


def pytest_configure(config):
    config.addinivalue_line("markers", "last: run after every other test (checks over the whole session)")


def pytest_collection_modifyitems(items):
    """Tests marked `last` (e.g. the semantic-convention check over every span) run at the end."""
    items.sort(key=lambda item: item.get_closest_marker("last") is not None)
