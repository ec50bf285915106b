from __future__ import annotations

import random
from decimal import Decimal

import pytest
from flask import Flask
from flask.testing import FlaskClient

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
