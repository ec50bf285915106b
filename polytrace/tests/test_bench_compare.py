"""Whether two bench runs agree, on made-up summaries (no stack, no timing)."""

from __future__ import annotations

import subprocess

import pytest
from click.testing import CliRunner

from polytrace.bench import compare, tree
from polytrace.bench import results as stored
from polytrace.cli import cli
from polytrace.errors import PolytraceError
from polytrace.tests.bench_results import results, spread, summary


def _results(throughput, *, started: str = "2026-01-01T00:00:00+00:00", commit: str = "a" * 40,
             complete: int = 100, dropped: int = 0, lost: int = 0) -> stored.Results:
    return results(summary(throughput, complete=complete, dropped=dropped, lost=lost), started=started, commit=commit)


def test_each_median_must_lie_in_the_other_runs_range():
    assert compare.spreads_agree(spread(0.71, 0.69, 0.72), spread(0.72, 0.70, 0.74))
    # Overlapping ranges are not enough: 0.74 is outside 0.69–0.69 (the first reproducibility failure).
    assert not compare.spreads_agree(spread(0.69, 0.69, 0.69), spread(0.74, 0.71, 0.74))
    assert compare.spreads_agree(spread(0.7, 0.7, 0.7, n=1), spread(0.7, 0.6, 0.8)) is None


def test_runs_that_agree_on_every_figure():
    result = compare.compare(_results(spread(0.71, 0.69, 0.72)),
                             _results(spread(0.72, 0.70, 0.74), started="2026-01-02T00:00:00+00:00"))

    assert result.agree and result.same_tree and result.disagree == []
    text = compare.markdown(result, ("run1", "run2"))
    assert "| max throughput, traced / untraced | 0.71 (0.69–0.72) | 0.72 (0.70–0.74) | 1.4% | yes |" in text
    assert "| spans lost on `down` | 0 | 0 |  | yes |" in text
    assert "Same tree: yes" in text and "agree on every figure" in text
    assert "different rates" not in text


def test_latency_at_different_rates_is_pointed_out():
    a, b = _results(spread(0.7, 0.6, 0.8)), _results(spread(0.7, 0.6, 0.8))
    a.summary.latency_rate_req_s, b.summary.latency_rate_req_s = 153, 160

    text = compare.markdown(compare.compare(a, b), ("a", "b"))

    assert "measured at different rates (153 and 160 req/s)" in text


def test_a_shifted_ratio_or_a_lost_span_is_a_disagreement():
    result = compare.compare(_results(spread(0.69, 0.69, 0.69)),
                             _results(spread(0.74, 0.71, 0.74), commit="b" * 40, lost=3))

    assert not result.agree
    assert result.disagree == ["max throughput, traced / untraced", "spans lost on `down`"]
    assert result.same_tree is False
    assert "Same tree: **no**" in compare.markdown(result, ("a", "b"))


def test_cli_exits_non_zero_when_runs_disagree(tmp_path):
    for name, throughput in (("a", spread(0.69, 0.69, 0.69)), ("b", spread(0.74, 0.71, 0.74))):
        (tmp_path / name).mkdir()
        stored.save(_results(throughput), tmp_path / name)

    outcome = CliRunner().invoke(cli, ["bench", "--compare", str(tmp_path / "a"), str(tmp_path / "b")])

    assert isinstance(outcome.exception, PolytraceError)
    assert "disagree on: max throughput, traced / untraced" in str(outcome.exception)
    assert "| **no** |" in outcome.output


def test_a_folder_without_results_is_a_clear_error(tmp_path):
    with pytest.raises(PolytraceError, match="cannot read"):
        compare.load(tmp_path)


def test_tree_records_commit_and_uncommitted_changes(tmp_path):
    def git(*args: str) -> None:
        subprocess.run(["git", *args], cwd=tmp_path, check=True, capture_output=True)

    git("init", "-q")
    (tmp_path / "a.txt").write_text("one\n")
    git("add", ".")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "one")
    clean = tree.describe(tmp_path)
    assert len(clean["commit"]) == 40 and clean["changed"] == [] and clean["changes_sha256"] is None

    (tmp_path / "bench" / "results").mkdir(parents=True)
    (tmp_path / "bench" / "results" / "r.json").write_text("{}")  # a run's own output is not the tree
    assert tree.describe(tmp_path)["changed"] == []

    git("add", "bench")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "results")
    with_results = tree.describe(tmp_path)
    assert with_results["commit"] != clean["commit"] and tree.same(clean, with_results) is True

    (tmp_path / "a.txt").write_text("two\n")
    edited = tree.describe(tmp_path)
    assert edited["changed"] == [" M a.txt"] and edited["changes_sha256"]
    assert tree.same(clean, edited) is False and tree.same(edited, dict(edited)) is True
    assert tree.same(clean, None) is None


def test_incomplete_traces_count_against_the_sampled_answers():
    full, sampled = _results(spread(0.7, 0.6, 0.8)), _results(spread(0.7, 0.6, 0.8), complete=10)
    sampled.summary.completeness.sampled = 10

    result = compare.compare(full, sampled)

    assert next(row for row in result.rows if row.figure == "incomplete traces, sustained phase").agree
    sampled.summary.completeness.complete_traces = 9
    assert "incomplete traces, sustained phase" in compare.compare(full, sampled).disagree
