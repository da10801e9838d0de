"""Alembic environment: the URL comes from CXBOT_DATABASE_URL, or a connection handed in by cxbot."""

from __future__ import annotations

import os
from logging.config import fileConfig

from alembic import context

from cxbot.store.db import default_database_url, make_engine
from cxbot.store.models import Base
from cxbot.store.search import UNMODELLED_COLUMNS, UNMODELLED_INDEXES, unmodelled_table

config = context.config
if config.config_file_name is not None and config.attributes.get("connection") is None:
    fileConfig(config.config_file_name, disable_existing_loggers=False)

target_metadata = Base.metadata


def include_name(name, type_, parent_names) -> bool:  # type: ignore[no-untyped-def]
    """Leave out the SQLite FTS5 table of full-text search and its shadow tables (the models
    do not describe them: cxbot.store.search), before they are even read."""
    return not (type_ == "table" and name is not None and unmodelled_table(name))


def include_object(obj, name, type_, reflected, compare_to) -> bool:  # type: ignore[no-untyped-def]
    """Leave out PostgreSQL's search column and its GIN index (cxbot.store.search)."""
    if not reflected or compare_to is not None:
        return True
    if type_ == "column":
        return (obj.table.name, name) not in UNMODELLED_COLUMNS
    return not (type_ == "index" and name in UNMODELLED_INDEXES)


def _configure(connection) -> None:  # type: ignore[no-untyped-def]
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=True,
        compare_type=True,
        include_name=include_name,
        include_object=include_object,
    )


def run_migrations_offline() -> None:
    context.configure(
        url=os.environ.get("CXBOT_DATABASE_URL") or default_database_url(),
        target_metadata=target_metadata,
        render_as_batch=True,
        literal_binds=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = make_engine(os.environ.get("CXBOT_DATABASE_URL") or default_database_url())
    with engine.connect() as conn:
        _configure(conn)
        with context.begin_transaction():
            context.run_migrations()
        conn.commit()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
