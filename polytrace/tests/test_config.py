from pathlib import Path

import pytest

from polytrace.config import DEFAULT_PORTS, load_settings
from polytrace.errors import PolytraceError

ROOT = Path("/repo")


def test_defaults_follow_the_design():
    settings = load_settings(env={}, root=ROOT)
    assert settings.ports == DEFAULT_PORTS
    assert settings.run_dir == ROOT / ".run"
    assert settings.viewer_enabled
    assert settings.export_endpoint == "http://127.0.0.1:4318"


def test_flag_beats_environment_beats_default():
    env = {"POLYTRACE_PRICING_PORT": "9001", "POLYTRACE_OTLP_ENDPOINT": "http://env:4318"}
    from_env = load_settings(env=env, root=ROOT)
    assert from_env.ports["pricing"] == 9001
    assert from_env.otlp_endpoint == "http://env:4318"
    assert not from_env.viewer_enabled

    from_flags = load_settings(env=env, root=ROOT, ports={"pricing": 9002}, otlp_endpoint="http://flag:4318/")
    assert from_flags.ports["pricing"] == 9002
    assert from_flags.export_endpoint == "http://flag:4318"


def test_relative_run_dir_is_under_the_root():
    assert load_settings(env={"POLYTRACE_RUN_DIR": ".run-test"}, root=ROOT).run_dir == ROOT / ".run-test"


@pytest.mark.parametrize("value", ["abc", "0", "70000"])
def test_bad_port_in_environment_names_the_variable(value):
    with pytest.raises(PolytraceError, match="POLYTRACE_STOCK_PORT"):
        load_settings(env={"POLYTRACE_STOCK_PORT": value}, root=ROOT)


def test_unknown_component_in_port_flag_is_an_error():
    with pytest.raises(PolytraceError, match="unknown component 'nope'"):
        load_settings(env={}, root=ROOT, ports={"nope": 1234})


def test_no_tracing_disables_the_viewer():
    assert not load_settings(env={}, root=ROOT, tracing=False).viewer_enabled


def test_extra_env_is_parsed_from_polytrace_extra_env():
    from polytrace.config import parse_extra_env

    settings = load_settings(env={"POLYTRACE_EXTRA_ENV": "OTEL_PROPAGATORS=b3; A=x=y ;"})
    assert dict(settings.extra_env) == {"OTEL_PROPAGATORS": "b3", "A": "x=y"}
    assert parse_extra_env("") == {}
    with pytest.raises(PolytraceError):
        parse_extra_env("NOEQUALS")


def test_an_otlp_endpoint_with_a_path_is_refused():
    with pytest.raises(PolytraceError, match="no path"):
        load_settings(otlp_endpoint="http://127.0.0.1:4318/v1/traces", env={})
    assert load_settings(otlp_endpoint="http://127.0.0.1:4318/", env={}).export_endpoint == "http://127.0.0.1:4318"


def test_portable_paths_name_no_machine_layout():
    from pathlib import Path

    from polytrace.config import ROOT, portable

    assert portable(ROOT / "services" / "x.py") == "services/x.py"
    assert portable(Path.home() / ".cargo" / "bin" / "oha") == "~/.cargo/bin/oha"
    assert portable("oha") == "oha"
    # Inside an option too: the span-cost command's -javaagent named this machine's checkout.
    assert portable(f"-javaagent:{ROOT}/services/a.jar") == "-javaagent:services/a.jar"
