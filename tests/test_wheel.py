"""cxbot installed from its wheel works from any directory, without the checkout.

The wheel is built from a copy of the sources and installed, not editable, into a fresh
virtual environment whose only other entries are the test environment's dependencies (a
`.pth` line: the directories it lists are searched, but their own `.pth` files, such as the
editable install's import hook, are not run). Every command then runs in an empty directory.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import sysconfig
import time
import tomllib
import urllib.request
import venv
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.harness import BOT_TOKEN, COUNCIL_FILE, SIGNING_SECRET, make_emulator

ROOT = Path(__file__).resolve().parents[1]
# Where each folder of the checkout lies in the installed package (see pyproject.toml).
SHIPPED = {"cxbot": "cxbot", "migrations": "cxbot/migrations", "templates": "cxbot/templates"}
NOT_SOURCES = shutil.ignore_patterns(".git", "build", "dist", "*.egg-info", "__pycache__", "*.pyc", ".pytest_cache",
                                     ".hypothesis", ".venv", "*.db", "*.db-*")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Built from a copy, so a stale `build/` in the checkout can neither add nor hide a file."""
    tmp = tmp_path_factory.mktemp("wheel")
    src = tmp / "src"
    shutil.copytree(ROOT, src, ignore=NOT_SOURCES)
    _pip("wheel", "--no-deps", "--no-build-isolation", "--no-index", "--wheel-dir", str(tmp / "dist"), str(src))
    (built,) = (tmp / "dist").glob("cxbot-*.whl")
    return built


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtual environment with the wheel installed; returns its bin directory."""
    env_dir = tmp_path_factory.mktemp("venv") / "venv"
    venv.EnvBuilder(with_pip=False).create(env_dir)
    python = env_dir / "bin" / "python"
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          check=True, capture_output=True, text=True).stdout.strip()
    ours = dict.fromkeys([sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]])
    Path(site, "test-dependencies.pth").write_text("".join(f"{d}\n" for d in ours))
    _pip("--python", str(python), "install", "--no-deps", "--no-index", str(wheel))
    return env_dir / "bin"


def _pip(*args: str) -> None:
    done = subprocess.run([sys.executable, "-m", "pip", "--quiet", *args], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, f"pip {' '.join(args)} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"


@pytest.fixture
def elsewhere(tmp_path: Path) -> Path:
    """An empty working directory with no checkout above it to fall back on."""
    path = tmp_path / "elsewhere"
    path.mkdir()
    return path


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "CXBOT_", "PYTHON"))}
    return {**env, **extra}


def _run(bin_dir: Path, *argv: str, cwd: Path, env: dict[str, str] | None = None,
         timeout: float = 60) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([str(bin_dir / argv[0]), *argv[1:]], cwd=cwd, env=env or _env(), capture_output=True,
                            text=True, timeout=timeout)
    assert result.returncode == 0, f"{' '.join(argv)} exited {result.returncode}:\n{result.stdout}\n{result.stderr}"
    return result


def _sources(folder: str) -> Iterator[Path]:
    for path in sorted((ROOT / folder).rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
            yield path


def test_pyproject_lists_every_package_under_cxbot() -> None:
    """The list in pyproject.toml is by hand (see there): a new package must be added to it."""
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    on_disk = {".".join(init.parent.relative_to(ROOT).parts) for init in (ROOT / "cxbot").rglob("__init__.py")}
    assert sorted(on_disk - listed) == [], "add these to [tool.setuptools] packages in pyproject.toml"
    assert listed - on_disk == {"cxbot.migrations", "cxbot.migrations.versions", "cxbot.templates"}


def test_the_wheel_holds_every_module_migration_and_template(wheel: Path) -> None:
    """A package missing from pyproject.toml's list, or a file its globs miss, fails here."""
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = {f"{SHIPPED[folder]}/{path.relative_to(ROOT / folder).as_posix()}"
                for folder in SHIPPED for path in _sources(folder)}
    assert sorted(expected - names) == []
    assert "cxbot/migrations/env.py" in names and "cxbot/migrations/script.py.mako" in names
    assert any(n.startswith("cxbot/migrations/versions/") for n in names)
    assert any(n.startswith("cxbot/templates/") and n.endswith(".j2") for n in names)


def test_the_installed_wheel_runs_the_demo_from_any_directory(installed: Path, elsewhere: Path) -> None:
    where = _run(installed, "python", "-c",
                 "import sys, cxbot, cxbot.migrations, cxbot.templates\n"
                 "print(cxbot.__file__, cxbot.migrations.__file__, cxbot.templates.__file__)\n"
                 "print(any('editable' in repr(finder).lower() for finder in sys.meta_path))", cwd=elsewhere)
    files, editable_hook = where.stdout.splitlines()
    venv_dir = installed.parent.resolve()
    for file in files.split():
        assert Path(file).resolve().is_relative_to(venv_dir), f"{file} is not the wheel's"
    assert editable_hook == "False"

    demo = _run(installed, "cxbot", "demo", "--quiet", cwd=elsewhere, timeout=120)
    assert "the story ran as expected" in demo.stdout
    assert list(elsewhere.iterdir()) == [], "the demo left files in the working directory"


def test_the_installed_wheel_migrates_and_serves_from_any_directory(installed: Path, elsewhere: Path,
                                                                    tmp_path: Path) -> None:
    database_url = f"sqlite:///{tmp_path / 'cxbot.db'}"
    migrated = _run(installed, "cxbot", "db", "upgrade", cwd=elsewhere, env=_env(CXBOT_DATABASE_URL=database_url))
    revisions = {path.name.split("_")[1] for path in (ROOT / "migrations" / "versions").glob("*.py")}
    head = migrated.stdout.split()[-1]
    assert migrated.stdout.startswith("database at revision ") and head in revisions
    current = _run(installed, "cxbot", "db", "current", cwd=elsewhere, env=_env(CXBOT_DATABASE_URL=database_url))
    assert current.stdout.strip() == f"applied: {head}; latest: {head}"

    assert "--port" in _run(installed, "cxbot", "serve", "--help", cwd=elsewhere).stdout
    with make_emulator() as emulator:
        env = _env(CXBOT_DATABASE_URL=database_url, SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_SIGNING_SECRET=SIGNING_SECRET,
                   CXBOT_SLACK_API_URL=emulator.url, CXBOT_COUNCIL_FILE=str(COUNCIL_FILE))
        port = _free_port()
        proc = subprocess.Popen([str(installed / "cxbot"), "serve", "--port", str(port)],
                                cwd=elsewhere, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            health = _healthz(f"http://127.0.0.1:{port}/healthz", proc)
        finally:
            proc.terminate()
            output, _ = proc.communicate(timeout=30)
    assert health == {"ok": True, "database": "reachable", "migrations": "at head"}, output

    preview = _run(installed, "cxbot", "digest", "preview", "--format", "html", cwd=elsewhere,
                   env=_env(CXBOT_DATABASE_URL=database_url))
    assert preview.stdout.lstrip().lower().startswith("<!doctype html>")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _healthz(url: str, proc: subprocess.Popen[str]) -> object:
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                return json.loads(response.read())
        except OSError:
            if proc.poll() is not None:
                output = proc.stdout.read() if proc.stdout else ""
                pytest.fail(f"cxbot serve exited {proc.returncode}:\n{output}")
            assert time.monotonic() < deadline, "cxbot serve did not come up"
            time.sleep(0.2)
