"""Every service's Dockerfile lints clean (hadolint) and follows issue 6's rules; broken ones are rejected."""

from __future__ import annotations

import pytest

from tests.deploy import checks

FIXTURES = checks.HERE / "fixtures"


def dockerfile(service: str):
    return checks.ROOT / "services" / service / "Dockerfile"


def final_env(text: str) -> set[str]:
    final = checks.parse_dockerfile(text).stages[-1]
    return {word for i in final if i.keyword == "ENV" for word in i.arguments.split()}


@pytest.mark.parametrize("service", checks.SERVICES)
def test_hadolint_is_clean(service):
    assert checks.hadolint(dockerfile(service)) == []


@pytest.mark.parametrize("service", checks.SERVICES)
def test_follows_the_image_rules(service):
    assert checks.dockerfile_policy(dockerfile(service).read_text()) == []


@pytest.mark.parametrize("service", checks.SERVICES)
def test_has_a_dockerignore(service):
    assert (checks.ROOT / "services" / service / ".dockerignore").is_file()


def test_pricing_runs_opentelemetry_instrument_gunicorn_with_four_workers():
    text = dockerfile("pricing").read_text()
    assert 'CMD ["opentelemetry-instrument", "gunicorn", "-c", "gunicorn.conf.py"]' in text
    assert "WEB_CONCURRENCY=4" in final_env(text)
    assert not any("--preload" in i.arguments for i in checks.parse_dockerfile(text).instructions)


def test_catalog_runs_with_the_agent_maven_resolved():
    text = dockerfile("catalog").read_text()
    assert "cp target/agent/opentelemetry-javaagent.jar" in text
    assert "-javaagent:/app/opentelemetry-javaagent.jar" in text
    pom = (checks.ROOT / "services" / "catalog" / "pom.xml").read_text()
    assert "<artifactId>opentelemetry-javaagent</artifactId>" in pom


@pytest.mark.parametrize("service", checks.SERVICES)
def test_binds_every_interface(service):
    assert "HOST=0.0.0.0" in final_env(dockerfile(service).read_text())


# ----------------------------------------------------------------- each check rejects a broken input


def test_policy_rejects_add_from_a_url():
    problems = checks.dockerfile_policy((FIXTURES / "add-url.Dockerfile").read_text())
    assert any("ADD" in p for p in problems), problems


def test_policy_rejects_root_unpinned_and_downloads():
    problems = "\n".join(checks.dockerfile_policy((FIXTURES / "root-user.Dockerfile").read_text()))
    assert "runs as root" in problems
    assert "python:latest is not pinned" in problems
    assert "downloads from a URL" in problems
    assert "pip runs without a BuildKit cache mount" in problems


def test_policy_rejects_a_single_stage_image_without_user():
    problems = "\n".join(checks.dockerfile_policy((FIXTURES / "no-user.Dockerfile").read_text()))
    for expected in ("syntax=docker/dockerfile:1", "multi-stage", "no USER", "no HEALTHCHECK", "&&"):
        assert expected in problems


def test_hadolint_rejects_a_broken_dockerfile():
    findings = "\n".join(checks.hadolint(FIXTURES / "root-user.Dockerfile"))
    assert "DL3002" in findings  # last USER is root
    assert "DL3007" in findings  # :latest
