"""The chart lints, renders (with its own agents and with the OpenTelemetry Operator's), and every
rendered manifest is valid for Kubernetes; a bad value is rejected."""

from __future__ import annotations

import subprocess

import pytest

from tests.deploy import checks

INJECT = {"catalog": "java", "pricing": "python", "analytics": "nodejs"}


def test_lints_strictly(helm):
    result = subprocess.run(
        [str(helm), "lint", "--strict", "--kube-version", checks.KUBERNETES_VERSIONS[-1], str(checks.CHART)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("mode", ["default", "operator"])
def test_rendered_manifests_are_valid(rendered, mode):
    assert checks.manifest_errors(rendered[mode]) == []


def test_the_same_components_as_compose(rendered):
    workloads = checks.containers(rendered["default"])
    assert set(workloads) == set(checks.load_compose()["services"])
    services = {d["metadata"]["name"] for d in rendered["default"] if d["kind"] == "Service"}
    assert services == set(workloads)


def test_values_set_image_tags_resources_and_endpoint(helm):
    documents = checks.helm_template(
        helm,
        "--set",
        "images.registry=registry.example/",
        "--set",
        "images.tag=1.2.3",
        "--set",
        "services.stock.tag=9.9.9",
        "--set",
        "services.pricing.resources.limits.memory=999Mi",
        "--set",
        "otlp.endpoint=http://otel.example:4318",
    )
    workloads = checks.containers(documents)
    assert workloads["catalog"]["image"] == "registry.example/polytrace/catalog:1.2.3"
    assert workloads["stock"]["image"] == "registry.example/polytrace/stock:9.9.9"
    assert workloads["pricing"]["resources"]["limits"]["memory"] == "999Mi"
    for service in checks.SERVICES:
        env = checks.container_environment(workloads[service])
        assert env["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://otel.example:4318"
    assert checks.manifest_errors(documents) == []


def test_default_mode_uses_the_images_agents(rendered):
    assert not [d for d in rendered["default"] if d["kind"] == "Instrumentation"]
    for name, container in checks.containers(rendered["default"]).items():
        assert "command" not in container, name  # the image's own ENTRYPOINT/CMD, agent included


def test_operator_mode_injects_instead_of_baked_in_agents(rendered):
    documents = rendered["operator"]
    [instrumentation] = [d for d in documents if d["kind"] == "Instrumentation"]
    assert instrumentation["spec"]["exporter"]["endpoint"] == "http://collector:4318"
    assert instrumentation["spec"]["propagators"] == ["tracecontext", "baggage"]
    deployments = {d["metadata"]["name"]: d for d in documents if d["kind"] == "Deployment"}
    for service, language in INJECT.items():
        template = deployments[service]["spec"]["template"]
        annotations = template["metadata"].get("annotations", {})
        assert annotations == {f"instrumentation.opentelemetry.io/inject-{language}": "polytrace"}
        command = " ".join(template["spec"]["containers"][0]["command"])
        assert "javaagent" not in command and "opentelemetry-instrument" not in command
        assert "--require" not in command
    assert "annotations" not in deployments["stock"]["spec"]["template"]["metadata"]  # Rust: compiled-in SDK


def test_services_run_as_non_root_with_probes(rendered):
    deployments = {d["metadata"]["name"]: d for d in rendered["default"] if d["kind"] == "Deployment"}
    for service in checks.SERVICES:
        pod = deployments[service]["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        container = pod["containers"][0]
        assert container["readinessProbe"]["httpGet"]["path"] == "/health"
        assert container["resources"]["limits"]["memory"]


def test_postgres_init_uses_the_same_sql_as_local_mode(rendered):
    [config] = [d for d in rendered["default"] if d["kind"] == "ConfigMap" and d["metadata"]["name"] == "postgres-init"]
    for sql in sorted((checks.ROOT / "infra" / "postgres").glob("*.sql")):
        assert config["data"][sql.name].strip() == sql.read_text().strip()
    assert config["data"]["initdb.sh"].strip() == (checks.DEPLOY / "postgres" / "initdb.sh").read_text().strip()


# ----------------------------------------------------------------- each check rejects a broken input


def test_a_value_that_renders_an_invalid_manifest_is_rejected(helm):
    # Past the chart's values schema (skipped here), Kubernetes' schema still catches it.
    documents = checks.helm_template(helm, "--skip-schema-validation", "--set-string", "services.pricing.port=http")
    problems = "\n".join(checks.manifest_errors(documents))
    assert "Deployment/pricing" in problems and "containerPort" in problems


def test_the_values_schema_rejects_it_first(helm):
    with pytest.raises(checks.RenderError, match="port"):
        checks.helm_template(helm, "--set-string", "services.pricing.port=http")
    with pytest.raises(checks.RenderError, match="additional properties|Additional property"):
        checks.helm_template(helm, "--set", "instrumentation.operater=true")


def test_the_instrumentation_check_rejects_an_unknown_field(rendered):
    [instrumentation] = [d for d in rendered["operator"] if d["kind"] == "Instrumentation"]
    broken = {**instrumentation, "spec": {**instrumentation["spec"], "exporters": {"endpoint": "x"}}}
    assert checks.manifest_errors([broken]) != []


def test_the_charts_flags_are_the_committed_defaults():
    # Helm reads files only inside the chart: its copy must not drift from infra/flags/flags.json.
    chart_copy = checks.CHART / "files" / "flags.json"
    assert chart_copy.read_text() == (checks.ROOT / "infra" / "flags" / "flags.json").read_text()
