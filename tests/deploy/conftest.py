from __future__ import annotations

from pathlib import Path

import pytest

from tests.deploy import checks


@pytest.fixture(scope="session")
def helm() -> Path:
    """helm, built by deploy/tools.sh into ~/.cache/polytrace/bin (cached across runs)."""
    return checks.tool_dir() / "helm"


@pytest.fixture(scope="session")
def rendered(helm: Path) -> dict[str, list[dict]]:
    """The chart rendered with its defaults and in operator mode."""
    return {
        "default": checks.helm_template(helm),
        "operator": checks.helm_template(helm, "--set", "instrumentation.operator=true"),
    }
