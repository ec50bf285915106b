//! The service's data: what a stock level looks like on the wire, and a validated product id.

use serde::Serialize;

/// A warehouse, as returned inside each stock level.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Warehouse {
    pub id: i32,
    pub city: String,
    pub state: String,
    pub country: String,
}

/// How many units of one product one warehouse holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StockLevel {
    pub product_id: i64,
    pub quantity: i32,
    pub warehouse: Warehouse,
}

/// A product id taken from a URL: a positive integer that fits PostgreSQL's `bigint`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProductId(i64);

impl ProductId {
    /// Accepts only ASCII digits (no sign, no spaces) denoting a value in `1..=i64::MAX`.
    pub fn parse(raw: &str) -> Option<Self> {
        if raw.is_empty() || !raw.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        raw.parse::<i64>().ok().filter(|&id| id > 0).map(Self)
    }

    pub fn get(self) -> i64 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_positive_integers() {
        assert_eq!(ProductId::parse("1").map(ProductId::get), Some(1));
        assert_eq!(ProductId::parse("007").map(ProductId::get), Some(7));
        assert_eq!(
            ProductId::parse("9223372036854775807").map(ProductId::get),
            Some(i64::MAX)
        );
    }

    #[test]
    fn rejects_everything_else() {
        for raw in [
            "",
            "abc",
            "-1",
            "0",
            "+1",
            " 1",
            "1.0",
            "1e3",
            "0x10",
            "9223372036854775808",
            "99999999999999999999",
        ] {
            assert_eq!(ProductId::parse(raw), None, "{raw:?}");
        }
    }

    #[test]
    fn serialises_to_the_contract_shape() {
        let level = StockLevel {
            product_id: 1,
            quantity: 5,
            warehouse: Warehouse {
                id: 1,
                city: "Lausanne".into(),
                state: "Vaud".into(),
                country: "Switzerland".into(),
            },
        };
        assert_eq!(
            serde_json::to_value(&level).unwrap(),
            serde_json::json!({"product_id": 1, "quantity": 5, "warehouse":
                {"id": 1, "city": "Lausanne", "state": "Vaud", "country": "Switzerland"}})
        );
    }
}
