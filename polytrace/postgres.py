"""The private PostgreSQL cluster under the run directory: created once, provisioned on every start."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping
from pathlib import Path

from polytrace import registry, system
from polytrace.components import ADMIN_ROLE, DATABASE
from polytrace.errors import PolytraceError


def has_cluster(run_dir: Path) -> bool:
    return (run_dir / "postgres" / "data" / "PG_VERSION").exists()


def ensure_cluster(run_dir: Path, admin_password: str) -> None:
    """initdb on first use. As root the cluster belongs to the postgres user, as PostgreSQL requires."""
    home = run_dir / "postgres"
    data = home / "data"
    if has_cluster(run_dir):
        return
    user = system.daemon_user("postgres")
    home.mkdir(parents=True, exist_ok=True)
    pwfile = home / "admin.pw"
    pwfile.touch(mode=0o600)
    pwfile.write_text(admin_password + "\n")
    system.chown_tree(home, user)
    command = [
        str(system.postgres_bindir() / "initdb"),
        "-D", str(data),
        "-U", ADMIN_ROLE,
        f"--pwfile={pwfile}",
        "--auth-host=scram-sha-256",
        "--auth-local=scram-sha-256",
        "-E", "UTF8",
        "--locale=C",
    ]
    if user:
        command = ["runuser", "-u", user, "--", *command]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    pwfile.unlink(missing_ok=True)
    if result.returncode != 0:
        hint = ""
        if user and "Permission denied" in result.stderr:
            hint = f" (the {user} user must be able to reach {home}; clone the project outside /root)"
        raise PolytraceError(f"initdb failed{hint}: {result.stderr.strip()[-600:]}")


def provision(root: Path, port: int, passwords: Mapping[str, str]) -> None:
    """Create the database, roles, schemas and seed data; every file is idempotent."""
    env = {**os.environ, "PGPASSWORD": passwords["admin"], "PGCONNECT_TIMEOUT": "5"}
    base = ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p", str(port), "-U", ADMIN_ROLE]
    create_db = (
        f"SELECT 'CREATE DATABASE {DATABASE}' "
        f"WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = '{DATABASE}')\\gexec"
    )
    _psql([*base, "-d", "postgres"], env, stdin=create_db)
    variables = [arg for role in registry.database_roles()
                 for arg in ("-v", f"{role}_password={passwords[role]}")]
    for script in sorted((root / "infra" / "postgres").glob("*.sql")):
        _psql([*base, "-d", DATABASE, *variables, "-f", str(script)], env)


def _psql(command: list[str], env: Mapping[str, str], stdin: str | None = None) -> None:
    result = subprocess.run(command, input=stdin, capture_output=True, text=True, env=env, check=False)
    if result.returncode != 0:
        raise PolytraceError(f"provisioning PostgreSQL failed: {result.stderr.strip()[-600:]}")


def write_mosquitto_config(root: Path, run_dir: Path, port: int) -> None:
    """infra/mosquitto/mosquitto.conf plus what only this run knows: its port and data folder."""
    home = run_dir / "mosquitto"
    home.mkdir(parents=True, exist_ok=True)
    base = (root / "infra" / "mosquitto" / "mosquitto.conf").read_text()
    (home / "mosquitto.conf").write_text(
        base + f"\nlistener {port} 127.0.0.1\npersistence_location {home}/\n"
    )
    system.chown_tree(home, system.daemon_user("mosquitto"))
