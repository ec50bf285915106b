"""HTTP boundary: the Flask app factory, the handlers and the error mapping."""

from __future__ import annotations

import logging
import random
from typing import Any

from flask import Blueprint, Flask, current_app, jsonify, request
from flask.typing import ResponseReturnValue
from opentelemetry import trace
from opentelemetry.semconv.attributes.error_attributes import ERROR_TYPE
from opentelemetry.trace import SpanKind, Status, StatusCode
from werkzeug.exceptions import HTTPException

from pricing import config, flags
from pricing.domain import (
    InjectedFailure,
    InvalidProductId,
    PriceRepository,
    PriceStoreUnavailable,
    ProductNotFound,
    parse_product_id,
    quote,
)
from pricing.logs import log_requests

log = logging.getLogger("pricing")
tracer = trace.get_tracer(__name__)
bp = Blueprint("prices", __name__)

_REPOSITORY = "pricing.repository"
_RNG = "pricing.rng"
_FLAGS = "pricing.flags"


def _repository() -> PriceRepository:
    repository: PriceRepository = current_app.extensions[_REPOSITORY]
    return repository


KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"})


def _error(status: int, message: str, **extra: Any) -> ResponseReturnValue:
    return jsonify({"error": message, **extra}), status


@bp.get("/prices/<int:product_id>")
def get_price(product_id: int) -> ResponseReturnValue:
    product_id = parse_product_id(product_id)  # <int:> accepts any digits; bigint bound checked here
    with tracer.start_as_current_span(
        "compute price", kind=SpanKind.INTERNAL, attributes={"app.product.id": product_id}
    ) as span:
        rng: random.Random = current_app.extensions[_RNG]
        failure_flags: flags.FailureFlags | None = current_app.extensions[_FLAGS]
        if failure_flags is not None:
            flags.inject(span, failure_flags.evaluate(), rng)
        try:
            price_range = _repository().find(product_id)
        except PriceStoreUnavailable as exc:
            span.set_attribute(ERROR_TYPE, exc.error_type)
            raise  # the span records the exception and status ERROR on the way out
        price = None if price_range is None else quote(price_range, rng)
        log.debug("price.quoted", extra={"app.product.id": product_id, "app.price": str(price)})
    if price is None:  # outside the span: an unknown product is the caller's error, not ours
        raise ProductNotFound(f"no price for product {product_id}")
    return jsonify({"product_id": product_id, "price": float(price)})


@bp.get("/prices/<raw>")
def invalid_price_id(raw: str) -> ResponseReturnValue:
    # Reached only when <int:product_id> did not match ("abc", "-1", "1.5"): a malformed id is a
    # 400, not the router's default 404. Valid ids keep the route (and span name) above.
    parse_product_id(raw)
    raise InvalidProductId("product id must be a non-negative integer")  # pragma: no cover


@bp.get("/health")
def health() -> ResponseReturnValue:
    try:
        _repository().ping()
    except PriceStoreUnavailable as exc:
        log.warning("health.unavailable", extra={"error.type": exc.error_type})
        return jsonify({"status": "unavailable", "error": str(exc)}), 503
    return jsonify({"status": "ok"})


def _on_invalid(exc: InvalidProductId) -> ResponseReturnValue:
    return _error(400, str(exc))


def _on_not_found(exc: ProductNotFound) -> ResponseReturnValue:
    return _error(404, str(exc))


def _on_unavailable(exc: PriceStoreUnavailable) -> ResponseReturnValue:
    # Runs while the SERVER span is current: record why it failed. The HTTP instrumentation then
    # sets status ERROR and error.type ("503") on it from the response status.
    span = trace.get_current_span()
    span.record_exception(exc.__cause__ or exc)
    span.set_status(Status(StatusCode.ERROR, str(exc)))
    log.warning("price.store_unavailable", extra={"error.type": exc.error_type})
    return _error(503, str(exc))


def _on_injected(exc: InjectedFailure) -> ResponseReturnValue:
    return _error(500, str(exc))  # the SERVER span gets ERROR and error.type "500" from the status


def _on_http_error(exc: HTTPException) -> ResponseReturnValue:
    if request.url_rule is None:
        # No route matched: the WSGI instrumentation's get_default_span_name named the span after
        # the raw path, one span name per URL anyone tries. The HTTP conventions say the method
        # alone (or HTTP for a method they do not know) when there is no route.
        method = request.method if request.method in KNOWN_METHODS else "HTTP"
        trace.get_current_span().update_name(method)
    return _error(exc.code or 500, exc.description or exc.name)


def _on_unexpected(exc: Exception) -> ResponseReturnValue:
    span = trace.get_current_span()
    span.record_exception(exc)
    span.set_status(Status(StatusCode.ERROR, type(exc).__qualname__))
    log.exception("request.failed")
    return _error(500, "internal error")


def create_app(
    settings: config.Settings | None = None,
    repository: PriceRepository | None = None,
    rng: random.Random | None = None,
    debug_endpoints: bool | None = None,
    failure_flags: flags.FailureFlags | None = None,
) -> Flask:
    """Builds the app. Without a repository, prices come from PostgreSQL per `settings`."""
    app = Flask("pricing")
    app.json.sort_keys = False  # type: ignore[attr-defined]
    if repository is None:
        from pricing import persistence  # imported here so tests with a fake need no driver

        settings = settings or config.load()
        app.config["SQLALCHEMY_DATABASE_URI"] = settings.database.url()
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = persistence.engine_options(settings.database)
        persistence.db.init_app(app)
        repository = persistence.SqlPriceRepository()
        log.info(
            "app.ready",
            extra={"db.host": settings.database.host, "db.port": settings.database.port},
        )
    app.extensions[_REPOSITORY] = repository
    app.extensions[_RNG] = rng or random.Random()
    if failure_flags is None and config.flagd_resolver():
        failure_flags = flags.FailureFlags()  # the worker's provider is set by gunicorn's post_fork
    app.extensions[_FLAGS] = failure_flags  # None: no flag source, every flag off
    log_requests(app, log)
    app.register_blueprint(bp)
    if config.debug_endpoints() if debug_endpoints is None else debug_endpoints:
        from pricing import debug

        debug.register(app)
    app.register_error_handler(InvalidProductId, _on_invalid)
    app.register_error_handler(ProductNotFound, _on_not_found)
    app.register_error_handler(PriceStoreUnavailable, _on_unavailable)
    app.register_error_handler(InjectedFailure, _on_injected)
    app.register_error_handler(HTTPException, _on_http_error)
    app.register_error_handler(Exception, _on_unexpected)
    return app
