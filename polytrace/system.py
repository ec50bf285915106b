"""Facts about this machine the stack depends on: who we are and where the daemons live."""

from __future__ import annotations

import os
import pwd
import shutil
from functools import cache
from pathlib import Path

from polytrace.errors import PolytraceError


def is_root() -> bool:
    return os.geteuid() == 0


def daemon_user(name: str) -> str | None:
    """PostgreSQL refuses to run as root: as root, daemons run as their Debian package's user."""
    if not is_root():
        return None
    try:
        pwd.getpwnam(name)
    except KeyError:
        raise PolytraceError(
            f"running as root needs the system user {name!r} (created by its Debian package); "
            "run `make deps`"
        ) from None
    return name


def chown_tree(path: Path, user: str | None) -> None:
    if user is None:
        return
    entry = pwd.getpwnam(user)
    for dirpath, _dirs, files in os.walk(path):
        os.chown(dirpath, entry.pw_uid, entry.pw_gid)
        for f in files:
            os.chown(os.path.join(dirpath, f), entry.pw_uid, entry.pw_gid)


@cache
def postgres_bindir() -> Path:
    """The newest installed server's bin directory (Debian keeps it off PATH)."""
    candidates = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/postgres"),
        key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0,
    )
    if candidates:
        return candidates[-1].parent
    found = shutil.which("postgres")
    if found:
        return Path(found).resolve().parent
    raise PolytraceError("PostgreSQL server not found; run `make deps` (apt package postgresql)")


def require_tool(name: str, package_hint: str) -> str:
    found = shutil.which(name)
    if not found:
        raise PolytraceError(f"{name} not found on PATH; {package_hint}")
    return found
