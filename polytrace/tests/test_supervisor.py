from pathlib import Path

from polytrace.components import Component
from polytrace.supervisor import Supervisor


def test_programs_are_rendered_with_escaped_environment(tmp_path: Path):
    component = Component(
        name="pricing", phase=1, port=8081, command=("gunicorn", "-c", "a b.py"), cwd=tmp_path,
        probe=lambda: True, url="http://127.0.0.1:8081", env={"PGPASSWORD": 'p%w"d'}, user="nobody",
    )
    supervisor = Supervisor(tmp_path)
    supervisor.write_config([component])
    text = supervisor.conf.read_text()
    assert "[program:pricing]" in text
    assert "command=gunicorn -c 'a b.py'" in text
    assert 'environment=PGPASSWORD="p%%w\\"d"' in text
    assert "autostart=false" in text and "stopasgroup=true" in text and "killasgroup=true" in text
    assert "user=nobody" in text
    assert f"stdout_logfile={tmp_path / 'logs' / 'pricing.log'}" in text
