"""`polytrace bench --span-cost --quick` end to end: each language's program runs with its service's SDK set-up
and every span it made arrives. No figure is asserted (docs/ARCHITECTURE.md, "Decisions")."""

from __future__ import annotations

import json
import subprocess
import sys

from polytrace.bench.spancost.programs import PROGRAMS
from tests.stack import ROOT


def test_quick_span_cost_counts_every_span_of_every_language(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "polytrace", "bench", "--span-cost", "--quick", "--out", str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=False,
    )
    assert result.returncode == 0, f"{result.stdout}\n{result.stderr}"
    [folder] = [p for p in tmp_path.iterdir() if p.is_dir()]
    results = json.loads((folder / "span-cost.json").read_text())

    assert results["schema"] == "polytrace-span-cost/1" and results["mode"] == "quick"
    assert [x["language"] for x in results["languages"]] == [p.language for p in PROGRAMS]
    for language in results["languages"]:
        assert language["spans_received"] == language["spans_sent"] > 0, language["language"]
        assert len(language["rounds"]) == results["plan"]["rounds"]
        assert {"median", "min", "max"} == set(language["us_per_span"])
        assert language["sdk"] and language["exports"] > 0
    text = (folder / "summary.md").read_text()
    assert "## What one span costs, per language" in text and text.strip() in result.stdout
