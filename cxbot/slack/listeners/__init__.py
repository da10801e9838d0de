"""Bolt listeners, one module per Slack surface. Each acknowledges, parses, calls a use case.

The request is recorded before `ack()` (Bolt runs with `process_before_response=True`), so
an acknowledged vote is committed; Slack calls that must follow at once (opening a modal,
an ephemeral answer) go to `AfterAck`, which runs them off the request thread.
"""

from __future__ import annotations

from slack_bolt import App

from cxbot.services.context import Services
from cxbot.slack.listeners import actions, commands, events, finding, followups, home, shortcuts, views
from cxbot.slack.replies import AfterAck


def register(app: App, cx: Services, after: AfterAck) -> None:
    commands.register(app, cx, after)
    actions.register(app, cx, after)
    views.register(app, cx, after)
    events.register(app, cx, after)
    finding.register(app, cx, after)
    shortcuts.register(app, cx, after)
    followups.register(app, cx, after)
    home.register(app, cx, after)
