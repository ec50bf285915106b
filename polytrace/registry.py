"""The component registry (polytrace/components.toml), read once into typed records.

Nothing here knows a component by name: settings, secrets, builds, supervisord programs, docs and
the deploy checks all ask this module.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

FILE = Path(__file__).resolve().parent / "components.toml"
KINDS = ("infra", "service", "static")
PROBES = ("http:", "tcp", "postgres")


@dataclass(frozen=True)
class Variable:
    value: str
    meaning: str = ""


@dataclass(frozen=True)
class Needs:
    database: bool = False  # its own role and schema (infra/postgres/)
    mqtt: bool = False
    services: tuple[str, ...] = ()  # given as <NAME>_URL


@dataclass(frozen=True)
class BuildSpec:
    steps: tuple[tuple[str, ...], ...]
    outputs: tuple[str, ...]
    env: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Spec:
    name: str
    kind: str
    language: str
    dir: str
    what: str = ""
    port: int | None = None
    phase: int = 1
    when: str | None = None
    probe: str | None = None
    stop_signal: str = "TERM"
    ready_timeout: float = 60.0
    user: str | None = None
    url: str = "http://127.0.0.1:{port}"
    command: tuple[str, ...] = ()
    untraced: tuple[str, ...] | None = None  # None: the same command, with tracing off through OTEL_SDK_DISABLED
    cwd: str = "{dir}"
    needs: Needs = Needs()
    build: BuildSpec | None = None
    tests: tuple[tuple[str, ...], ...] = ()
    flags: bool = False  # evaluates the failure flags (FLAGD_* variables)
    debug_tracecontext: bool = False  # serves POST /debug/tracecontext (the W3C suite's protocol)
    env: dict[str, Variable] = field(default_factory=dict)
    reads: dict[str, Variable] = field(default_factory=dict)  # read with a default; `up` does not set them

    @property
    def runs(self) -> bool:
        return bool(self.command)


def _spec(raw: dict) -> Spec:
    raw = dict(raw)
    name = raw["name"]
    kind = raw.get("kind")
    if kind not in KINDS:
        raise ValueError(f"{FILE.name}: {name}: kind must be one of {KINDS}, not {kind!r}")
    build = raw.pop("build", None)
    if build is not None:
        build = BuildSpec(tuple(map(tuple, build["steps"])), tuple(build["outputs"]), dict(build.get("env", {})))
    needs = raw.pop("needs", {})
    probe = raw.setdefault("probe", "http:/health" if kind == "service" else None)
    if probe is not None and not probe.startswith(PROBES):
        raise ValueError(f"{FILE.name}: {name}: unknown probe {probe!r}")
    return Spec(
        **{k: v for k, v in raw.items() if k not in ("command", "untraced", "tests", "env", "reads", "dir")},
        dir=raw.get("dir", f"services/{name}"),
        command=tuple(raw.get("command", ())),
        untraced=tuple(raw["untraced"]) if "untraced" in raw else None,
        tests=tuple(map(tuple, raw.get("tests", ()))),
        needs=Needs(needs.get("database", False), needs.get("mqtt", False), tuple(needs.get("services", ()))),
        build=build,
        env={k: _variable(v) for k, v in raw.get("env", {}).items()},
        reads={k: Variable(v["default"], v.get("meaning", "")) for k, v in raw.get("reads", {}).items()},
    )


def _variable(raw: str | dict) -> Variable:
    return Variable(raw) if isinstance(raw, str) else Variable(raw["value"], raw.get("meaning", ""))


@cache
def specs() -> tuple[Spec, ...]:
    with FILE.open("rb") as handle:
        found = tuple(_spec(entry) for entry in tomllib.load(handle)["component"])
    names = [s.name for s in found]
    if len(set(names)) != len(names):
        raise ValueError(f"{FILE.name}: a component name is declared twice: {names}")
    for spec in found:
        for dependency in spec.needs.services:
            if dependency not in names:
                raise ValueError(f"{FILE.name}: {spec.name} needs unknown component {dependency!r}")
    return found


def spec(name: str) -> Spec:
    for candidate in specs():
        if candidate.name == name:
            return candidate
    raise KeyError(name)


def services() -> tuple[str, ...]:
    """The services, in declaration order: each gets the shared OTEL_* environment."""
    return tuple(s.name for s in specs() if s.kind == "service")


def tracecontext_services() -> tuple[str, ...]:
    return tuple(s.name for s in specs() if s.debug_tracecontext)


def default_ports() -> dict[str, int]:
    return {s.name: s.port for s in specs() if s.port is not None}


def database_roles() -> tuple[str, ...]:
    return tuple(s.name for s in specs() if s.needs.database)
