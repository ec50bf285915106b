"""The Markdown tables generated from the registry, and where they stand in the docs.

`polytrace docs` rewrites each block between its markers; polytrace/tests/test_docs.py fails
while a committed block differs from what the registry says.
"""

from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace

from polytrace import registry
from polytrace.components import SHARED_VARIABLES, EnvVar, variables
from polytrace.config import DEFAULT_PORTS


def _table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def components_table() -> str:
    rows = []
    for spec in registry.specs():
        url = "built; served by another component" if spec.port is None else spec.url.format(port=spec.port)
        rows.append((spec.name, spec.language, spec.what, f"`{spec.dir}/`", url))
    return _table(("component", "language / engine", "what", "folder", "local address"), rows)


# How the docs show the registry's placeholders: defaults, and the work tree as a relative path.
_DOCUMENTED = {
    "ports": SimpleNamespace(**DEFAULT_PORTS),
    "viewer_url": f"http://127.0.0.1:{DEFAULT_PORTS['viewer']}",
    "viewer_trace_url": f"http://127.0.0.1:{DEFAULT_PORTS['viewer']}/zipkin/traces/",
    "viewer_trace_api": "/viewer/api/v2/trace/",
    "export_endpoint": f"http://127.0.0.1:{DEFAULT_PORTS['otlp']}",
    "root": ".",
    "dir": "services/<name>",
    "run": ".run",
    "cache": "~/.cache/polytrace",
}


def _shown(variable: EnvVar) -> str:
    if variable.shown is not None:
        return variable.shown
    return f"`{variable.value.format_map(_DOCUMENTED)}`"


def shared_table() -> str:
    return _table(("variable", "local default", "meaning"),
                  [(f"`{v.name}`", _shown(v), v.meaning) for v in SHARED_VARIABLES])


def service_variables(spec: registry.Spec) -> list[tuple[str, str, str]]:
    """(name, local value, meaning) of what this service gets beyond the shared variables, or reads."""
    found = [(v.name, _shown(v), v.meaning) for v in variables(spec) if v not in SHARED_VARIABLES]
    found += [(name, f"`{v.value}` (not set by `polytrace up`)", v.meaning) for name, v in spec.reads.items()]
    return found


def services_table() -> str:
    """One row per variable, naming the services that get it (the PG* ones go to every service with a database)."""
    given: dict[tuple[str, str, str], list[str]] = {}
    for spec in registry.specs():
        if spec.kind == "service":
            for row in service_variables(spec):
                given.setdefault(row, []).append(spec.name)
    rows = [(f"`{name}`", ", ".join(names), local, meaning) for (name, local, meaning), names in given.items()]
    return _table(("variable", "services", "local default", "meaning"), rows)


BLOCKS = {
    "components": components_table,
    "shared-environment": shared_table,
    "service-environment": services_table,
}
DOCUMENTS = ("README.md", "docs/CONVENTIONS.md", "docs/ARCHITECTURE.md")


def _pattern(block: str) -> re.Pattern[str]:
    return re.compile(
        rf"(<!-- generated: {block} \(polytrace docs\) -->\n)(?:.*?\n)?(<!-- end: {block} -->)", re.S
    )


def render(text: str) -> str:
    for block, make in BLOCKS.items():
        text = _pattern(block).sub(lambda m, make=make: m.group(1) + make() + "\n" + m.group(2), text)
    return text


def stale(root: Path) -> list[str]:
    """The documents whose generated blocks differ from the registry."""
    return [name for name in DOCUMENTS if (root / name).exists()
            and render((root / name).read_text()) != (root / name).read_text()]


def write(root: Path) -> list[str]:
    changed = stale(root)
    for name in changed:
        path = root / name
        path.write_text(render(path.read_text()))
    return changed
