"""Compose and the chart give each service exactly the variables `polytrace up` gives it, and only
variables that service reads (docs/CONVENTIONS.md, its README, its configuration code)."""

from __future__ import annotations

import pytest

from tests.deploy import checks


@pytest.mark.parametrize("service", checks.SERVICES)
def test_compose_sets_what_local_mode_sets(service):
    env = checks.environment(checks.load_compose()["services"][service])
    assert checks.contract_mismatches(service, env, "compose") == []


@pytest.mark.parametrize("service", checks.SERVICES)
def test_compose_sets_only_variables_the_service_reads(service):
    env = checks.environment(checks.load_compose()["services"][service])
    assert checks.unread_variables(service, env) == []


@pytest.mark.parametrize("mode", ["default", "operator"])
@pytest.mark.parametrize("service", checks.SERVICES)
def test_chart_sets_what_local_mode_sets(rendered, mode, service):
    env = checks.container_environment(checks.containers(rendered[mode])[service])
    assert checks.contract_mismatches(service, env, f"helm[{mode}]") == []
    assert checks.unread_variables(service, env) == []


@pytest.mark.parametrize("service", checks.SERVICES)
def test_compose_and_chart_agree_apart_from_addresses(rendered, service):
    compose = checks.environment(checks.load_compose()["services"][service])
    chart = checks.container_environment(checks.containers(rendered["default"])[service])
    assert set(compose) == set(chart)
    differing = {k for k in compose if compose[k] != chart[k]}
    assert differing <= {"OTEL_RESOURCE_ATTRIBUTES", "PGPASSWORD"}, differing


def test_the_contract_comes_from_the_registry():
    # Guards the checks above against going blind if the registry's shape changes.
    catalog = checks.conventions_variables("catalog")
    assert {"OTEL_SERVICE_NAME", "PGPASSWORD", "PRICING_URL", "MQTT_BUFFER_SIZE", "OTEL_LOGS_EXPORTER"} <= catalog
    assert "PRICING_URL" not in checks.conventions_variables("pricing")
    assert "MQTT_HOST" in checks.conventions_variables("analytics")


# ----------------------------------------------------------------- each check rejects a broken input


def test_rejects_a_variable_no_service_reads():
    env = checks.environment(checks.load_compose()["services"]["pricing"])
    env["PRICING_CACHE_TTL"] = "30"
    assert checks.unread_variables("pricing", env) == [
        "pricing: PRICING_CACHE_TTL is neither in docs/CONVENTIONS.md nor in its README"
    ]
    assert any("PRICING_CACHE_TTL" in p for p in checks.contract_mismatches("pricing", env, "compose"))


def test_rejects_another_services_variable():
    env = checks.environment(checks.load_compose()["services"]["stock"])
    env["MQTT_HOST"] = "mosquitto"  # catalog's and analytics', not stock's
    assert checks.unread_variables("stock", env) != []


def test_rejects_a_missing_or_renamed_variable():
    env = checks.environment(checks.load_compose()["services"]["catalog"])
    env["DB_PASSWORD"] = env.pop("PGPASSWORD")
    env["OTEL_BSP_SCHEDULE_DELAY"] = "5000"
    problems = "\n".join(checks.contract_mismatches("catalog", env, "compose"))
    assert "PGPASSWORD is set by `polytrace up` but not here" in problems
    assert "DB_PASSWORD is not set by `polytrace up`" in problems
    assert "OTEL_BSP_SCHEDULE_DELAY='5000'" in problems
