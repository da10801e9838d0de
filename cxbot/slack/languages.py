"""The language of the person a listener answers, from what the database holds.

Reading it costs one short query and never a Slack call, so a listener may do it before its
acknowledgement. A person whose Slack data is missing or stale is handed to the background
people refresh (`Services.want_people`), which also asks Slack for their locale: the first
answer to a person cxbot has never met follows the council's language, or English.
"""

from __future__ import annotations

from cxbot.i18n import Translator, translator
from cxbot.services import people
from cxbot.services.context import Services


def translators_for(cx: Services, user: str) -> tuple[Translator, Translator]:
    """The translator of what `user` reads alone, and that of their council's channel (what
    its buttons are called there), from one short query."""
    found = people.reader(cx.glance, user, cx.clock.now())
    if found.stale and cx.want_people is not None:
        cx.want_people([user])
    return translator(found.language), translator(found.channel)


def translator_for(cx: Services, user: str) -> Translator:
    return translators_for(cx, user)[0]
