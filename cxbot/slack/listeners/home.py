"""The Home tab: `app_home_opened` publishes the person's Home, fresh, after the acknowledgement;
the chair's *Send me the digest now* (the other Home buttons are the thread's and the DM's own).

Slack sends the event on every visit (to the Home tab and to the Messages tab); publishing is
idempotent, so a retried delivery only publishes again. The visit is remembered first, so
changes publish this person's Home again from now on (`cxbot.services.home.republish`).
"""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App

from cxbot.i18n import Translator
from cxbot.services import home
from cxbot.services.context import Services
from cxbot.slack.blocks import ids
from cxbot.slack.blocks.home import home_tab
from cxbot.slack.replies import AfterAck, answers_errors


def register(app: App, cx: Services, after: AfterAck) -> None:
    @app.event("app_home_opened")
    def on_home_opened(ack: Ack, event: dict[str, Any]) -> None:
        user = str(event.get("user") or "")
        if event.get("tab", "home") != "home" or not user:
            ack()
            return
        home.opened(cx.bare_uow(), user, clock=cx.clock)
        ack()

        def build(tr: Translator) -> dict[str, Any]:
            return home_tab(home.home_of(cx.reader(), user, clock=cx.clock), tr)
        after.publish_home(user=user, build=build)

    @app.action(ids.EXPORT_NOW)
    @answers_errors(after)
    def export_now(ack: Ack, body: dict[str, Any], action: dict[str, Any]) -> None:
        """Queued before the acknowledgement (the outbox delivers the zip); a refusal is said by DM."""
        home.export_now(cx.uow(), actor=body["user"]["id"], council=str(action.get("value") or ""), clock=cx.clock)
        ack()

    @app.action(ids.DIGEST_NOW)
    @answers_errors(after)
    def digest_now(ack: Ack, body: dict[str, Any], action: dict[str, Any]) -> None:
        """Queued before the acknowledgement (the outbox delivers it); a refusal is said by DM."""
        home.digest_now(cx.uow(), actor=body["user"]["id"], council=str(action.get("value") or ""), clock=cx.clock)
        ack()
