"""polytrace/flags.py: the live flags file the services read, its validation and its atomic rewrite."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys

import pytest

from polytrace import flags
from polytrace.config import ROOT, load_settings
from polytrace.errors import PolytraceError


@pytest.fixture
def settings(tmp_path):
    return load_settings(env={"POLYTRACE_RUN_DIR": str(tmp_path / "run")})


def _by_name(found):
    return {f.name: f for f in found}


def test_without_a_run_the_defaults_are_listed_with_their_metadata(settings):
    found, source = flags.current(settings)
    assert source == flags.DEFAULTS
    by_name = _by_name(found)
    assert set(by_name) == {"pricingLatencyMs", "pricingFailureRate", "stockLatencyMs", "stockFailure",
                            "catalogProductFailure", "analyticsFailure"}
    rate = by_name["pricingFailureRate"]
    assert (rate.type, rate.value, rate.default, rate.service, rate.minimum, rate.maximum) == (
        "integer", 0, 0, "pricing", 0, 100)
    assert by_name["stockFailure"].type == "boolean" and by_name["stockFailure"].value is False
    assert {f.service for f in found} == {"pricing", "stock", "catalog", "analytics"}


def test_ensure_live_copy_writes_the_defaults_readable_by_every_user(settings):
    path = flags.ensure_live_copy(settings)
    assert path == settings.run_dir / "flags.json"
    assert json.loads(path.read_text()) == json.loads(flags.DEFAULTS.read_text())
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    flags.set_flag(settings, "stockFailure", "true")
    flags.ensure_live_copy(settings)  # every start begins from the defaults
    assert _by_name(flags.current(settings)[0])["stockFailure"].value is False


def test_set_integer_uses_the_on_variant_and_back_to_default_uses_off(settings):
    path = flags.ensure_live_copy(settings)
    flag = flags.set_flag(settings, "pricingLatencyMs", "3000")
    assert flag.value == 3000 and flag.default == 0
    entry = json.loads(path.read_text())["flags"]["pricingLatencyMs"]
    assert entry["variants"] == {"off": 0, "on": 3000} and entry["defaultVariant"] == "on"
    assert entry["state"] == "ENABLED" and entry["metadata"]["service"] == "pricing"
    assert flags.set_flag(settings, "pricingLatencyMs", "0").value == 0
    assert json.loads(path.read_text())["flags"]["pricingLatencyMs"]["defaultVariant"] == "off"
    current, source = flags.current(settings)
    assert source == path and _by_name(current)["pricingLatencyMs"].value == 0


def test_set_boolean_switches_the_default_variant(settings):
    path = flags.ensure_live_copy(settings)
    assert flags.set_flag(settings, "analyticsFailure", "TRUE").value is True
    entry = json.loads(path.read_text())["flags"]["analyticsFailure"]
    assert entry["defaultVariant"] == "on" and entry["variants"] == {"on": True, "off": False}


@pytest.mark.parametrize(("name", "value", "message"), [
    ("nope", "1", "unknown flag 'nope' (valid: pricingLatencyMs, pricingFailureRate, stockLatencyMs, "
                  "stockFailure, catalogProductFailure, analyticsFailure)"),
    ("pricingFailureRate", "101", "pricingFailureRate takes an integer 0–100, not '101'"),
    ("pricingFailureRate", "-1", "pricingFailureRate takes an integer 0–100, not '-1'"),
    ("pricingLatencyMs", "2.5", "pricingLatencyMs takes an integer 0–60000, not '2.5'"),
    ("stockFailure", "yes", "stockFailure takes true or false, not 'yes'"),
    ("stockFailure", "1", "stockFailure takes true or false, not '1'"),
])
def test_a_bad_name_or_value_is_one_line_and_leaves_the_file_untouched(settings, name, value, message):
    path = flags.ensure_live_copy(settings)
    flags.set_flag(settings, "stockLatencyMs", "100")
    before = (path.read_bytes(), path.stat().st_ino)
    with pytest.raises(PolytraceError) as raised:
        flags.set_flag(settings, name, value)
    assert str(raised.value) == message
    assert (path.read_bytes(), path.stat().st_ino) == before
    assert sorted(p.name for p in path.parent.iterdir()) == ["flags.json"]


def test_a_change_replaces_the_file_by_rename_and_leaves_no_temporary_file(settings):
    path = flags.ensure_live_copy(settings)
    inode = path.stat().st_ino
    flags.set_flag(settings, "stockFailure", "true")
    # A new inode: the providers' file watchers see a rename onto the path, never a half-written file.
    assert path.stat().st_ino != inode
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    assert sorted(p.name for p in path.parent.iterdir()) == ["flags.json"]


def test_reset_one_flag_or_all(settings):
    flags.ensure_live_copy(settings)
    flags.set_flag(settings, "stockFailure", "true")
    flags.set_flag(settings, "catalogProductFailure", "2")
    flags.reset(settings, "stockFailure")
    values = {f.name: f.value for f in flags.current(settings)[0]}
    assert values["stockFailure"] is False and values["catalogProductFailure"] == 2
    flags.reset(settings)
    assert flags.read_document(flags.live_path(settings)) == json.loads(flags.DEFAULTS.read_text())
    with pytest.raises(PolytraceError, match="unknown flag 'nope'"):
        flags.reset(settings, "nope")


def test_set_without_a_live_copy_says_how_to_get_one(settings):
    with pytest.raises(PolytraceError, match="`polytrace up` creates it"):
        flags.set_flag(settings, "stockFailure", "true")
    assert not settings.run_dir.exists()


def test_a_broken_live_file_is_named(settings):
    path = flags.ensure_live_copy(settings)
    path.write_text("{")
    with pytest.raises(PolytraceError, match=f"the flags file {path} is not valid JSON"):
        flags.current(settings)


def test_the_command_exits_non_zero_with_one_line(settings):
    flags.ensure_live_copy(settings)
    env = {**os.environ, "POLYTRACE_RUN_DIR": str(settings.run_dir), "COLUMNS": "200"}
    bad = subprocess.run([sys.executable, "-m", "polytrace", "flags", "set", "nope", "1"], cwd=ROOT, env=env,
                         capture_output=True, text=True, check=False)
    assert bad.returncode == 1
    assert bad.stderr.strip().splitlines() == [
        "polytrace: unknown flag 'nope' (valid: pricingLatencyMs, pricingFailureRate, stockLatencyMs, "
        "stockFailure, catalogProductFailure, analyticsFailure)"]
    good = subprocess.run([sys.executable, "-m", "polytrace", "flags", "set", "pricingFailureRate", "50"], cwd=ROOT,
                          env=env, capture_output=True, text=True, check=False)
    assert good.returncode == 0, good.stderr
    listed = subprocess.run([sys.executable, "-m", "polytrace", "flags", "--json"], cwd=ROOT, env=env,
                            capture_output=True, text=True, check=True)
    assert {f["name"]: f["value"] for f in json.loads(listed.stdout)}["pricingFailureRate"] == 50
