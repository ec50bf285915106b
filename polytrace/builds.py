"""Builds of each component, run only when their sources changed since the last success."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from polytrace import registry
from polytrace.errors import PolytraceError

# Build outputs and caches inside a component folder never count as its sources.
IGNORED = {".venv", "target", "node_modules", "dist", "build-bench", "__pycache__", ".pytest_cache", ".ruff_cache"}
# A component's README documents it; no build reads it, and editing one rebuilt catalog (~1 min).
DOCUMENTATION = {"README.md"}

CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "polytrace"


@dataclass(frozen=True)
class Build:
    name: str
    cwd: Path
    steps: tuple[tuple[str, ...], ...]
    outputs: tuple[Path, ...]
    env: Mapping[str, str] = field(default_factory=dict)

    def fingerprint(self) -> str:
        digest = hashlib.sha256(repr(self.steps).encode())
        for path in sorted(_sources(self.cwd)):
            digest.update(str(path.relative_to(self.cwd)).encode())
            digest.update(path.read_bytes())
        return digest.hexdigest()


def _sources(folder: Path) -> Iterator[Path]:
    for dirpath, dirs, files in os.walk(folder):
        dirs[:] = [d for d in dirs if d not in IGNORED]
        for name in files:
            if name not in DOCUMENTATION:
                yield Path(dirpath) / name


def definitions(root: Path) -> dict[str, Build]:
    """Every component that has a build, from the registry (polytrace/components.toml)."""
    found = {}
    for spec in registry.specs():
        if spec.build is None:
            continue
        folder = root / spec.dir
        values = {"dir": folder, "root": root, "cache": CACHE}
        found[spec.name] = Build(
            name=spec.name,
            cwd=folder,
            steps=tuple(tuple(part.format_map(values) for part in step) for step in spec.build.steps),
            outputs=tuple(Path(output.format_map(values)) for output in spec.build.outputs),
            env={name: value.format_map(values) for name, value in spec.build.env.items()},
        )
    return found


def run_tests(root: Path, names: Iterable[str] | None = None, echo=print) -> None:
    """Each component's own unit tests (its `tests` in the registry), in its folder, with its build's env."""
    wanted = set(names) if names else None
    builds = definitions(root)
    for spec in registry.specs():
        if not spec.tests or (wanted is not None and spec.name not in wanted):
            continue
        env = {**os.environ, **(builds[spec.name].env if spec.name in builds else {})}
        values = {"dir": root / spec.dir, "root": root, "python": sys.executable}
        for step in (tuple(part.format_map(values) for part in step) for step in spec.tests):
            echo(f"{spec.name}: {' '.join(step)}")
            result = subprocess.run(step, cwd=root / spec.dir, env=env, check=False)
            if result.returncode != 0:
                raise PolytraceError(f"{spec.name}'s unit tests failed ({' '.join(step)} exited {result.returncode})")


def is_stale(build: Build, stamp_dir: Path) -> bool:
    stamp = stamp_dir / f"{build.name}.sha256"
    if not stamp.exists() or not all(p.exists() for p in build.outputs):
        return True
    return stamp.read_text().strip() != build.fingerprint()


def describe(step: tuple[str, ...]) -> str:
    """A step as a person reads it: the program's name, not the path to it."""
    return " ".join((Path(step[0]).name, *step[1:]))


def run(build: Build, stamp_dir: Path, log_dir: Path,
        on_step: Callable[[tuple[str, ...]], None] | None = None) -> None:
    """Run every step (on_step hears of each as it begins), logging to build-<name>.log; on failure
    raise with the log's tail."""
    log_dir.mkdir(parents=True, exist_ok=True)
    stamp_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"build-{build.name}.log"
    env = {**os.environ, **build.env}
    with log_path.open("w") as log:
        for step in build.steps:
            if on_step:
                on_step(step)
            log.write(f"$ {' '.join(step)}\n")
            log.flush()
            try:
                result = subprocess.run(
                    step, cwd=build.cwd, env=env, stdout=log, stderr=subprocess.STDOUT, check=False
                )
            except FileNotFoundError:
                raise PolytraceError(f"building {build.name}: {step[0]} not found; run `make deps`") from None
            if result.returncode != 0:
                log.flush()
                tail = "\n".join(log_path.read_text().splitlines()[-25:])
                raise PolytraceError(
                    f"building {build.name} failed ({' '.join(step)} exited {result.returncode}); "
                    f"full log: {log_path}\n{tail}"
                )
    missing = [str(p) for p in build.outputs if not p.exists()]
    if missing:
        raise PolytraceError(f"building {build.name} did not produce {', '.join(missing)}")
    (stamp_dir / f"{build.name}.sha256").write_text(build.fingerprint())
