"""What the README tells an operator holds: its examples load, the settings it names are the
ones the code reads, the systemd unit verifies, and the default database has a fixed place."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from cxbot.cli import _parser
from cxbot.config import ConfigError, Settings
from cxbot.council_file import parse_council

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()
UNIT = ROOT / "docs" / "cxbot.service"
SETTING = re.compile(r"\b(?:CXBOT|SLACK|PROMETHEUS)_[A-Z_]+[A-Z]\b")


def section(title: str) -> str:
    start = README.index(title)
    level = title.split(" ")[0]
    body = start + len(title)
    ends = [m.start() for m in re.finditer(rf"^#{{1,{len(level)}}} ", README[body:], re.M)]
    return README[start:body + ends[0]] if ends else README[start:]


def test_every_example_the_readme_shows_holds() -> None:
    """Each council file loads, and each command in the operator's table is one `cxbot` has."""
    blocks = re.findall(r"```toml\n(.*?)```", README, re.S)
    assert blocks
    for n, block in enumerate(blocks):
        parse_council(block, source=f"README.md toml block {n + 1}")
    commands = re.findall(r"^\| `cxbot (\w+)(?: (\w+))?", section("## Operating it"), re.M)
    assert len(commands) >= 6
    sub = next(a for a in _parser()._actions if a.dest == "command")
    for command, word in commands:
        assert command in sub.choices, command  # type: ignore[operator]
        nested = [a for a in sub.choices[command]._actions if a.choices and a.dest != "help"]  # type: ignore[index]
        if nested and word and not word.startswith("-"):
            assert word in nested[0].choices, (command, word)


def test_the_readme_documents_exactly_the_settings_the_code_reads() -> None:
    read = {name for path in (ROOT / "cxbot").rglob("*.py") for name in SETTING.findall(path.read_text())}
    table = set(SETTING.findall(section("### Environment variables")))
    assert table <= read, f"the README lists settings nothing reads: {table - read}"
    named = set(SETTING.findall(README))
    assert read <= named, f"settings the README never names: {read - named}"


@pytest.mark.skipif(shutil.which("systemd-analyze") is None and not os.environ.get("CI"),
                    reason="systemd-analyze is not installed (apt-get install systemd; CI installs it and never skips)")
def test_the_systemd_unit_verifies(tmp_path: Path) -> None:
    """`systemd-analyze verify` checks every key and that the commands exist: the unit's
    /opt/cxbot/venv is pointed at this checkout's cxbot for the check."""
    assert "docs/cxbot.service" in section("## Operating it")
    installed = Path(sys.executable).parent / "cxbot"
    assert installed.exists()
    unit = tmp_path / "cxbot.service"
    unit.write_text(UNIT.read_text().replace("/opt/cxbot/venv/bin/cxbot", str(installed)))
    done = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "SYSTEMD_LOG_LEVEL": "notice"})
    assert done.returncode == 0 and "cxbot.service" not in done.stderr + done.stdout, done.stderr


def test_the_default_database_has_one_place_whatever_the_directory(tmp_path: Path) -> None:
    data, elsewhere = tmp_path / "data", tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CXBOT_", "SLACK_"))}
    env.update(XDG_DATA_HOME=str(data))
    done = subprocess.run([sys.executable, "-m", "cxbot", "db", "upgrade"], cwd=elsewhere, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert (data / "cxbot" / "cxbot.db").is_file() and not list(elsewhere.iterdir())

    home = tmp_path / "home"
    url = Settings.from_env({"HOME": str(home)}).database_url
    assert url == f"sqlite:///{home}/.local/share/cxbot/cxbot.db" and (home / ".local/share/cxbot").is_dir()


@pytest.mark.parametrize(("name", "value"), [
    ("CXBOT_METRICS_ADDRESS", "9100"), ("CXBOT_METRICS_ADDRESS", "127.0.0.1:http"),
    ("CXBOT_METRICS_ADDRESS", "127.0.0.1:70000"), ("CXBOT_METRICS_TOKEN", "short"),
    ("CXBOT_METRICS_TOKEN", "has a space in it 0123456789"), ("CXBOT_REQUEST_SECONDS", "0"),
    ("CXBOT_REQUEST_SECONDS", "soon"),
])
def test_a_wrong_operating_setting_names_its_variable(tmp_path: Path, name: str, value: str) -> None:
    with pytest.raises(ConfigError, match=name):
        Settings.from_env({"XDG_DATA_HOME": str(tmp_path), name: value})


def test_operating_settings_are_read(tmp_path: Path) -> None:
    settings = Settings.from_env({"XDG_DATA_HOME": str(tmp_path), "CXBOT_METRICS_ADDRESS": "[::1]:9464",
                                  "CXBOT_METRICS_TOKEN": "0123456789abcdef", "CXBOT_REQUEST_SECONDS": "2.5"})
    assert (settings.metrics_address, settings.metrics_token, settings.request_seconds) == (
        ("::1", 9464), "0123456789abcdef", 2.5)


def test_serve_refuses_metrics_on_the_slack_port(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CXBOT_", "SLACK_"))}
    env.update(CXBOT_DATABASE_URL=f"sqlite:///{tmp_path / 'x.db'}", SLACK_BOT_TOKEN="xoxb-1",
               SLACK_SIGNING_SECRET="s", CXBOT_METRICS_ADDRESS="127.0.0.1:3999")
    assert subprocess.run([sys.executable, "-m", "cxbot", "db", "upgrade"], env=env, capture_output=True,
                          timeout=120).returncode == 0
    done = subprocess.run([sys.executable, "-m", "cxbot", "serve", "--port", "3999"], env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "CXBOT_METRICS_ADDRESS must use another port" in done.stderr, done.stderr
