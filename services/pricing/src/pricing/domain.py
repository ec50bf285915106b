"""Domain: what a price is, the errors the service distinguishes, and the repository seam."""

from __future__ import annotations

import random
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Protocol

# Product ids are PostgreSQL bigint: 0 .. 2^63-1 (negative ids are rejected as malformed).
MAX_PRODUCT_ID = 2**63 - 1
CENT = Decimal("0.01")


class PricingError(Exception):
    """Base of the errors mapped to HTTP statuses at the boundary."""


class InvalidProductId(PricingError):
    """The id is not an integer in 0 .. 2^63-1 (HTTP 400)."""


class ProductNotFound(PricingError):
    """No price row for this product (HTTP 404)."""


class InjectedFailure(PricingError):
    """A failure flag made this request fail on purpose (HTTP 500)."""


class PriceStoreUnavailable(PricingError):
    """The database could not be reached or failed (HTTP 503)."""

    def __init__(self, message: str, error_type: str) -> None:
        super().__init__(message)
        # Fully qualified class name of the underlying driver error, for the span's error.type.
        self.error_type = error_type


@dataclass(frozen=True)
class PriceRange:
    """A price row: the quoted price is drawn uniformly in [base - jitter, base + jitter]."""

    base: Decimal
    jitter: Decimal


class PriceRepository(Protocol):
    def find(self, product_id: int) -> PriceRange | None:
        """The price row of a product, None when there is none; raises PriceStoreUnavailable."""
        ...

    def ping(self) -> None:
        """Raises PriceStoreUnavailable when the store cannot answer."""
        ...


def parse_product_id(raw: str | int) -> int:
    """Validates a path segment (or an already converted int) as a product id."""
    if isinstance(raw, int):
        value = raw
    else:
        text = raw.strip()
        if not text.isascii() or not text.isdigit():
            raise InvalidProductId(f"product id must be a non-negative integer, got {raw[:40]!r}")
        value = int(text)
    if not 0 <= value <= MAX_PRODUCT_ID:
        raise InvalidProductId(f"product id must be between 0 and {MAX_PRODUCT_ID}")
    return value


def quote(price: PriceRange, rng: random.Random) -> Decimal:
    """base ± uniform jitter, rounded to cents. Stays within the range: both ends are whole cents."""
    offset = Decimal(rng.uniform(-1.0, 1.0)) * price.jitter
    value = (price.base + offset).quantize(CENT, rounding=ROUND_HALF_EVEN)
    return min(max(value, price.base - price.jitter), price.base + price.jitter)
