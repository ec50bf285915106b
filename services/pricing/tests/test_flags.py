"""Failure flags through the real OpenFeature SDK and flagd provider in file mode (no flagd daemon)."""

from __future__ import annotations

import random
import time

import pytest
from openfeature import api
from opentelemetry.trace import StatusCode

from pricing import flags
from pricing.app import create_app


@pytest.fixture
def flags_file(tmp_path, monkeypatch, flags_defaults):
    path = tmp_path / "flags.json"
    path.write_text(flags_defaults.read_text())
    # The provider's own standard variables, as polytrace sets them for every service.
    monkeypatch.setenv("FLAGD_RESOLVER", "file")
    monkeypatch.setenv("FLAGD_OFFLINE_FLAG_SOURCE_PATH", str(path))
    assert flags.start_provider("file") is True
    yield path
    api.shutdown()  # stops the file watcher
    api.clear_providers()


@pytest.fixture
def flagged(prices, flags_file):
    app = create_app(repository=prices, rng=random.Random(7), failure_flags=flags.FailureFlags())
    return app.test_client()


def _price_span(spans):
    (span,) = [s for s in spans.get_finished_spans() if s.name == "compute price"]
    return span


def _wait_for(predicate, timeout: float = 2.0) -> float:
    start = time.monotonic()
    while not predicate():
        assert time.monotonic() - start < timeout, f"not applied within {timeout} s"
        time.sleep(0.05)
    return time.monotonic() - start


def test_no_flag_source_means_no_provider_and_no_evaluation(client, spans):
    assert flags.start_provider(None) is False
    assert client.get("/prices/1").status_code == 200
    assert _price_span(spans).events == ()


def test_committed_defaults_are_off_and_evaluations_are_on_the_span(flagged, prices, spans):
    assert flags.FailureFlags().evaluate() == flags.Faults(latency_ms=0, failure_rate=0)
    spans.clear()
    assert flagged.get("/prices/1").status_code == 200
    span = _price_span(spans)
    assert span.status.status_code is StatusCode.UNSET
    evaluations = [dict(e.attributes) for e in span.events if e.name == "feature_flag.evaluation"]
    assert [e["feature_flag.key"] for e in evaluations] == [flags.LATENCY_MS, flags.FAILURE_RATE]
    for evaluation in evaluations:
        assert evaluation["feature_flag.result.variant"] == "off"
        assert evaluation["feature_flag.result.value"] == "0"
        assert evaluation["feature_flag.provider.name"]
    assert [e.name for e in span.events if e.name == flags.FAULT_EVENT] == []


def test_failure_rate_100_fails_every_request_with_500_json(flagged, flags_file, write_flags, prices, spans):
    write_flags(flags_file, pricingFailureRate=100)
    _wait_for(lambda: flags.FailureFlags().evaluate().failure_rate == 100)
    spans.clear()
    for _ in range(5):
        response = flagged.get("/prices/1")
        assert response.status_code == 500
        assert response.get_json() == {"error": "injected failure (pricingFailureRate=100)"}
    assert prices.asked == []  # fails before the database is asked
    failed = [s for s in spans.get_finished_spans() if s.name == "compute price"]
    assert len(failed) == 5
    span = failed[0]
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes["error.type"] == "injected_failure"
    (fault,) = [e for e in span.events if e.name == flags.FAULT_EVENT]
    assert fault.attributes["feature_flag.key"] == flags.FAILURE_RATE


def test_failure_rate_50_fails_about_half(flagged, flags_file, write_flags):
    write_flags(flags_file, pricingFailureRate=50)
    _wait_for(lambda: flags.FailureFlags().evaluate().failure_rate == 50)
    statuses = [flagged.get("/prices/2").status_code for _ in range(200)]
    assert set(statuses) == {200, 500}
    assert 70 <= statuses.count(500) <= 130


def test_latency_waits_then_answers(flagged, flags_file, write_flags, spans):
    write_flags(flags_file, pricingLatencyMs=300)
    _wait_for(lambda: flags.FailureFlags().evaluate().latency_ms == 300)
    spans.clear()
    start = time.monotonic()
    response = flagged.get("/prices/3")
    assert time.monotonic() - start >= 0.3
    assert response.get_json() == {"product_id": 3, "price": 12.5}
    span = _price_span(spans)
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes["error.type"] == "injected_latency"
    (fault,) = [e for e in span.events if e.name == flags.FAULT_EVENT]
    assert fault.attributes["feature_flag.key"] == flags.LATENCY_MS


def test_a_rename_replaced_file_applies_within_2_s_and_back(flagged, flags_file, write_flags):
    assert flagged.get("/prices/1").status_code == 200
    write_flags(flags_file, pricingFailureRate=100)
    elapsed = _wait_for(lambda: flagged.get("/prices/1").status_code == 500)
    assert elapsed < 2.0
    write_flags(flags_file)  # reset: the committed defaults
    _wait_for(lambda: flagged.get("/prices/1").status_code == 200)


def test_out_of_range_values_are_clamped(flagged, flags_file, write_flags):
    write_flags(flags_file, pricingFailureRate=250, pricingLatencyMs=-5)
    _wait_for(lambda: flags.FailureFlags().evaluate() == flags.Faults(latency_ms=0, failure_rate=100))
