"""Whose language a text is written in.

What the whole council reads (the council channel, its threads, the digest) is in the
council's language when the council file sets one, else in the channel's locale as Slack
reports it when cxbot has that language, else English. What one person reads alone (a DM,
an ephemeral message, a modal) is in their own choice (`/cx-review language`), else the
council's language, else their Slack locale when cxbot has it, else English. Slack offers no
Norwegian interface, so a Norwegian council says `language = "nb"` itself.
"""

from __future__ import annotations

from cxbot.i18n import DEFAULT, LANGUAGES, language_of_locale


def channel_language(*, council: str | None, channel_locale: str | None) -> str:
    """The language of content everyone in the council channel reads."""
    if council and council in LANGUAGES:
        return council
    return language_of_locale(channel_locale) or DEFAULT


def person_language(*, choice: str | None, council: str | None, slack_locale: str | None) -> str:
    """The language of content one person reads alone."""
    for language in (choice, council):
        if language and language in LANGUAGES:
            return language
    return language_of_locale(slack_locale) or DEFAULT


def digest_language(*, council: str | None, channel_locale: str | None = None) -> str:
    """The weekly digest's language: the council channel's (the council's, else the channel's
    locale as last read from Slack's `conversations.info`, else English)."""
    return channel_language(council=council, channel_locale=channel_locale)
