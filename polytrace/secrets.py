"""Database passwords, generated on first use and kept under the run directory (never committed)."""

from __future__ import annotations

import json
import secrets
from pathlib import Path

from polytrace import registry

ROLES = ("admin", *registry.database_roles())


def load_or_create(run_dir: Path) -> dict[str, str]:
    path = run_dir / "secrets.json"
    if path.exists():
        stored = json.loads(path.read_text())
        if all(role in stored for role in ROLES):
            return stored
    passwords = {role: secrets.token_hex(16) for role in ROLES}
    run_dir.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600)
    path.write_text(json.dumps(passwords, indent=2))
    return passwords
