"""Databases for the tests: SQLite always, PostgreSQL too when CXBOT_TEST_POSTGRES_URL is set.

Each test gets an empty, migrated database: a copy of a migrated SQLite file, or on
PostgreSQL a database of this run whose tables are emptied between tests.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from cxbot.store.db import make_engine, normalise_url
from cxbot.store.journal import close_journal
from cxbot.store.migrate import upgrade
from cxbot.store.models import Base
from tests.harness import Stack, running_stack

POSTGRES = os.environ.get("CXBOT_TEST_POSTGRES_URL")
BACKENDS = ["sqlite"] + (["postgresql"] if POSTGRES else [])


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "cxbot.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """A database of this test run, migrated once, dropped at the end."""
    assert POSTGRES
    admin_url = make_url(normalise_url(POSTGRES))
    name = f"cxbot_test_{uuid.uuid4().hex[:10]}"
    admin = make_engine(admin_url.render_as_string(hide_password=False), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = admin_url.set(database=name).render_as_string(hide_password=False)
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def empty_database(url: str) -> None:
    engine = make_engine(url)
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        path = tmp_path / "cxbot.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    url = request.getfixturevalue("postgres_database")
    empty_database(url)
    return url


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    yield engine
    close_journal(engine)
    engine.dispose()


@pytest.fixture
def stack(database_url: str, engine: Engine) -> Iterator[Stack]:
    with running_stack(database_url, engine) as s:
        yield s
        assert not s.slack.problems, s.slack.problems
