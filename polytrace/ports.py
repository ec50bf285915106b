"""Up-front port checks, so a taken port is one clear error instead of a crashed component."""

from __future__ import annotations

import socket
from collections.abc import Mapping

from polytrace.config import DEFAULT_PORTS, port_variable
from polytrace.errors import PolytraceError


def port_block(base: int) -> dict[str, int]:
    """Every component's port moved into the block base…base+999 (its default's last three digits).

    Tests and benchmarks run their own stacks beside a developer's `make run` this way; bases
    below 32768 keep them out of the kernel's ephemeral range.
    """
    ports = {name: base + port % 1000 for name, port in DEFAULT_PORTS.items()}
    if len(set(ports.values())) != len(ports):
        raise ValueError(f"two default ports share their last three digits: {DEFAULT_PORTS}")
    return ports


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def require_free(ports: Mapping[str, int], is_free=port_is_free) -> None:
    taken = [(name, port) for name, port in ports.items() if not is_free(port)]
    if taken:
        name, port = taken[0]
        more = f" (also taken: {', '.join(f'{n} {p}' for n, p in taken[1:])})" if taken[1:] else ""
        raise PolytraceError(
            f"port {port} for {name} is already in use{more}; "
            f"choose another with --port {name}=PORT or {port_variable(name)}=PORT"
        )
