"""The OTLP receiver (polytrace/capture/receiver.py), plus a discard switch and a way to forget what it holds."""

from __future__ import annotations

import logging

from werkzeug.wrappers import Request, Response

from polytrace.capture.otlp import response_body
from polytrace.capture.receiver import OtlpReceiver


class BenchReceiver(OtlpReceiver):
    """While `decoding` is off, exports are read and acknowledged but not decoded.

    The A/B phases measure what the services pay for tracing, not the cost of this Python
    receiver on the same two cores; the completeness phase decodes everything.
    """

    def __init__(self, port: int) -> None:
        self.decoding = True
        self.discarded_requests = 0
        self.discarded_bytes = 0
        super().__init__(port=port)
        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no access log line per export

    def _app(self, environ, start_response):
        if self.decoding:
            return super()._app(environ, start_response)
        request = Request(environ)
        self.discarded_bytes += len(request.get_data())
        self.discarded_requests += 1
        body, content_type = response_body(request.mimetype)
        return Response(body, content_type=content_type)(environ, start_response)

    def clear(self) -> None:
        with self._lock:
            self._by_trace.clear()
            self.requests = 0
            self.rejected.clear()
