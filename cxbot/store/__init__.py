"""Persistence: SQLAlchemy models, engine set-up, the unit of work and the outbox tables.

The database is the source of truth; Slack messages are projections of it.
"""
