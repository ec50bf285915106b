"""Which source tree a run measured, so that "two runs of the same tree" can be checked, not assumed."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

from polytrace.config import ROOT

# A run writes its own results there; they are not part of the tree it measured.
OUTSIDE = ":(exclude)bench/results"


def _git(args: list[str], root: Path) -> str:
    result = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=False)
    return result.stdout.rstrip("\n") if result.returncode == 0 else ""  # porcelain lines start with a space


def describe(root: Path = ROOT) -> dict:
    """The commit, and what differed from it: uncommitted files and a digest of their content."""
    commit = _git(["rev-parse", "HEAD"], root)
    changed = _git(["status", "--porcelain", "--", ".", OUTSIDE], root).splitlines()
    digest = hashlib.sha256()
    digest.update(_git(["diff", "HEAD", "--", ".", OUTSIDE], root).encode())
    for line in changed:
        if line.startswith("??"):
            path = root / line[3:]
            if path.is_file():
                digest.update(path.read_bytes())
    return {"commit": commit or None, "changed": changed, "changes_sha256": digest.hexdigest() if changed else None}


def same(a: dict | None, b: dict | None) -> bool | None:
    """True or False when both runs recorded their tree; None when one did not (older results)."""
    if not a or not b or not a.get("commit") or not b.get("commit"):
        return None
    return a["commit"] == b["commit"] and a.get("changes_sha256") == b.get("changes_sha256")
