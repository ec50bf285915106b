"""deploy/compose.yaml validates against the Compose Specification and wires the stack as issue 6 asks."""

from __future__ import annotations

import copy

import yaml

from tests.deploy import checks


def test_validates_against_the_compose_specification():
    assert checks.schema_errors(checks.load_compose(), checks.compose_schema()) == []


def test_names_dependencies_limits_and_images():
    assert checks.compose_policy(checks.load_compose()) == []


def test_has_the_whole_stack():
    services = checks.load_compose()["services"]
    assert set(services) == {"postgres", "mosquitto", "collector", "jaeger", *checks.SERVICES}
    assert services["collector"]["image"].startswith("otel/opentelemetry-collector-contrib:")
    assert services["jaeger"]["image"].startswith("jaegertracing/")
    assert "127.0.0.1:16686:16686" in services["jaeger"]["ports"]


def test_postgres_is_initialised_from_infra_with_psql_variables():
    postgres = checks.load_compose()["services"]["postgres"]
    assert "../infra/postgres:/polytrace/sql:ro" in postgres["volumes"]
    assert "./postgres/initdb.sh:/docker-entrypoint-initdb.d/initdb.sh:ro" in postgres["volumes"]
    script = (checks.DEPLOY / "postgres" / "initdb.sh").read_text()
    for role in ("catalog", "pricing", "stock", "analytics"):
        # the variable the SQL expects, filled from the variable compose passes the container
        assert f'-v {role}_password="${role.upper()}_DB_PASSWORD"' in script
        assert f":'{role}_password'" in (checks.ROOT / "infra" / "postgres" / "01-roles.sql").read_text()
        assert f"{role.upper()}_DB_PASSWORD" in checks.environment(postgres)


def test_mosquitto_listens_on_every_interface_with_persistence():
    conf = (checks.DEPLOY / "mosquitto" / "mosquitto.conf").read_text().splitlines()
    assert "listener 1883 0.0.0.0" in conf
    assert "persistence true" in conf
    mosquitto = checks.load_compose()["services"]["mosquitto"]
    assert any(v.endswith(":/mosquitto/data") for v in mosquitto["volumes"])


def test_collector_pipeline():
    config = yaml.safe_load((checks.DEPLOY / "collector" / "config.yaml").read_text())
    assert checks.collector_policy(config) == []


# ----------------------------------------------------------------- each check rejects a broken input


def test_schema_rejects_an_unknown_key():
    compose = checks.load_compose()
    compose["services"]["pricing"]["enviroment"] = compose["services"]["pricing"].pop("environment")
    errors = checks.schema_errors(compose, checks.compose_schema())
    assert any("enviroment" in e for e in errors), errors


def test_policy_rejects_waiting_for_health_that_is_never_checked():
    compose = checks.load_compose()
    del compose["services"]["postgres"]["healthcheck"]
    del compose["services"]["stock"]["deploy"]
    problems = "\n".join(checks.compose_policy(compose))
    assert "waits for postgres to be healthy, which has no healthcheck" in problems
    assert "stock: no memory limit" in problems


def test_collector_policy_rejects_a_pipeline_without_memory_limiter():
    config = yaml.safe_load((checks.DEPLOY / "collector" / "config.yaml").read_text())
    broken = copy.deepcopy(config)
    broken["service"]["pipelines"]["traces"]["processors"] = ["batch"]
    assert checks.collector_policy(broken) != []
