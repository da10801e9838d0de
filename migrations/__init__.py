"""Alembic's migrations, installed as the package `cxbot.migrations` (see pyproject.toml) so an
installed cxbot finds them with importlib.resources; `alembic` in the checkout reads them here."""
