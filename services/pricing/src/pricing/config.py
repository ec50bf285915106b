"""Configuration: the environment is read here, once, and passed down as values."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy.engine import URL


class ConfigError(ValueError):
    """A variable has an unusable value; the message names the variable."""


@dataclass(frozen=True)
class ServerSettings:
    host: str
    port: int
    workers: int
    graceful_timeout: int
    log_level: str
    gc_freeze: bool

    @property
    def bind(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


@dataclass(frozen=True)
class DatabaseSettings:
    host: str
    port: int
    name: str
    user: str
    password: str | None = None
    connect_timeout_s: int = 2
    pool_size: int = 2

    def url(self) -> URL:
        # Built explicitly (not left to libpq) so the password is escaped and the target is visible
        # in one place; libpq names are kept for the variables themselves.
        return URL.create(
            "postgresql+psycopg",
            username=self.user,
            password=self.password,
            host=self.host,
            port=self.port,
            database=self.name,
        )


@dataclass(frozen=True)
class Settings:
    server: ServerSettings
    database: DatabaseSettings


def _int(env: Mapping[str, str], name: str, default: int, minimum: int, maximum: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be an integer, got {raw!r}") from None
    if not minimum <= value <= maximum:
        raise ConfigError(f"{name} must be between {minimum} and {maximum}, got {value}")
    return value


def _switch(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    if raw not in ("0", "1"):
        raise ConfigError(f"{name} must be 0 or 1, got {raw!r}")
    return raw == "1"


def _str(env: Mapping[str, str], name: str, default: str) -> str:
    return env.get(name, "").strip() or default


def load_server(env: Mapping[str, str] | None = None) -> ServerSettings:
    env = os.environ if env is None else env
    return ServerSettings(
        host=_str(env, "HOST", "127.0.0.1"),
        port=_int(env, "PORT", 8081, 1, 65535),
        workers=_int(env, "WEB_CONCURRENCY", 4, 1, 64),
        graceful_timeout=_int(env, "GRACEFUL_TIMEOUT", 10, 1, 300),
        log_level=_str(env, "LOG_LEVEL", "info").lower(),
        # Off only to measure what the freeze saves (bench/README.md, ablation 5).
        gc_freeze=_switch(env, "GC_FREEZE", True),
    )


def load_database(env: Mapping[str, str] | None = None) -> DatabaseSettings:
    env = os.environ if env is None else env
    return DatabaseSettings(
        host=_str(env, "PGHOST", "127.0.0.1"),
        port=_int(env, "PGPORT", 55432, 1, 65535),
        name=_str(env, "PGDATABASE", "polytrace"),
        user=_str(env, "PGUSER", "pricing"),
        # Optional: without it libpq falls back to ~/.pgpass or trust authentication.
        password=env.get("PGPASSWORD") or None,
        connect_timeout_s=_int(env, "PGCONNECT_TIMEOUT", 2, 1, 60),
        pool_size=_int(env, "DB_POOL_SIZE", 2, 1, 50),
    )


def debug_endpoints(env: Mapping[str, str] | None = None) -> bool:
    """`POLYTRACE_DEBUG_ENDPOINTS=1` enables `POST /debug/tracecontext`."""
    env = os.environ if env is None else env
    return env.get("POLYTRACE_DEBUG_ENDPOINTS", "").strip() == "1"


def flagd_resolver(env: Mapping[str, str] | None = None) -> str | None:
    """FLAGD_RESOLVER (e.g. `file`): the flagd provider is used, and reads its other FLAGD_* itself."""
    env = os.environ if env is None else env
    return env.get("FLAGD_RESOLVER", "").strip() or None


def load(env: Mapping[str, str] | None = None) -> Settings:
    return Settings(server=load_server(env), database=load_database(env))
