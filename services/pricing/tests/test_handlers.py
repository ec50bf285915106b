from __future__ import annotations

import pytest


def test_price_of_known_product(client, prices):
    response = client.get("/prices/1")
    assert response.status_code == 200
    body = response.get_json()
    assert list(body) == ["product_id", "price"]
    assert body["product_id"] == 1
    assert 0.45 <= body["price"] <= 0.55
    assert prices.asked == [1]


def test_price_without_jitter_is_the_base(client):
    assert client.get("/prices/3").get_json() == {"product_id": 3, "price": 12.5}


@pytest.mark.parametrize(
    "path",
    [
        "/prices/abc",
        "/prices/-1",
        "/prices/1.5",
        "/prices/%20",
        "/prices/9223372036854775808",
        "/prices/99999999999999999999999999",
    ],
)
def test_malformed_or_out_of_range_id_is_400(client, prices, path):
    response = client.get(path)
    assert response.status_code == 400
    assert set(response.get_json()) == {"error"}
    assert prices.asked == []


def test_largest_bigint_is_accepted_and_looked_up(client, prices):
    response = client.get("/prices/9223372036854775807")
    assert response.status_code == 404
    assert prices.asked == [2**63 - 1]


def test_unknown_product_is_404(client):
    response = client.get("/prices/999999")
    assert response.status_code == 404
    assert response.get_json() == {"error": "no price for product 999999"}


def test_database_down_is_503_without_details(client, prices):
    prices.down = True
    response = client.get("/prices/1")
    assert response.status_code == 503
    assert response.get_json() == {"error": "price database unavailable"}


def test_recovers_when_database_returns(client, prices):
    prices.down = True
    assert client.get("/prices/1").status_code == 503
    prices.down = False
    assert client.get("/prices/1").status_code == 200


def test_health(client, prices):
    assert client.get("/health").get_json() == {"status": "ok"}
    prices.down = True
    response = client.get("/health")
    assert response.status_code == 503
    assert response.get_json() == {"status": "unavailable", "error": "price database unavailable"}


def test_unknown_route_and_method_are_json(client):
    missing = client.get("/nope")
    assert missing.status_code == 404
    assert "error" in missing.get_json()
    wrong_method = client.post("/prices/1")
    assert wrong_method.status_code == 405
    assert "error" in wrong_method.get_json()


def test_unexpected_error_is_500_json_without_traceback(app, client, prices):
    def boom(product_id: int) -> None:
        raise RuntimeError("secret internals")

    prices.find = boom
    response = client.get("/prices/1")
    assert response.status_code == 500
    assert response.get_json() == {"error": "internal error"}
    assert b"secret" not in response.data and b"Traceback" not in response.data


def test_valid_ids_use_the_int_route(app):
    adapter = app.url_map.bind("localhost")
    assert adapter.match("/prices/42")[0] == "prices.get_price"
    assert adapter.match("/prices/abc")[0] == "prices.invalid_price_id"
    rules = {r.rule for r in app.url_map.iter_rules()}
    assert "/prices/<int:product_id>" in rules


@pytest.mark.parametrize("path", ["/", "/nope", "/prices/", "/prices/1/extra", "/a/%C3%A9/b"])
def test_unknown_paths_are_a_json_404(client, path):
    response = client.get(path)
    assert response.status_code == 404
    assert "error" in response.get_json()
