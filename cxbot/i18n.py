"""Languages: the message catalogs, and dates, times and numbers in the reader's locale.

The English text in the source is the message id; `cxbot/locale/<language>/LC_MESSAGES/cxbot.mo`
translates it (compiled from the `.po` beside it, see README "Languages"). Code that knows who
reads a text takes a `Translator` and calls `tr.gettext("…")`, `tr.ngettext("…", "…", n)` or
`tr.pgettext("context", "…")` (the names `pybabel extract` looks for); placeholders are
`{name}`, filled with `.format()` after translating. Text made before the reader is known (a
constant at import time, an error raised deep in a use case) is a `Msg`, made with `N_("…",
name=value)` or `nN_("…", "…", n)`: as a `str` it is the English text, and the edge that knows
the reader renders it with `tr.text(msg)`. Its parameters are rendered for the reader too: a
`Msg` in their language (a status inside a refusal), a `date` in their locale's short form, a
list or tuple as alternatives ("Legal or Support", "Legal eller Support"). `to_data` and
`from_data` carry a `Msg` through JSON (an outbox payload), to be rendered when it is delivered.

Pure: no Slack and no database here.
"""

from __future__ import annotations

import functools
import gettext as _gettext
from collections.abc import Mapping
from datetime import date, datetime
from importlib import resources
from typing import Any
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date, format_datetime, format_skeleton
from babel.lists import format_list
from babel.numbers import format_decimal

LANGUAGES = ("en", "nb", "de")
DEFAULT = "en"
DOMAIN = "cxbot"
# Keywords for `pybabel extract` beyond Babel's defaults (gettext, ngettext, pgettext, N_, …).
EXTRA_KEYWORDS = ("nN_:1,2",)
_EN_DATE = "EEE dd MMM y"    # "Mon 07 Dec 2026"


class Msg(str):
    """A text to translate once its reader is known. As a `str` it is the English text (what
    the CLI and the logs show); `Translator.text` renders it in another language."""

    msgid: str
    plural: str | None
    n: int | None
    params: Mapping[str, Any]

    def __new__(cls, msgid: str, plural: str | None = None, n: int | None = None, /, **params: Any) -> Msg:
        source = plural if plural is not None and n != 1 else msgid
        values = {"n": n, **params} if n is not None else params
        english = {k: _shown(v, None) for k, v in values.items()}
        self = super().__new__(cls, source.format(**english) if values else source)
        self.msgid, self.plural, self.n, self.params = msgid, plural, n, values
        return self

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (self.msgid, self.plural, self.n, dict(self.params)))


def _rebuild(msgid: str, plural: str | None, n: int | None, params: dict[str, Any]) -> Msg:
    params.pop("n", None)
    return Msg(msgid, plural, n, **params)


def _shown(value: Any, tr: Translator | None) -> Any:
    """A parameter as the reader reads it (`tr`; None: English, as the `str` of a Msg)."""
    if isinstance(value, Msg):
        return value if tr is None else tr.text(value)
    if isinstance(value, date) and not isinstance(value, datetime):
        return format_date(value, _EN_DATE, locale="en") if tr is None else tr.date(value)
    if isinstance(value, list | tuple):
        return format_list([str(_shown(v, tr)) for v in value], style="or",
                           locale="en" if tr is None else tr.locale)
    return value


def to_data(text: str) -> Any:
    """A text as JSON can hold it: a `Msg` with its parameters (nested, dates, lists), else the string."""
    if not isinstance(text, Msg):
        return text
    return {"msgid": text.msgid, "plural": text.plural, "n": text.n,
            "params": {k: _param_data(v) for k, v in text.params.items() if k != "n" or text.n is None}}


def _param_data(value: Any) -> Any:
    if isinstance(value, Msg):
        return {"msg": to_data(value)}
    if isinstance(value, date) and not isinstance(value, datetime):
        return {"date": value.isoformat()}
    if isinstance(value, list | tuple):
        return {"any": [_param_data(v) for v in value]}
    return value if value is None or isinstance(value, str | int | float) else str(value)


def from_data(data: Any) -> str:
    """The text `to_data` stored: a `Msg` again, or the string."""
    if not isinstance(data, dict):
        return str(data)
    return Msg(data["msgid"], data.get("plural"), data.get("n"),
               **{k: _param_value(v) for k, v in (data.get("params") or {}).items()})


def _param_value(value: Any) -> Any:
    if isinstance(value, dict) and len(value) == 1:
        if "msg" in value:
            return from_data(value["msg"])
        if "date" in value:
            return date.fromisoformat(value["date"])
        if "any" in value:
            return [_param_value(v) for v in value["any"]]
    return value


def N_(msgid: str, /, **params: Any) -> Msg:
    """Mark a text for translation where the reader is not known yet."""
    return Msg(msgid, None, None, **params)


def nN_(singular: str, plural: str, n: int, /, **params: Any) -> Msg:
    """Mark a text with a count for translation where the reader is not known yet; `{n}` is the count."""
    return Msg(singular, plural, n, **params)


class Translator:
    """One language's catalog, with Babel's formats for its locale."""

    def __init__(self, language: str, catalog: _gettext.NullTranslations) -> None:
        self.language = language
        self.locale = Locale.parse(language)
        self._catalog = catalog

    def gettext(self, message: str) -> str:
        return self._catalog.gettext(message)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return self._catalog.ngettext(singular, plural, n)

    def pgettext(self, context: str, message: str) -> str:
        return self._catalog.pgettext(context, message)

    def text(self, message: str) -> str:
        """A `Msg` in this language; any other string as it is."""
        if not isinstance(message, Msg):
            return message
        if message.plural is not None and message.n is not None:
            translated = self.ngettext(message.msgid, message.plural, message.n)
        else:
            translated = self.gettext(message.msgid)
        if not message.params:
            return translated
        return translated.format(**{k: _shown(v, self) for k, v in message.params.items()})

    # ------------------------------------------------------------------ formats

    def date(self, d: date) -> str:
        """A day with its weekday, short: "Mon 07 Dec 2026", "man. 7. des. 2026", "Mo., 7. Dez. 2026"."""
        if self.language == "en":
            return format_date(d, _EN_DATE, locale=self.locale)
        return format_skeleton("yMMMEd", d, locale=self.locale)

    def weekday(self, d: date) -> str:
        """The weekday's full name: "Monday", "mandag", "Montag"."""
        return format_date(d, "EEEE", locale=self.locale)

    def time(self, at: datetime, tz: str) -> str:
        """The wall-clock time in `tz`, 24-hour: "17:00"."""
        return format_datetime(at, "HH:mm", tzinfo=ZoneInfo(tz), locale=self.locale)

    def moment(self, at: datetime, tz: str) -> str:
        """A day and time in `tz`: "Mon 07 Dec 2026 17:00", "man. 7. des. 2026 17:00"."""
        local = at.astimezone(ZoneInfo(tz))
        return f"{self.date(local.date())} {self.time(at, tz)}"

    def number(self, value: float) -> str:
        """A number with the locale's separators: "12,345.5", "12 345,5", "12.345,5"."""
        return format_decimal(value, locale=self.locale)

    def language_name(self, language: str) -> str:
        """A language's name in that language ("Deutsch"), as language pickers show it."""
        return Locale.parse(language).get_display_name(language) or language


@functools.cache
def translator(language: str) -> Translator:
    """The translator for one of `LANGUAGES` (anything else: English), loaded once."""
    if language not in LANGUAGES or language == DEFAULT:
        return Translator(DEFAULT, _gettext.NullTranslations())
    mo = resources.files("cxbot").joinpath("locale", language, "LC_MESSAGES", f"{DOMAIN}.mo")
    with mo.open("rb") as fp:
        return Translator(language, _gettext.GNUTranslations(fp))


def language_of_locale(locale: str | None) -> str | None:
    """The language cxbot has for a Slack locale (`de-DE` → `de`; `nb`, `no`, `nn` → `nb`), else None."""
    if not locale:
        return None
    prefix = locale.replace("_", "-").split("-", 1)[0].lower()
    if prefix in ("nb", "no", "nn"):
        return "nb"
    return prefix if prefix in LANGUAGES else None
