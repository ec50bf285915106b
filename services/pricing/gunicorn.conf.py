"""gunicorn settings for pricing. Run: opentelemetry-instrument gunicorn -c gunicorn.conf.py

Every top-level name here is read as a gunicorn setting (so no `config` name: that one is -c).

No preload: the app (and its database pool) is built in each worker after the fork, and the
OpenTelemetry SDK restarts its batch-export thread in each child.
"""

import gc
from typing import Any

from pricing import flags, telemetry
from pricing.config import flagd_resolver, load_server
from pricing.logs import logging_config

_server = load_server()

wsgi_app = "pricing.app:create_app()"
bind = [_server.bind]
workers = _server.workers
worker_class = "sync"
preload_app = False
graceful_timeout = _server.graceful_timeout
timeout = 30
accesslog = None  # pricing.logs.log_requests writes one line per request, inside the SERVER span
logconfig_dict = logging_config(_server.log_level)
proc_name = "pricing"
# gunicorn >= 26 opens a control socket under ~/.gunicorn by default; two instances (dev stack and
# e2e tests) would contend for it and nothing here uses it.
control_socket_disable = True


def pre_fork(server: Any, worker: Any) -> None:
    # What the master has loaded by now (the SDK, the instrumentations, Flask, SQLAlchemy, psycopg)
    # leaves the collector's generations, so a worker's collections never write to those objects'
    # headers and their pages stay shared with the master: 12 MiB less private memory per worker
    # (Python's documented use of gc.freeze before fork).
    if _server.gc_freeze:
        gc.freeze()


def post_fork(server: Any, worker: Any) -> None:
    flags.start_provider(flagd_resolver())  # per worker: the flags file watcher is a thread


def worker_exit(server: Any, worker: Any) -> None:
    telemetry.flush()
