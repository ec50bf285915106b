import sys
from pathlib import Path

import pytest

from polytrace import builds
from polytrace.errors import PolytraceError


def make_build(folder: Path, command: tuple[str, ...]) -> builds.Build:
    return builds.Build(name="demo", cwd=folder, steps=(command,), outputs=(folder / "out",))


def test_rebuilds_only_when_sources_change(tmp_path: Path):
    source = tmp_path / "src"
    source.mkdir()
    (source / "main.txt").write_text("one")
    build = make_build(source, (sys.executable, "-c", "open('out', 'w').write('built')"))
    stamps, logs = tmp_path / "stamps", tmp_path / "logs"

    assert builds.is_stale(build, stamps)
    builds.run(build, stamps, logs)
    assert not builds.is_stale(build, stamps)

    (source / "target").mkdir()
    (source / "target" / "ignored.txt").write_text("build output")
    assert not builds.is_stale(build, stamps), "build outputs are not sources"

    (source / "README.md").write_text("how to run it")
    assert not builds.is_stale(build, stamps), "documentation is not a source"

    (source / "main.txt").write_text("two")
    assert builds.is_stale(build, stamps)


def test_failed_step_reports_the_log_tail(tmp_path: Path):
    build = make_build(tmp_path, (sys.executable, "-c", "print('compiler says no'); raise SystemExit(3)"))
    with pytest.raises(PolytraceError, match="(?s)exited 3.*compiler says no"):
        builds.run(build, tmp_path / "stamps", tmp_path / "logs")
    assert builds.is_stale(build, tmp_path / "stamps")


def test_each_step_is_announced_as_it_begins(tmp_path: Path):
    steps = ((sys.executable, "-c", "open('first', 'w')"), (sys.executable, "-c", "open('out', 'w')"))
    build = builds.Build(name="demo", cwd=tmp_path, steps=steps, outputs=(tmp_path / "out",))
    heard = []
    builds.run(build, tmp_path / "stamps", tmp_path / "logs",
               on_step=lambda step: heard.append((builds.describe(step), (tmp_path / "first").exists())))
    python = Path(sys.executable).name
    assert heard == [(f"{python} -c open('first', 'w')", False), (f"{python} -c open('out', 'w')", True)]
