from __future__ import annotations

import json
import os
import random
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from pricing.app import create_app
from pricing.domain import PriceRange, PriceStoreUnavailable


class FakePrices:
    """In-memory PriceRepository; `down` simulates PostgreSQL being unreachable."""

    def __init__(self, rows: dict[int, PriceRange]) -> None:
        self.rows = rows
        self.down = False
        self.asked: list[int] = []

    def _check(self) -> None:
        if self.down:
            raise PriceStoreUnavailable("price database unavailable", "psycopg.OperationalError")

    def find(self, product_id: int) -> PriceRange | None:
        self.asked.append(product_id)
        self._check()
        return self.rows.get(product_id)

    def ping(self) -> None:
        self._check()


@pytest.fixture
def prices() -> FakePrices:
    return FakePrices(
        {
            1: PriceRange(Decimal("0.50"), Decimal("0.05")),
            2: PriceRange(Decimal("3.00"), Decimal("0.25")),
            3: PriceRange(Decimal("12.50"), Decimal("0")),
        }
    )


@pytest.fixture
def app(prices: FakePrices) -> Flask:
    return create_app(repository=prices, rng=random.Random(7))


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


_EXPORTER = InMemorySpanExporter()


@pytest.fixture(scope="session")
def _tracer_provider() -> TracerProvider:
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(_EXPORTER))
    trace.set_tracer_provider(provider)  # once per process; pricing's proxy tracers resolve to it
    return provider


@pytest.fixture
def spans(_tracer_provider: TracerProvider) -> InMemorySpanExporter:
    """The spans finished during the test (a real SDK provider, in-memory export)."""
    _EXPORTER.clear()
    return _EXPORTER


# The committed flag defaults every service reads (the CLI copies the file to the run directory).
FLAGS_DEFAULTS = Path(__file__).resolve().parents[3] / "infra" / "flags" / "flags.json"


@pytest.fixture
def flags_defaults() -> Path:
    return FLAGS_DEFAULTS


@pytest.fixture
def write_flags() -> Callable[..., None]:
    """Like `polytrace flags set`: a temp file in the same folder, renamed over the live one."""

    def write(path: Path, **values: int) -> None:
        document = json.loads(FLAGS_DEFAULTS.read_text())
        for name, value in values.items():
            document["flags"][name]["variants"] = {"off": 0, "on": value}
            document["flags"][name]["defaultVariant"] = "on"
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_text(json.dumps(document))
        os.replace(tmp, path)

    return write
