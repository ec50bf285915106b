"""Which source tree a run measured, so that "two runs of the same tree" can be checked, not assumed."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

from polytrace.config import ROOT

# A run writes its own results there; they are not part of the tree it measured.
RESULTS = "bench/results"
OUTSIDE = f":(exclude){RESULTS}"


def _git(args: list[str], root: Path) -> str:
    result = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=False)
    return result.stdout.rstrip("\n") if result.returncode == 0 else ""  # porcelain lines start with a space


def describe(root: Path = ROOT) -> dict:
    """The commit, a digest of its sources, and what differed from it: uncommitted files and a digest of them.

    The sources digest leaves bench/results out, so committing a run's results does not make the
    next run "another tree".
    """
    commit = _git(["rev-parse", "HEAD"], root)
    listing = "\n".join(line for line in _git(["ls-tree", "-r", "HEAD"], root).splitlines()  # no exclude magic here
                         if not line.split("\t", 1)[-1].startswith(RESULTS + "/"))
    changed = _git(["status", "--porcelain", "--", ".", OUTSIDE], root).splitlines()
    return {"commit": commit or None,
            "sources_sha256": hashlib.sha256(listing.encode()).hexdigest() if listing else None,
            "changed": changed, "changes_sha256": _changes_digest(changed, root) if changed else None}


def _changes_digest(changed: list[str], root: Path) -> str:
    """The uncommitted content: the diff against HEAD, and each untracked file."""
    digest = hashlib.sha256(_git(["diff", "HEAD", "--", ".", OUTSIDE], root).encode())
    for line in changed:
        path = root / line[3:]
        if line.startswith("??") and path.is_file():
            digest.update(path.read_bytes())
    return digest.hexdigest()


def same(a: dict | None, b: dict | None) -> bool | None:
    """True or False when both runs recorded their tree; None when one did not (older results)."""
    if not a or not b or not a.get("commit") or not b.get("commit"):
        return None
    if a.get("sources_sha256") and b.get("sources_sha256"):
        same_sources = a["sources_sha256"] == b["sources_sha256"]
    else:  # recorded before the sources digest: only the commit says
        same_sources = a["commit"] == b["commit"]
    return same_sources and a.get("changes_sha256") == b.get("changes_sha256")
