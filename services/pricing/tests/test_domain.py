from __future__ import annotations

import random
from decimal import Decimal

import pytest

from pricing.domain import MAX_PRODUCT_ID, InvalidProductId, PriceRange, parse_product_id, quote


class Extreme(random.Random):
    """Always draws one end of the range."""

    def __init__(self, value: float) -> None:
        super().__init__()
        self.value = value

    def uniform(self, a: float, b: float) -> float:
        return self.value


@pytest.mark.parametrize("seed", range(20))
def test_quote_stays_within_base_plus_minus_jitter(seed):
    rng = random.Random(seed)
    price = PriceRange(Decimal("0.50"), Decimal("0.05"))
    for _ in range(500):
        value = quote(price, rng)
        assert Decimal("0.45") <= value <= Decimal("0.55")
        assert value == value.quantize(Decimal("0.01"))


@pytest.mark.parametrize(("draw", "expected"), [(-1.0, "2.75"), (1.0, "3.25"), (0.0, "3.00")])
def test_quote_reaches_both_ends(draw, expected):
    assert quote(PriceRange(Decimal("3.00"), Decimal("0.25")), Extreme(draw)) == Decimal(expected)


def test_quote_covers_the_range():
    rng = random.Random(1)
    price = PriceRange(Decimal("12.50"), Decimal("1.50"))
    values = {quote(price, rng) for _ in range(5000)}
    assert min(values) < Decimal("11.10") and max(values) > Decimal("13.90")


def test_zero_jitter_is_the_base():
    assert quote(PriceRange(Decimal("12.50"), Decimal("0")), random.Random()) == Decimal("12.50")


@pytest.mark.parametrize(
    ("raw", "expected"), [("0", 0), ("42", 42), (str(MAX_PRODUCT_ID), MAX_PRODUCT_ID), (7, 7)]
)
def test_parse_product_id_accepts(raw, expected):
    assert parse_product_id(raw) == expected


@pytest.mark.parametrize("raw", ["", "abc", "-1", "+1", "1.0", "١٢", str(MAX_PRODUCT_ID + 1), -1, 2**64])
def test_parse_product_id_rejects(raw):
    with pytest.raises(InvalidProductId):
        parse_product_id(raw)
