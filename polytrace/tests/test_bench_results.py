"""results.json: the committed runs load into the typed results and write back the same JSON."""

from __future__ import annotations

import json

import pytest

from polytrace.bench import results as stored
from polytrace.bench.codec import to_json
from polytrace.bench.runner import DEFAULT_OUT
from polytrace.errors import PolytraceError
from polytrace.tests.bench_results import results, spread, summary

COMMITTED = sorted(path.parent for path in DEFAULT_OUT.glob(f"*/{stored.FILE}"))


def test_the_committed_runs_are_there():
    assert len(COMMITTED) >= 2  # the runs bench/README.md cites; --compare is checked against them


@pytest.mark.parametrize("folder", COMMITTED, ids=lambda folder: folder.name)
def test_a_committed_run_loads_and_writes_back_unchanged(folder, tmp_path):
    loaded = stored.load(folder)
    assert loaded.summary is not None and loaded.runs

    stored.save(loaded, tmp_path)

    assert json.loads((tmp_path / stored.FILE).read_text()) == json.loads((folder / stored.FILE).read_text())


def test_a_phase_not_reached_has_no_key_and_numbers_stay_as_stored(tmp_path):
    made_up = results(summary(spread(0.7, 0.6, 0.8)))
    data = to_json(made_up)
    assert "error" not in data and "latency_rate" not in data and data["note"] is None
    assert data["summary"]["completeness"]["target_rate"] == 100 and isinstance(
        data["summary"]["completeness"]["target_rate"], int)

    stored.save(made_up, tmp_path)
    assert stored.load(tmp_path) == made_up


def test_an_unknown_key_is_an_error_that_says_where(tmp_path):
    data = to_json(results(summary(spread(0.7, 0.6, 0.8))))
    data["summary"]["shutdown"]["spans_gone"] = 1
    (tmp_path / stored.FILE).write_text(json.dumps(data))

    with pytest.raises(PolytraceError, match=r"results.json.summary.shutdown: unknown key 'spans_gone'"):
        stored.load(tmp_path)


def test_sampled_counts_are_stored_and_a_run_without_them_expected_every_answer(tmp_path):
    made_up = results(summary(spread(0.7, 0.6, 0.8)))
    old = made_up.summary.completeness
    assert old.sampled is None and old.expected_traces == old.ok_with_trace_id == 100
    assert "sampled" not in to_json(made_up)["summary"]["completeness"]  # as the committed runs hold it

    old.sampled = 12
    made_up.summary.shutdown.sampled = 100
    stored.save(made_up, tmp_path)
    loaded = stored.load(tmp_path)

    assert loaded == made_up
    assert loaded.summary.completeness.expected_traces == 12 and loaded.summary.shutdown.expected_traces == 100
