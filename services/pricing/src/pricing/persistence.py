"""Persistence: pricing.price through Flask-SQLAlchemy (psycopg 3 driver)."""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import psycopg
from flask_sqlalchemy import SQLAlchemy
from opentelemetry import trace
from opentelemetry.instrumentation.utils import suppress_instrumentation
from opentelemetry.semconv.attributes.db_attributes import DB_COLLECTION_NAME, DB_OPERATION_NAME
from sqlalchemy import Result, TextClause, text
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from pricing.config import DatabaseSettings
from pricing.domain import PriceRange, PriceStoreUnavailable

db = SQLAlchemy()


@dataclass(frozen=True)
class Statement:
    """A traced statement with its operation and table, as the trace names them.

    Declared here rather than parsed from the SQL: the conventions want `db.operation.name` and
    `db.collection.name` as the application provides them, not extracted from `db.query.text` where
    one query can name several tables (PostgreSQL). The span name is `{db.operation.name} {target}`.
    """

    sql: TextClause
    operation: str
    collection: str

    @property
    def span_name(self) -> str:
        return f"{self.operation} {self.collection}"


# Named with its schema so the traced db.query.text says where it goes (docs/CONVENTIONS.md).
_FIND_PRICE = Statement(
    text("SELECT base, jitter FROM pricing.price WHERE product_id = :product_id"), "SELECT", "pricing.price"
)
_PING = text("SELECT 1")  # untraced (see ping)

# The statement being executed, for the cursor below: SQLAlchemy does not hand it to the driver.
_executing: ContextVar[Statement | None] = ContextVar("pricing.executing", default=None)


def describe(span: trace.Span, statement: Statement) -> None:
    span.set_attributes({DB_OPERATION_NAME: statement.operation, DB_COLLECTION_NAME: statement.collection})
    span.update_name(statement.span_name)


class SemconvCursor(psycopg.Cursor[Any]):
    """Completes the psycopg instrumentation's CLIENT span with the statement's operation and table.

    The instrumentation (0.66b1, and contrib's main branch) names the span after the statement's
    first keyword (`SELECT`), leaves `db.operation.name` and `db.collection.name` unset, and has no
    option or hook for either (open-telemetry/opentelemetry-python-contrib#3714). Its one extension
    point is the `cursor_factory` given to `psycopg.connect`: it builds its traced cursor on top of
    it and calls this `execute` inside its span, so the span is complete before it ends.
    """

    def execute(self, query: Any, *args: Any, **kwargs: Any) -> Any:
        statement = _executing.get()
        span = trace.get_current_span()
        if (
            statement is not None
            and getattr(span, "kind", None) is trace.SpanKind.CLIENT
            and span.is_recording()
        ):
            describe(span, statement)
        return super().execute(query, *args, **kwargs)


def _execute(statement: Statement, params: dict[str, Any]) -> Result[Any]:
    token = _executing.set(statement)
    try:
        return db.session.execute(statement.sql, params)
    finally:
        _executing.reset(token)


def engine_options(settings: DatabaseSettings) -> dict[str, object]:
    return {
        # A dead pooled connection (database restarted) is detected at checkout and replaced, so
        # the service recovers by itself once PostgreSQL is back.
        "pool_pre_ping": True,
        "pool_size": settings.pool_size,
        "max_overflow": 2,
        "pool_timeout": settings.connect_timeout_s,
        "connect_args": {
            "connect_timeout": settings.connect_timeout_s,
            "cursor_factory": SemconvCursor,
        },
    }


def _unavailable(exc: SQLAlchemyError) -> PriceStoreUnavailable:
    cause = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
    kind = type(cause)
    return PriceStoreUnavailable("price database unavailable", f"{kind.__module__}.{kind.__qualname__}")


def _checkout() -> None:
    """Binds a pooled connection to the session without tracing it.

    Checkout runs the pre-ping (`SELECT 1`) and, for a new connection, SQLAlchemy's dialect
    introspection queries. They are pool housekeeping, not this request's work: untraced, each
    request's trace holds exactly one database span, its own statement.
    """
    with suppress_instrumentation():
        db.session.connection()


class SqlPriceRepository:
    """PriceRepository backed by PostgreSQL; call within a Flask app context."""

    def find(self, product_id: int) -> PriceRange | None:
        try:
            _checkout()
            row = _execute(_FIND_PRICE, {"product_id": product_id}).first()
        except SQLAlchemyError as exc:
            # The session is closed (connection returned or discarded) at app-context teardown.
            raise _unavailable(exc) from exc
        if row is None:
            return None
        return PriceRange(base=Decimal(row.base), jitter=Decimal(row.jitter))

    def ping(self) -> None:
        try:
            with suppress_instrumentation():
                db.session.execute(_PING)
        except SQLAlchemyError as exc:
            # The session is closed (connection returned or discarded) at app-context teardown.
            raise _unavailable(exc) from exc
