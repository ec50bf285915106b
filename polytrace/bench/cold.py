"""`polytrace bench --cold`: a clean clone to its first complete trace, every cache empty (ARCHITECTURE.md, Targets).

The clone gets a home directory of its own, so Maven, npm, pip, Cargo's registry, the Zipkin jar
and the Rust build start from nothing and download from the registries, as on a new machine.
What stays is what the machine brings: the toolchains (rustup's, the JDK, Node, Python), the
Debian packages `make deps` checks for, and the machine's registry configuration.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from polytrace.bench import load
from polytrace.bench.plan import BENCH_PORTS
from polytrace.bench.traces import wait_in_viewer
from polytrace.config import ROOT, port_variable
from polytrace.errors import PolytraceError

# Its own port block: a developer's stack, the suite and a bench run may all be up meanwhile.
COLD_PORT_SHIFT = 900
# Machine configuration (registry addresses, credentials, identity), not caches: copied into the new home.
MACHINE_CONFIG = (".npmrc", ".gitconfig", ".m2/settings.xml", ".cargo/config.toml", ".config/pip/pip.conf")
BUILT = re.compile(r"✓ (?P<name>[\w-]+): built in (?P<seconds>\d+)s")


def run_cold(out_root: Path, echo, keep: bool = False) -> Path:
    if subprocess.run(["git", "status", "--porcelain"], cwd=ROOT, capture_output=True, text=True,
                      check=True).stdout.strip():
        echo("note: the work tree has uncommitted changes; the clone measures the last commit")
    started_at = dt.datetime.now(dt.UTC)
    out = out_root / (started_at.strftime("%Y%m%dT%H%M%SZ") + "-cold")
    out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="polytrace-cold-"))
    work.chmod(0o755)  # run as root, PostgreSQL runs as its own user and must reach the clone's .run/
    home, clone = work / "home", work / "polytrace"
    env = _cold_env(home)
    ports = {name: port + COLD_PORT_SHIFT for name, port in BENCH_PORTS.items()}
    env.update({port_variable(name): str(port) for name, port in ports.items()})
    log = (out / "cold.log").open("w")
    steps: dict[str, float] = {}
    result: dict = {"schema": "polytrace-bench-cold/1", "started_at": started_at.isoformat(timespec="seconds"),
                    "commit": _git(["rev-parse", "HEAD"]), "steps_s": steps}
    origin = time.monotonic()

    def step(name: str, command: list[str], cwd: Path) -> str:
        echo(f"{name}: {' '.join(command)}")
        begun = time.monotonic()
        log.write(f"\n$ {' '.join(command)}\n")
        log.flush()
        completed = subprocess.run(command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                   text=True, check=False)
        log.write(completed.stdout)
        log.flush()
        steps[name] = round(time.monotonic() - begun, 1)
        echo(f"  {steps[name]:.1f} s")
        if completed.returncode != 0:
            raise PolytraceError(f"{name} failed ({completed.returncode}); see {out / 'cold.log'}")
        return completed.stdout

    try:
        step("clone", ["git", "clone", "--quiet", str(ROOT), str(clone)], work)
        step("system packages (make deps)", ["make", "deps"], clone)
        step("Python environment (pip)", ["make", ".venv/.installed"], clone)
        built = step("service builds (make build)", ["make", "build"], clone)
        result["build_s"] = {m["name"]: int(m["seconds"]) for m in BUILT.finditer(built)}
        up = step("viewer, database, start (make up)", ["make", "up"], clone)
        result["build_s"].update({m["name"]: int(m["seconds"]) for m in BUILT.finditer(up)})
        begun = time.monotonic()
        trace_id = load.first_response(ports["catalog"])
        if trace_id is None:
            raise PolytraceError("catalog answered without a traceresponse header")
        result["trace_id"] = trace_id
        result["services_in_trace"] = wait_in_viewer(ports["viewer"], trace_id)
        steps["first request to its complete trace in the viewer"] = round(time.monotonic() - begun, 1)
        result["clean_clone_to_first_trace_s"] = round(time.monotonic() - origin, 1)
        echo(f"clean clone → first complete trace in the viewer: {result['clean_clone_to_first_trace_s']:.0f} s")
    except Exception as exc:  # the steps measured so far are still written
        result["error"] = f"{type(exc).__name__}: {exc}"
        echo(f"stopped early: {result['error']}")
    finally:
        if (clone / ".venv").exists():
            subprocess.run(["make", "down"], cwd=clone, env=env, stdout=log, stderr=subprocess.STDOUT, check=False)
        log.close()
        result["downloaded_mib"] = _size_mib(home)
        if not keep:
            shutil.rmtree(work, ignore_errors=True)
    (out / "cold.json").write_text(json.dumps(result, indent=2) + "\n")
    (out / "summary.md").write_text(markdown(result))
    if "error" in result:
        raise PolytraceError(f"cold run stopped early ({result['error']}); log in {out / 'cold.log'}")
    return out


def _cold_env(home: Path) -> dict[str, str]:
    """The caller's environment with an empty home: every per-user cache starts empty."""
    real_home = Path.home()
    for name in MACHINE_CONFIG:
        if (real_home / name).is_file():
            (home / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(real_home / name, home / name)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("POLYTRACE_", "CARGO_TARGET_DIR", "VIRTUAL_ENV"))}
    env.update({
        "HOME": str(home),
        "CARGO_HOME": str(home / ".cargo"),
        # The Rust toolchain is the machine's, like the JDK and Node; only the registry cache is new.
        "RUSTUP_HOME": os.environ.get("RUSTUP_HOME", str(real_home / ".rustup")),
        # Java takes user.home from the password file, not $HOME: Maven's ~/.m2 would stay warm.
        "MAVEN_OPTS": f"{os.environ.get('MAVEN_OPTS', '')} -Duser.home={home}".strip(),
    })
    return env


def _git(args: list[str]) -> str:
    return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=False).stdout.strip()


def _size_mib(path: Path) -> float:
    total = 0
    for root, _, files in os.walk(path):
        for name in files:
            try:
                total += (Path(root) / name).lstat().st_size
            except OSError:
                pass
    return round(total / 2**20, 1)


def markdown(result: dict) -> str:
    lines = [f"# polytrace bench --cold — {result['started_at']}", "",
             f"Commit {result['commit'][:12]}, cloned into an empty directory with an empty home: Maven, npm, "
             "pip and Cargo download everything; the toolchains and Debian packages are the machine's.", ""]
    if result.get("error"):
        lines += [f"**Stopped early**: {result['error']}", ""]
    lines += ["| step | seconds |", "|---|---|"]
    lines += [f"| {name} | {seconds:.1f} |" for name, seconds in result["steps_s"].items()]
    total = result.get("clean_clone_to_first_trace_s")
    lines += [f"| **clean clone → first complete trace** | **{total:.1f}** ({total / 60:.1f} min) |" if total
              else "| clean clone → first complete trace | – |", "",
              "Target: ≤ 15 min (docs/ARCHITECTURE.md, Targets).", ""]
    if result.get("build_s"):
        lines += ["Builds (seconds, from `polytrace build`):", "", "| component | seconds |", "|---|---|"]
        lines += [f"| {name} | {seconds} |" for name, seconds in result["build_s"].items()]
        lines.append("")
    downloaded = result.get("downloaded_mib", 0)
    lines.append(f"Downloaded into the empty home (caches, registry copies): {downloaded:.0f} MiB.")
    return "\n".join(lines) + "\n"
