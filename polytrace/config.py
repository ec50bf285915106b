"""Settings of one polytrace run. Precedence lives here only: flag, then environment, then default."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from polytrace import registry

ROOT = Path(__file__).resolve().parent.parent


def portable(path: str | Path) -> str:
    """A path, or an argument holding one (`-javaagent:PATH`, `--x=PATH`), as committed results may
    name it: relative to the repository, or under `~`, never this machine's absolute layout."""
    text = str(path)
    for base, shown in ((ROOT, ""), (Path.home(), "~/")):
        text = text.replace(f"{base}/", shown)
    return text

# Every port the stack listens on (all on 127.0.0.1), with its environment override: from the registry.
DEFAULT_PORTS: dict[str, int] = registry.default_ports()
SERVICES = registry.services()


def port_variable(name: str) -> str:
    return f"POLYTRACE_{name.upper()}_PORT"


@dataclass(frozen=True)
class Settings:
    root: Path
    run_dir: Path
    ports: Mapping[str, int]
    otlp_endpoint: str | None = None
    tracing: bool = True
    debug_endpoints: bool = False
    extra_env: Mapping[str, str] = field(default_factory=dict)

    @property
    def viewer_enabled(self) -> bool:
        """The bundled viewer runs only when traces go to it (not to the user's endpoint)."""
        return self.tracing and self.otlp_endpoint is None

    @property
    def export_endpoint(self) -> str:
        if self.otlp_endpoint:
            return self.otlp_endpoint.rstrip("/")
        return f"http://127.0.0.1:{self.ports['otlp']}"

    @property
    def logs_dir(self) -> Path:
        return self.run_dir / "logs"

    @property
    def build_dir(self) -> Path:
        # Build stamps belong to the work tree, not to one run directory.
        return self.root / ".run" / "build"


def load_settings(
    *,
    otlp_endpoint: str | None = None,
    ports: Mapping[str, int] | None = None,
    tracing: bool | None = None,
    debug_endpoints: bool | None = None,
    env: Mapping[str, str] | None = None,
    root: Path = ROOT,
) -> Settings:
    env = os.environ if env is None else env
    resolved_ports = dict(DEFAULT_PORTS)
    for name in DEFAULT_PORTS:
        raw = env.get(port_variable(name))
        if raw:
            resolved_ports[name] = _parse_port(raw, port_variable(name))
    for name, port in (ports or {}).items():
        if name not in DEFAULT_PORTS:
            from polytrace.errors import PolytraceError

            raise PolytraceError(f"unknown component {name!r} in --port (known: {', '.join(DEFAULT_PORTS)})")
        resolved_ports[name] = port

    run_dir = Path(env.get("POLYTRACE_RUN_DIR") or root / ".run")
    if not run_dir.is_absolute():
        run_dir = root / run_dir
    endpoint = otlp_endpoint or env.get("POLYTRACE_OTLP_ENDPOINT") or None
    if endpoint:
        _check_endpoint(endpoint)
    if tracing is None:
        tracing = env.get("POLYTRACE_TRACING", "1") not in ("0", "false", "no")
    if debug_endpoints is None:
        debug_endpoints = env.get("POLYTRACE_DEBUG_ENDPOINTS") == "1"
    return Settings(
        extra_env=parse_extra_env(env.get("POLYTRACE_EXTRA_ENV", "")),
        root=root,
        run_dir=run_dir,
        ports=resolved_ports,
        otlp_endpoint=endpoint,
        tracing=tracing,
        debug_endpoints=debug_endpoints,
    )


def parse_extra_env(raw: str) -> dict[str, str]:
    """`POLYTRACE_EXTRA_ENV="NAME=value;NAME2=value"`: variables set on every service, last.

    For experiments and tests that run the stack misconfigured on purpose (for example
    `OTEL_PROPAGATORS=b3`); they override the conventions' values.
    """
    from polytrace.errors import PolytraceError

    extra: dict[str, str] = {}
    for item in filter(None, (part.strip() for part in raw.split(";"))):
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise PolytraceError(f"POLYTRACE_EXTRA_ENV: {item!r} is not NAME=value")
        extra[name.strip()] = value
    return extra


def _check_endpoint(endpoint: str) -> None:
    """The SDKs append /v1/traces to a base URL, and the gateway proxies to it: scheme://host:port only."""
    from urllib.parse import urlsplit

    from polytrace.errors import PolytraceError

    parts = urlsplit(endpoint)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.path.strip("/") or parts.query:
        raise PolytraceError(
            f"--otlp-endpoint {endpoint!r} must be a base URL such as http://127.0.0.1:4318 (no path: "
            "every SDK appends /v1/traces)"
        )


def _parse_port(raw: str, source: str) -> int:
    from polytrace.errors import PolytraceError

    try:
        port = int(raw)
    except ValueError:
        raise PolytraceError(f"{source}={raw!r} is not a port number") from None
    if not 0 < port < 65536:
        raise PolytraceError(f"{source}={port} is out of range 1-65535")
    return port
