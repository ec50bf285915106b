"""Builds of each component, run only when their sources changed since the last success."""

from __future__ import annotations

import hashlib
import os
import subprocess
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from polytrace.errors import PolytraceError

# Build outputs and caches inside a component folder never count as its sources.
IGNORED = {".venv", "target", "node_modules", "dist", "__pycache__", ".pytest_cache", ".ruff_cache"}

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
            yield Path(dirpath) / name


def definitions(root: Path) -> dict[str, Build]:
    services = root / "services"
    stock_target = CACHE / "target" / "stock"
    return {
        "viewer": Build(
            name="viewer",
            cwd=root / "infra" / "viewer",
            # Maven's ${user.home} comes from the password file, not $HOME or XDG_CACHE_HOME: the
            # folder is passed, so the jar lands where the CLI looks for it.
            steps=(("mvn", "-q", "-B", "package", f"-Dpolytrace.viewer.dir={CACHE / 'viewer'}"),),
            outputs=(CACHE / "viewer" / "zipkin.jar",),
        ),
        "pricing": Build(
            name="pricing",
            cwd=services / "pricing",
            steps=(
                ("python3", "-m", "venv", ".venv"),
                (".venv/bin/pip", "install", "-q", "--disable-pip-version-check", "-e", ".[test]"),
            ),
            outputs=(services / "pricing" / ".venv" / "bin" / "gunicorn",),
        ),
        "stock": Build(
            name="stock",
            cwd=services / "stock",
            steps=(("cargo", "build", "--release", "--locked"),),
            outputs=(stock_target / "release" / "stock",),
            env={"CARGO_TARGET_DIR": str(stock_target), "CARGO_BUILD_JOBS": "2"},
        ),
        "analytics": Build(
            name="analytics",
            cwd=services / "analytics",
            steps=(
                ("npm", "ci", "--prefer-offline", "--no-audit", "--no-fund", "--loglevel=error"),
                ("npm", "run", "build"),
            ),
            outputs=(services / "analytics" / "dist" / "main.js",),
        ),
        "catalog": Build(
            name="catalog",
            cwd=services / "catalog",
            steps=(("mvn", "-q", "-B", "package", "-DskipTests"),),
            outputs=(
                services / "catalog" / "target" / "catalog.jar",
                services / "catalog" / "target" / "agent" / "opentelemetry-javaagent.jar",
            ),
        ),
    }


def is_stale(build: Build, stamp_dir: Path) -> bool:
    stamp = stamp_dir / f"{build.name}.sha256"
    if not stamp.exists() or not all(p.exists() for p in build.outputs):
        return True
    return stamp.read_text().strip() != build.fingerprint()


def run(build: Build, stamp_dir: Path, log_dir: Path) -> None:
    """Run every step, logging to build-<name>.log; on failure raise with the log's tail."""
    log_dir.mkdir(parents=True, exist_ok=True)
    stamp_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"build-{build.name}.log"
    env = {**os.environ, **build.env}
    with log_path.open("w") as log:
        for step in build.steps:
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
