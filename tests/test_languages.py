"""Whose language a text is in (cxbot.domain.languages), and the translator (cxbot.i18n)."""

from __future__ import annotations

import pickle
from datetime import UTC, date, datetime

import pytest

from cxbot.domain.errors import InvalidInput, NotAllowed
from cxbot.domain.languages import channel_language, person_language
from cxbot.i18n import LANGUAGES, N_, Msg, language_of_locale, nN_, translator
from cxbot.slack.text import day, slack_time


@pytest.mark.parametrize(("locale", "language"), [
    ("en-US", "en"), ("en-GB", "en"), ("de-DE", "de"), ("de-AT", "de"), ("de_CH", "de"),
    ("nb-NO", "nb"), ("no-NO", "nb"), ("nn-NO", "nb"), ("NB", "nb"),
    ("fr-FR", None), ("ja-JP", None), ("", None), (None, None),
])
def test_slack_locales_map_to_the_languages_cxbot_has(locale: str | None, language: str | None) -> None:
    assert language_of_locale(locale) == language


def test_channel_content_follows_the_council_then_the_channel_then_english() -> None:
    assert channel_language(council="nb", channel_locale="de-DE") == "nb"
    assert channel_language(council=None, channel_locale="de-DE") == "de"
    assert channel_language(council="", channel_locale="fr-FR") == "en"
    assert channel_language(council=None, channel_locale=None) == "en"
    assert channel_language(council="xx", channel_locale="nb-NO") == "nb"   # an unknown stored value is ignored


def test_person_content_follows_their_choice_then_the_council_then_their_locale_then_english() -> None:
    assert person_language(choice="de", council="nb", slack_locale="en-US") == "de"
    assert person_language(choice=None, council="nb", slack_locale="de-DE") == "nb"
    assert person_language(choice="", council="", slack_locale="de-DE") == "de"
    assert person_language(choice=None, council=None, slack_locale="en-GB") == "en"
    assert person_language(choice=None, council=None, slack_locale="ja-JP") == "en"
    assert person_language(choice=None, council=None, slack_locale=None) == "en"
    # Slack has no Norwegian interface: a Norwegian's locale reads en-US, and the council decides.
    assert person_language(choice=None, council="nb", slack_locale="en-US") == "nb"


def test_a_marked_text_is_english_as_a_string_and_translated_for_its_reader() -> None:
    text = N_("Keep the note to {limit} characters.", limit=3000)
    assert isinstance(text, str) and text == "Keep the note to 3000 characters."
    assert translator("de").text(text) == "Die Notiz darf höchstens 3000 Zeichen lang sein."
    assert translator("nb").text(text) == "Merknaden kan ha høyst 3000 tegn."
    assert translator("de").text("plain text") == "plain text"
    assert pickle.loads(pickle.dumps(text)).msgid == text.msgid


def test_counted_texts_take_the_languages_plural() -> None:
    assert nN_("{n} working day", "{n} working days", 1) == "1 working day"
    assert translator("nb").text(nN_("{n} working day", "{n} working days", 3)) == "3 virkedager"
    assert translator("de").ngettext("{n} working day", "{n} working days", 1).format(n=1) == "1 Arbeitstag"


def test_errors_keep_their_translations_and_read_as_english() -> None:
    error = InvalidInput({"title": N_("Give the change a title."), "link": "plain"})
    assert error.message == "Give the change a title. plain"
    assert isinstance(error.errors["title"], Msg)
    assert translator("nb").text(NotAllowed(N_("You can file only for your own department.")).message) == (
        "Du kan bare sende inn for din egen avdeling.")


def test_dates_times_and_numbers_are_in_the_readers_locale() -> None:
    monday = date(2026, 12, 7)
    at = datetime(2026, 12, 7, 16, 0, tzinfo=UTC)
    assert day(monday) == "Mon 07 Dec 2026"          # English as before
    assert day(monday, translator("nb")) == "man. 7. des. 2026"
    assert day(monday, translator("de")) == "Mo., 7. Dez. 2026"
    assert translator("de").weekday(monday) == "Montag" and translator("nb").weekday(monday) == "mandag"
    assert translator("nb").moment(at, "Europe/Oslo") == "man. 7. des. 2026 17:00"
    assert translator("en").time(at, "America/New_York") == "11:00"
    assert translator("de").number(12345.5) == "12.345,5" and translator("en").number(12345.5) == "12,345.5"
    assert translator("nb").number(12345.5).replace("\u00a0", " ") == "12 345,5"
    assert slack_time(at, "Europe/Oslo", translator("de")).endswith("|Mo., 7. Dez. 2026 17:00>")
    assert slack_time(at, "Europe/Oslo").endswith("|Mon 07 Dec 2026 17:00>")


def test_each_language_loads_once_and_names_itself() -> None:
    assert all(translator(language) is translator(language) for language in LANGUAGES)
    assert translator("xx").language == "en"
    assert [translator("en").language_name(code) for code in LANGUAGES] == ["English", "norsk bokmål", "Deutsch"]
