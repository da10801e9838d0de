"""The council channel's language: the council's own (`language` in the council file), else
the channel's locale as Slack reports it, when cxbot has that language, else English
(`cxbot.domain.languages.channel_language`).

Slack tells a channel's locale through `conversations.info` with `include_locale=true`
(Slack's guide to localising apps). The delivery worker asks it, in the background, before it
renders a council-channel message whose council sets no language and whose stored locale is
older than `LOCALE_FRESH`; what Slack answered (or that it answered nothing) is stored on the
council row here, so the channel is asked at most once a day.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from cxbot.domain.languages import channel_language
from cxbot.i18n import LANGUAGES
from cxbot.store.models import Council

LOCALE_FRESH = timedelta(days=1)
LOCALE_MAX = 16   # characters of a stored locale (`en-US`, `zh-Hant-TW`)


def council_language(council: Council) -> str:
    """The language of what the council's channel (its messages, threads and digest) shows."""
    return channel_language(council=council.language, channel_locale=council.channel_locale)


def channel_locale_due(council: Council, now: datetime) -> bool:
    """Whether the channel's locale should be asked of Slack again: only while the council
    sets no language of its own, and at most once per `LOCALE_FRESH`."""
    if council.language in LANGUAGES:
        return False
    return council.channel_locale_at is None or now - council.channel_locale_at >= LOCALE_FRESH


def remember_channel_locale(session: Session, channel: str, locale: str | None, now: datetime) -> None:
    """Store what Slack said of `channel`'s locale (None: it said nothing, the last known one
    stays) on every council row of that channel, and that it was asked now."""
    for council in session.scalars(select(Council).where(Council.channel == channel)):
        if locale is not None:
            council.channel_locale = locale[:LOCALE_MAX]
        council.channel_locale_at = now
