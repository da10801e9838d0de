"""Repeating user text safely in mrkdwn; days and times as Slack shows them."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime

from cxbot.i18n import Translator, translator


def escape(text: str) -> str:
    """Escape `&`, `<`, `>` so user text cannot ping (`<!channel>`), mention or disguise a link."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def unescape(text: str) -> str:
    """Undo Slack's escaping of what a person typed (`&amp;`, `&lt;`, `&gt;` in slash command
    and message text), so that `escape` repeats it as typed instead of escaping it twice."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


_ENTITY = re.compile(r"<([^<>|]*)(?:\|([^<>]*))?>")


def plain_text(mrkdwn: str, names: Mapping[str, str] | None = None) -> str:
    """A Slack message's text as a person reads it, to pre-fill a form with: `<@U123>` as
    `@name` (its label, else `names[U123]`, else `@U123`), `<#C123|council>` as `#council`, a user group or `<!here>` as
    `@name`, `<!date^…|fallback>` as its fallback, `<https://x|label>` as `label (https://x)`,
    and Slack's `&amp;`/`&lt;`/`&gt;` as typed."""
    def one(match: re.Match[str]) -> str:
        target, label = match.group(1), match.group(2)
        if target.startswith("!date^"):
            return label or ""
        if target.startswith(("@", "#")):
            return target[0] + (label or (names or {}).get(target[1:]) or target[1:]).lstrip("@#")
        if target.startswith("!"):
            return "@" + (label or target[1:].split("^")[-1]).lstrip("@")
        return f"{label} ({target})" if label and label != target else target
    return unescape(_ENTITY.sub(one, mrkdwn))


def clip(text: str, limit: int) -> str:
    """Shorten already escaped mrkdwn to `limit` characters with "…", never cutting an `&amp;` escape or a
    `<@U…>` mention or `<url|label>` link in two (half of one would show as garbage)."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    amp = cut.rfind("&")
    if amp != -1 and ";" not in cut[amp:]:
        cut = cut[:amp]
    angle = cut.rfind("<")
    if angle != -1 and ">" not in cut[angle:]:
        cut = cut[:angle]
    return cut + "…"


def clip_plain(text: str, limit: int) -> str:
    """Shorten plain text (a header, an option, text about to be escaped) to `limit`
    characters with "…". Plain text has no escapes or links to keep whole, so `&` and `<`
    are characters like any other; `clip` would cut the text short at them."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def quote(text: str) -> str:
    """User text as a mrkdwn block quote, escaped."""
    return "\n".join("> " + line for line in escape(text).splitlines() or [""])


def mention(user: str) -> str:
    return f"<@{user}>"


def local_time(at: datetime, tz: str, tr: Translator | None = None) -> str:
    """A moment as the council reads it, in its zone and the reader's language: for plain text,
    which Slack shows as it is ("Mon 07 Dec 2026 17:00", "man. 7. des. 2026 17:00")."""
    return (tr or translator("en")).moment(at, tz)


def slack_time(at: datetime, tz: str, tr: Translator | None = None) -> str:
    """A moment in mrkdwn that each reader's Slack shows in their own time zone and Slack's
    language ("Tomorrow 17:00", "Dec 15, 2026 17:00"); clients that cannot format it show the
    council's local time in the reader's language (`tr`, English by default)."""
    return f"<!date^{int(at.timestamp())}^{{date_short_pretty}} {{time}}|{local_time(at, tz, tr)}>"


def day(d: date, tr: Translator | None = None) -> str:
    """A day with its weekday in the reader's language ("Mon 07 Dec 2026", "Mo., 7. Dez. 2026")."""
    return (tr or translator("en")).date(d)
