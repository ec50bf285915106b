"""The four span-cost programs: each runs with its service's command, SDK set-up and pinned versions.

A program replaces only the service's application (the last arguments of its command): the JVM
flags, the Java agent and its extension, `opentelemetry-instrument` with pricing's configurator,
analytics' `--require ./dist/telemetry.js`, stock's telemetry module and every `OTEL_*` variable
stay the service's own, so the figure is what that service pays per span.
"""

from __future__ import annotations

import json
import re
import tomllib
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

from polytrace import registry
from polytrace.builds import CACHE, Build, definitions

# The span every program makes, a root span each time: like stock's database CLIENT spans, the most
# common kind in the golden trace. The programs spell it out in their own language; the harness
# checks the first span that arrives from each against this.
SPAN = {
    "name": "SELECT stock.stock",
    "kind": "CLIENT",
    "attributes": {
        "db.system.name": "postgresql",
        "db.namespace": "polytrace",
        "db.operation.name": "SELECT",
        "db.collection.name": "stock.stock",
        "db.query.text": "SELECT product_id, quantity FROM stock.stock WHERE product_id = $1",
        "server.address": "127.0.0.1",
        "server.port": 55432,
    },
}


@dataclass(frozen=True)
class Program:
    language: str
    service: str
    app_args: int  # how many trailing arguments of the service's command are its application
    program: tuple[str, ...]  # what runs instead; {dir}: the service's folder, plus its build's env
    steps: tuple[tuple[str, ...], ...] = ()  # in the service's folder, with its build's env
    pins: str = ""  # the file holding the SDK versions, in the service's folder

    def values(self, root: Path) -> dict[str, str]:
        service_build = definitions(root).get(self.service)
        return {"dir": str(root / registry.spec(self.service).dir), "cache": str(CACHE),
                **(service_build.env if service_build else {})}

    def command(self, service_command: tuple[str, ...], root: Path) -> list[str]:
        values = self.values(root)
        return [*service_command[:-self.app_args], *(part.format_map(values) for part in self.program)]

    def build(self, root: Path) -> Build | None:
        """Its build, stale when anything in the service's folder changed (its telemetry, its pins)."""
        if not self.steps:
            return None
        service_build = definitions(root)[self.service]
        return Build(name=f"span-cost-{self.language.lower()}", cwd=service_build.cwd, steps=self.steps,
                     outputs=(Path(self.program[-1].format_map(self.values(root))),), env=service_build.env)

    def versions(self, root: Path) -> dict[str, str]:
        path = root / registry.spec(self.service).dir / self.pins
        return VERSION_READERS[path.name](path.read_text())


PROGRAMS: tuple[Program, ...] = (
    Program("Java", "catalog", 1, ("{dir}/span-cost/target/span-cost.jar",),
            steps=(("mvn", "-q", "-B", "-f", "span-cost/pom.xml", "package"),), pins="pom.xml"),
    Program("Python", "pricing", 3, ("{dir}/.venv/bin/python", "{dir}/bench/span_cost.py"), pins="pyproject.toml"),
    Program("Rust", "stock", 1, ("{CARGO_TARGET_DIR}/release/examples/span_cost",),
            steps=(("cargo", "build", "--release", "--locked", "--example", "span_cost"),), pins="Cargo.lock"),
    Program("Node", "analytics", 1, ("{dir}/build-bench/bench/span-cost.js",),
            steps=(("npm", "run", "--silent", "build:bench"),), pins="package-lock.json"),
)


def pom_versions(text: str) -> dict[str, str]:
    """catalog's pom.xml: the agent and the SDK it bundles."""
    namespace = {"m": "http://maven.apache.org/POM/4.0.0"}
    properties = ET.fromstring(text).find("m:properties", namespace)
    found = {child.tag.split("}")[-1]: (child.text or "").strip() for child in properties}
    return {"opentelemetry-javaagent": found["otel.agent.version"],
            "opentelemetry-sdk": found["otel.agent.sdk.version"]}


PIN = re.compile(r"(?P<name>[\w.-]+)(\[[^]]*\])?==(?P<version>\S+)")


def pyproject_versions(text: str) -> dict[str, str]:
    """pricing's pins: the SDK and the exporter."""
    wanted = ("opentelemetry-sdk", "opentelemetry-exporter-otlp-proto-http")
    pins = dict(match.group("name", "version") for dependency in tomllib.loads(text)["project"]["dependencies"]
                if (match := PIN.fullmatch(dependency)))
    return {name: pins[name] for name in wanted}


def cargo_lock_versions(text: str) -> dict[str, str]:
    """stock's lock file: the SDK, its OTLP exporter and the tracing bridge."""
    wanted = ("opentelemetry_sdk", "opentelemetry-otlp", "tracing-opentelemetry")
    return {p["name"]: p["version"] for p in tomllib.loads(text)["package"] if p["name"] in wanted}


def npm_lock_versions(text: str) -> dict[str, str]:
    """analytics' lock file: the packages that make, batch and export a span."""
    wanted = ("@opentelemetry/sdk-node", "@opentelemetry/sdk-trace-base", "@opentelemetry/exporter-trace-otlp-proto")
    packages = json.loads(text)["packages"]
    return {name: packages[f"node_modules/{name}"]["version"] for name in wanted}


VERSION_READERS = {"pom.xml": pom_versions, "pyproject.toml": pyproject_versions,
                   "Cargo.lock": cargo_lock_versions, "package-lock.json": npm_lock_versions}
