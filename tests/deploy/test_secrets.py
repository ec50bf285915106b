"""No secret is committed: passwords come from deploy/.env (gitignored) or a Kubernetes Secret."""

from __future__ import annotations

import re
import subprocess

import yaml

from tests.deploy import checks

PASSWORD_VARIABLES = re.compile(r"(PASSWORD|SECRET|TOKEN)$")


def git(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", *args], cwd=checks.ROOT, capture_output=True, text=True, check=False)


def test_deploy_env_is_ignored_and_untracked():
    assert git("check-ignore", "-q", "deploy/.env").returncode == 0
    assert git("ls-files", "--error-unmatch", "deploy/.env").returncode != 0


def test_env_example_has_no_values():
    example = (checks.DEPLOY / ".env.example").read_text()
    assignments = [line for line in example.splitlines() if line and not line.startswith("#")]
    assert assignments and all(line.endswith("=") for line in assignments), assignments


def secret_literals(compose: dict) -> list[str]:
    literals = []
    for name, service in compose["services"].items():
        for variable, value in checks.environment(service).items():
            if PASSWORD_VARIABLES.search(variable) and not re.fullmatch(r"\$\{[A-Z_]+:\?[^}]*\}", value):
                literals.append(f"{name}: {variable}")
    return literals


def committed_passwords(values: object, path: str = "") -> list[str]:
    """Non-empty values under any key that names a password or secret (existingSecret is a name)."""
    found = []
    if isinstance(values, dict):
        for key, value in values.items():
            where = f"{path}.{key}" if path else str(key)
            if key == "existingSecret":
                continue
            if re.search(r"(?i)password|secret", where) and isinstance(value, str) and value:
                found.append(where)
            found += committed_passwords(value, where)
    return found


def test_compose_takes_every_password_from_the_env_file():
    assert secret_literals(checks.load_compose()) == []


def test_chart_commits_no_password_and_reads_them_from_a_secret(rendered):
    assert committed_passwords(yaml.safe_load((checks.CHART / "values.yaml").read_text())) == []
    for documents in rendered.values():
        for name, container in checks.containers(documents).items():
            for item in container.get("env", []):
                if PASSWORD_VARIABLES.search(item["name"]):
                    assert "value" not in item and "secretKeyRef" in item["valueFrom"], (name, item)


def test_an_existing_secret_replaces_the_generated_one(helm):
    documents = checks.helm_template(helm, "--set", "secrets.existingSecret=my-db")
    assert not [d for d in documents if d["kind"] == "Secret"]
    env = {i["name"]: i for i in checks.containers(documents)["pricing"]["env"]}
    assert env["PGPASSWORD"]["valueFrom"]["secretKeyRef"] == {"name": "my-db", "key": "pricing-password"}


def test_no_image_carries_a_secret():
    for service in checks.SERVICES:
        text = (checks.ROOT / "services" / service / "Dockerfile").read_text()
        assert not re.search(r"^(ENV|ARG)\s.*(PASSWORD|SECRET|TOKEN)", text, re.MULTILINE), service


# ----------------------------------------------------------------- the check rejects a broken input


def test_rejects_a_committed_chart_password():
    values = yaml.safe_load((checks.CHART / "values.yaml").read_text())
    values["secrets"]["passwords"]["stock"] = "hunter2"
    assert committed_passwords(values) == ["secrets.passwords.stock"]


def test_rejects_a_literal_password_in_compose():
    compose = checks.load_compose()
    compose["services"]["stock"]["environment"]["PGPASSWORD"] = "hunter2"
    assert secret_literals(compose) == ["stock: PGPASSWORD"]
