"""The bench's OTLP receiver, which can also be closed for a while (the "OTLP receiver stopped" scenario)."""

from __future__ import annotations

import threading

from werkzeug.serving import make_server

from polytrace.bench.receiver import BenchReceiver


class PausableReceiver(BenchReceiver):
    """pause() closes the listening socket (exporters get "connection refused"), resume() opens it again.

    What it holds survives the pause: spans the SDKs export after their retries still land in it.
    """

    def pause(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def resume(self) -> None:
        self._server = make_server("127.0.0.1", self.port, self._app, threaded=True)
        self._thread = threading.Thread(target=self._server.serve_forever, name="otlp-receiver", daemon=True)
        self._thread.start()
