"""Use cases over a unit of work: load the council, file, vote, comment, withdraw.

Each use case records its state change, an audit event and the Slack side effects it
needs (as outbox items) in one transaction. None of them talks to Slack. `delivery` and
`people` are the database side of the Slack adapter: what it renders and what Slack answered.
"""
