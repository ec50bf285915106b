"""The capture receiver (polytrace/capture/receiver.py) counting spans per service instead of keeping them.

A round of the span-cost benchmark sends hundreds of thousands of spans: decoding each into a Span
(~50 µs in Python) would make this receiver the slowest part of the run, and keeping them would
fill memory. It counts the spans of the protobuf message and decodes one export per service, to
check the first span's shape.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter

from werkzeug.wrappers import Request, Response

from polytrace.capture.otlp import PayloadError, Span, decode, parse_request, response_body
from polytrace.capture.receiver import OtlpReceiver


class CountingReceiver(OtlpReceiver):
    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.exports: Counter[str] = Counter()
        self.first: dict[str, Span] = {}
        super().__init__()
        self._arrived = threading.Condition(self._lock)
        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no access log line per export

    @Request.application
    def _app(self, request: Request) -> Response:
        if request.method != "POST" or request.path != "/v1/traces":
            return Response("not found", status=404)
        try:
            message = parse_request(request.get_data(), request.mimetype, request.headers.get("Content-Encoding", ""))
        except PayloadError as exc:
            self.rejected.append(str(exc))
            return Response(str(exc), status=400)
        counted = Counter()
        for resource_spans in message.resource_spans:
            service = next((kv.value.string_value for kv in resource_spans.resource.attributes
                            if kv.key == "service.name"), "")
            counted[service] += sum(len(scope_spans.spans) for scope_spans in resource_spans.scope_spans)
        new = [service for service in counted if service not in self.first]
        first = {span.service: span for span in reversed(decode(message))} if new else {}
        with self._arrived:
            self.counts.update(counted)
            self.exports.update(counted.keys())
            for service in new:
                self.first.setdefault(service, first[service])
            self._arrived.notify_all()
        body, content_type = response_body(request.mimetype)
        return Response(body, content_type=content_type)

    def wait_for(self, service: str, count: int, timeout_s: float) -> bool:
        """Whether `count` spans of `service` have arrived within timeout_s."""
        with self._arrived:
            return self._arrived.wait_for(lambda: self.counts[service] >= count, timeout_s)
