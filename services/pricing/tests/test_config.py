from __future__ import annotations

import pytest

from pricing import config
from pricing.persistence import SemconvCursor, engine_options


def test_defaults_follow_the_conventions():
    settings = config.load({})
    assert settings.server.bind == "127.0.0.1:8081"
    assert settings.server.workers == 4
    assert settings.server.gc_freeze is True
    db = settings.database
    assert (db.host, db.port, db.name, db.user, db.password) == (
        "127.0.0.1",
        55432,
        "polytrace",
        "pricing",
        None,
    )
    assert db.url().render_as_string() == "postgresql+psycopg://pricing@127.0.0.1:55432/polytrace"


def test_libpq_variables_are_used_and_password_escaped():
    env = {"PGHOST": "db", "PGPORT": "5433", "PGDATABASE": "d", "PGUSER": "u", "PGPASSWORD": "p@ss/w:rd"}
    url = config.load_database(env).url()
    assert url.password == "p@ss/w:rd"
    assert url.render_as_string(hide_password=False) == "postgresql+psycopg://u:p%40ss%2Fw%3Ard@db:5433/d"


def test_gc_freeze_can_be_turned_off():
    assert config.load_server({"GC_FREEZE": "0"}).gc_freeze is False
    assert config.load_server({"GC_FREEZE": "1"}).gc_freeze is True


@pytest.mark.parametrize(("name", "value"),
                         [("PORT", "http"), ("PORT", "70000"), ("PGPORT", "x"), ("GC_FREEZE", "yes")])
def test_bad_value_names_the_variable(name, value):
    with pytest.raises(config.ConfigError, match=name):
        config.load({name: value})


def test_ipv6_bind():
    assert config.load_server({"HOST": "::1", "PORT": "9000"}).bind == "[::1]:9000"


def test_engine_options_recover_and_fail_fast():
    options = engine_options(config.load_database({}))
    assert options["pool_pre_ping"] is True
    assert options["connect_args"] == {"connect_timeout": 2, "cursor_factory": SemconvCursor}
