"""Repeating user text safely in mrkdwn."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo


def escape(text: str) -> str:
    """Escape `&`, `<`, `>` so user text cannot ping (`<!channel>`), mention or disguise a link."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def unescape(text: str) -> str:
    """Undo Slack's escaping of what a person typed (`&amp;`, `&lt;`, `&gt;` in slash command
    and message text), so that `escape` repeats it as typed instead of escaping it twice."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


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


def local_time(at: datetime, tz: str) -> str:
    """A moment as the council reads it, in its zone: for plain text, which Slack shows as it is."""
    return at.astimezone(ZoneInfo(tz)).strftime("%a %d %b %Y %H:%M")


def slack_time(at: datetime, tz: str) -> str:
    """A moment in mrkdwn that each reader's Slack shows in their own time zone ("Tomorrow 17:00",
    "Dec 15, 2026 17:00"); clients that cannot format it show the council's local time."""
    return f"<!date^{int(at.timestamp())}^{{date_short_pretty}} {{time}}|{local_time(at, tz)}>"


def day(d: date) -> str:
    return d.strftime("%a %d %b %Y")
