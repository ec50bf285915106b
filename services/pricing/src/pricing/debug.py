"""`POST /debug/tracecontext`: the service side of the W3C Trace Context test-suite protocol.

Registered only with `POLYTRACE_DEBUG_ENDPOINTS=1`. The body is a JSON array of
`{"url": ..., "arguments": ...}`; for each element the service POSTs `arguments` as JSON to
`url` with its instrumented HTTP client (`requests`, traced by
opentelemetry-instrumentation-requests), inside the SERVER span of the incoming request, so
the callee sees what the propagators inject. Answers 200 once every call was made.
"""

from __future__ import annotations

import logging

import requests
from flask import Blueprint, current_app, jsonify, request
from flask.typing import ResponseReturnValue

log = logging.getLogger("pricing")
bp = Blueprint("debug", __name__)

_SESSION = "pricing.debug.session"
TIMEOUT_S = 5


@bp.post("/debug/tracecontext")
def tracecontext() -> ResponseReturnValue:
    calls = request.get_json(silent=True)
    if not isinstance(calls, list) or not all(
        isinstance(c, dict) and isinstance(c.get("url"), str) for c in calls
    ):
        return jsonify({"error": 'body must be a JSON array of {"url": ..., "arguments": ...}'}), 400
    session: requests.Session = current_app.extensions[_SESSION]
    for call in calls:
        try:
            session.post(call["url"], json=call.get("arguments"), timeout=TIMEOUT_S)
        except requests.RequestException as exc:  # the harness judges what arrived, not us
            log.warning("debug.tracecontext_call_failed", extra={"error.type": type(exc).__qualname__})
    return jsonify({"calls": len(calls)})


def register(app) -> None:  # noqa: ANN001 - a Flask app
    app.extensions[_SESSION] = requests.Session()
    app.register_blueprint(bp)
