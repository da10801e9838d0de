"""Alembic, driven from the program: `cxbot db upgrade` and the at-head check at start."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import Engine

MIGRATIONS = "cxbot.migrations"


def migrations_dir() -> Path:
    """The migrations as installed with cxbot (the checkout's `migrations/` in an editable install).

    Alembic reads a script directory from the file system, so the package must be installed as
    files, which pip always does.
    """
    try:
        found = resources.files(MIGRATIONS)
    except ModuleNotFoundError:
        raise RuntimeError("cxbot's migrations are not installed: install cxbot with pip "
                           "(`pip install .`, or `pip install -e .` in a checkout)") from None
    if not isinstance(found, Path) or not (found / "env.py").is_file():
        raise RuntimeError(f"cxbot's migrations are not installed as files ({found}): reinstall cxbot with pip")
    return found


def alembic_config() -> Config:
    """Alembic's settings for cxbot's own commands; the checkout's alembic.ini is for `alembic` alone."""
    cfg = Config()
    cfg.set_main_option("script_location", str(migrations_dir()))
    cfg.set_main_option("path_separator", "os")
    return cfg


class UnknownRevision(Exception):
    """The database was migrated by a cxbot this one does not know (newer, or a discarded branch)."""


def upgrade(engine: Engine, revision: str = "head") -> None:
    cfg = alembic_config()
    try:
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, revision)
    except CommandError as exc:
        raise UnknownRevision(f"cannot upgrade this database: {exc}") from None


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def is_at_head(engine: Engine) -> bool:
    return current_revision(engine) == head_revision()
