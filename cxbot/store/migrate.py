"""Alembic, driven from the program: `cxbot db upgrade` and the at-head check at start."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import Engine

ROOT = Path(__file__).resolve().parents[2]


def alembic_config() -> Config:
    ini = ROOT / "alembic.ini"
    if not (ROOT / "migrations").is_dir():
        raise RuntimeError(f"migrations not found at {ROOT / 'migrations'}: install cxbot from its checkout")
    cfg = Config(str(ini)) if ini.exists() else Config()
    cfg.set_main_option("script_location", str(ROOT / "migrations"))
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
