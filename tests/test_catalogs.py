"""The message catalogs: complete, compiled, and consistent with the source.

`pybabel extract` over the package (with the repository's `babel.cfg`, as README "Languages"
says) must find no text missing from `cxbot/locale/cxbot.pot` or from a language's catalog,
and none untranslated; the `.mo` files shipped in the package must be what compiling the
`.po` files gives; every translation keeps its text's placeholders.
"""

from __future__ import annotations

import gettext
import io
import re
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from cxbot.i18n import EXTRA_KEYWORDS, LANGUAGES

ROOT = Path(__file__).resolve().parents[1]
LOCALE = ROOT / "cxbot" / "locale"
TRANSLATED = [language for language in LANGUAGES if language != "en"]
PLACEHOLDER = re.compile(r"\{(\w*)\}")
GLOSSARY_TERMS = ("request", "advocate", "objection", "hold", "chair", "council", "department", "lead",
                  "abstain", "approve")


def _po(language: str) -> Catalog:
    with (LOCALE / language / "LC_MESSAGES" / "cxbot.po").open("rb") as fp:
        return read_po(fp, locale=language)


def _key(message) -> tuple[str | None, str]:  # type: ignore[no-untyped-def]
    msgid = message.id[0] if isinstance(message.id, tuple) else message.id
    return message.context, msgid


def _ids(catalog: Catalog) -> set[tuple[str | None, str]]:
    return {_key(m) for m in catalog if m.id}


@pytest.fixture(scope="module")
def extracted(tmp_path_factory: pytest.TempPathFactory) -> Catalog:
    """What `pybabel extract` finds in the checkout now."""
    out = tmp_path_factory.mktemp("extract") / "cxbot.pot"
    keywords = [arg for keyword in EXTRA_KEYWORDS for arg in ("-k", keyword)]
    done = subprocess.run([sys.executable, "-c", "from babel.messages.frontend import main; main()", "extract",
                           "-F", "babel.cfg", *keywords, "--no-location", "--sort-output", "-o", str(out), "."],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    with out.open("rb") as fp:
        return read_po(fp)


def test_extraction_finds_the_converted_surfaces(extracted: Catalog) -> None:
    ids = {msgid for _, msgid in _ids(extracted)}
    assert {"File for review", "Your reason", "Give the change a title."} <= ids
    # The direct messages (cxbot/slack/blocks/direct.py) and the digest's templates.
    assert {"Still approve", "Your change is with the council.", "At a glance", "CX council digest · %(week)s"} <= ids
    assert len(ids) > 350


def test_the_template_holds_exactly_what_the_source_marks(extracted: Catalog) -> None:
    with (LOCALE / "cxbot.pot").open("rb") as fp:
        template = read_po(fp)
    assert sorted(_ids(extracted) - _ids(template), key=str) == [], "run pybabel extract (README: Languages)"
    assert sorted(_ids(template) - _ids(extracted), key=str) == [], "run pybabel extract (README: Languages)"


@pytest.mark.parametrize("language", TRANSLATED)
def test_every_marked_text_is_translated(extracted: Catalog, language: str) -> None:
    catalog = _po(language)
    assert sorted(_ids(extracted) - _ids(catalog), key=str) == [], f"run pybabel update, then translate ({language})"
    assert sorted(_ids(catalog) - _ids(extracted), key=str) == [], f"texts no longer in the source ({language})"
    untranslated = [m.id for m in catalog if m.id and (not m.string or (isinstance(m.string, tuple)
                                                                          and not all(m.string)))]
    assert untranslated == []
    assert [m.id for m in catalog if m.id and m.fuzzy] == []
    assert not catalog.fuzzy


@pytest.mark.parametrize("language", TRANSLATED)
def test_translations_keep_their_placeholders(language: str) -> None:
    wrong = []
    for message in _po(language):
        if not message.id:
            continue
        sources = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        wanted = {p for s in sources for p in PLACEHOLDER.findall(s)}
        for string in strings:
            if {p for p in PLACEHOLDER.findall(string)} != wanted:
                wrong.append((message.id, string))
    assert wrong == []


@pytest.mark.parametrize("language", TRANSLATED)
def test_the_shipped_mo_is_the_compiled_po(language: str) -> None:
    catalog = _po(language)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    shipped = LOCALE / language / "LC_MESSAGES" / "cxbot.mo"
    with shipped.open("rb") as fp:
        committed = gettext.GNUTranslations(fp)
    fresh = gettext.GNUTranslations(compiled)
    assert committed._catalog == fresh._catalog, (  # type: ignore[attr-defined]
        f"recompile: pybabel compile -d cxbot/locale -D cxbot ({language})")
    assert committed.plural(1) == 0 and committed.plural(3) == 1


@pytest.mark.parametrize("language", TRANSLATED)
def test_each_language_has_a_glossary_of_the_councils_terms(language: str) -> None:
    glossary = (LOCALE / language / "GLOSSARY.md").read_text(encoding="utf-8")
    rows = {line.split("|")[1].strip().split(" ")[0] for line in glossary.splitlines() if line.startswith("| ")}
    assert set(GLOSSARY_TERMS) <= rows
