"""Persistence: pricing.price through Flask-SQLAlchemy (psycopg 3 driver)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import psycopg
from flask_sqlalchemy import SQLAlchemy
from opentelemetry import trace
from opentelemetry.instrumentation.utils import suppress_instrumentation
from opentelemetry.semconv.attributes.db_attributes import DB_OPERATION_NAME
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from pricing.config import DatabaseSettings
from pricing.domain import PriceRange, PriceStoreUnavailable

db = SQLAlchemy()

# Named with its schema so the traced db.query.text says where it goes (docs/CONVENTIONS.md).
_FIND_PRICE = text("SELECT base, jitter FROM pricing.price WHERE product_id = :product_id")
_PING = text("SELECT 1")


class OperationNameCursor(psycopg.Cursor[Any]):
    """Adds db.operation.name to the psycopg instrumentation's CLIENT span.

    The instrumentation (0.66b1) builds its cursor class on top of the `cursor_factory` given to
    `psycopg.connect` and calls this `execute` inside its span; it names the span after the
    statement's first keyword but leaves the stable `db.operation.name` attribute unset.
    """

    def execute(self, query: Any, *args: Any, **kwargs: Any) -> Any:
        span = trace.get_current_span()
        if getattr(span, "kind", None) is trace.SpanKind.CLIENT and span.is_recording():
            keyword = str(query).lstrip().split(None, 1)[:1]
            if keyword:
                span.set_attribute(DB_OPERATION_NAME, keyword[0].upper())
        return super().execute(query, *args, **kwargs)


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
            "cursor_factory": OperationNameCursor,
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
            row = db.session.execute(_FIND_PRICE, {"product_id": product_id}).first()
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
