"""The registry is the one list of components: everything else derives from it."""

from __future__ import annotations

from pathlib import Path

from polytrace import builds, docs, registry, secrets
from polytrace.components import all_components, service_env
from polytrace.config import DEFAULT_PORTS, ROOT, load_settings
from polytrace.ports import port_block


def test_every_component_has_its_folder_and_a_unique_port():
    for spec in registry.specs():
        assert (ROOT / spec.dir).is_dir(), f"{spec.name}: {spec.dir} is missing"
    ports = [spec.port for spec in registry.specs() if spec.port is not None]
    assert len(set(ports)) == len(ports)


def test_services_have_a_readme_a_probe_and_a_command():
    for name in registry.services():
        spec = registry.spec(name)
        assert (ROOT / spec.dir / "README.md").exists()
        assert spec.probe and spec.command and spec.port


def test_settings_secrets_and_builds_come_from_the_registry():
    assert set(DEFAULT_PORTS) == {s.name for s in registry.specs() if s.port is not None}
    assert set(secrets.ROLES) == {"admin", *(s.name for s in registry.specs() if s.needs.database)}
    assert set(builds.definitions(ROOT)) == {s.name for s in registry.specs() if s.build}


def test_a_stack_is_built_from_entries_only(tmp_path: Path):
    settings = load_settings(env={"POLYTRACE_RUN_DIR": str(tmp_path)})
    passwords = {role: "pw" for role in secrets.ROLES}
    names = [c.name for c in all_components(settings, passwords, services=registry.services())]
    assert names == [s.name for s in registry.specs() if s.command]
    catalog = service_env(settings, "catalog", passwords)
    assert catalog["PRICING_URL"] == f"http://127.0.0.1:{DEFAULT_PORTS['pricing']}"
    assert catalog["PGUSER"] == "catalog" and catalog["MQTT_CLIENT_ID"] == "catalog"


def test_with_an_outside_endpoint_the_viewer_is_not_started(tmp_path: Path):
    settings = load_settings(otlp_endpoint="http://127.0.0.1:1/", env={"POLYTRACE_RUN_DIR": str(tmp_path)})
    names = {c.name for c in all_components(settings, dict.fromkeys(secrets.ROLES, "pw"))}
    assert not names & {s.name for s in registry.specs() if s.when == "viewer"}


def test_untraced_commands_drop_the_instrumentation(tmp_path: Path):
    settings = load_settings(tracing=False, env={"POLYTRACE_RUN_DIR": str(tmp_path)})
    by_name = {c.name: c for c in all_components(settings, dict.fromkeys(secrets.ROLES, "pw"))}
    assert not any("javaagent" in part for part in by_name["catalog"].command)
    assert by_name["stock"].env["OTEL_SDK_DISABLED"] == "true"


def test_port_blocks_keep_every_port_apart():
    block = port_block(28000)
    assert set(block) == set(DEFAULT_PORTS) and len(set(block.values())) == len(block)
    assert all(28000 <= port < 29000 for port in block.values())


def test_the_committed_tables_match_the_registry():
    assert docs.stale(ROOT) == [], "run `polytrace docs` and commit the tables"
