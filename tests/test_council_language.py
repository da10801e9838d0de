"""`council.language` in the council file: checked, named by file and line when wrong, stored."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine

from cxbot.council_file import CouncilFileError, parse_council
from cxbot.store.db import make_session_factory
from cxbot.store.models import Council
from tests.harness import COUNCIL_FILE
from tests.test_council_file import cli, snapshot

GOOD = COUNCIL_FILE.read_text()


def with_language(value: str) -> str:
    return GOOD.replace('timezone = "Europe/Oslo"', f'timezone = "Europe/Oslo"\nlanguage = "{value}"', 1)


def test_the_language_is_optional_and_one_cxbot_has() -> None:
    assert parse_council(GOOD).language == ""
    assert [parse_council(with_language(code)).language for code in ("en", "nb", "de")] == ["en", "nb", "de"]


@pytest.mark.parametrize("value", ["xx", "no", "de-DE", "NB"])
def test_an_unknown_language_is_named_with_its_line(value: str) -> None:
    with pytest.raises(CouncilFileError) as info:
        parse_council(with_language(value), source="council.toml")
    assert str(info.value) == f'council.toml:7: council.language: unknown language "{value}"; cxbot has en, nb, de'


def test_the_cli_stores_the_language_and_refuses_an_unknown_one(database_url: str, engine: Engine,
                                                                 tmp_path: Path) -> None:
    path = tmp_path / "council.toml"
    path.write_text(with_language("nb"))
    loaded = cli("council", "load", str(path), db=database_url)
    assert loaded.returncode == 0, loaded.stderr
    assert "council.language changed" not in loaded.stdout
    with make_session_factory(engine)() as s:
        council = s.get(Council, 1)
        assert council is not None and council.language == "nb"

    before = snapshot(engine)
    bad = tmp_path / "bad.toml"
    bad.write_text(with_language("xx"))
    refused = cli("council", "load", str(bad), db=database_url)
    assert refused.returncode == 2
    assert refused.stderr.strip() == f'cxbot: {bad}:7: council.language: unknown language "xx"; cxbot has en, nb, de'
    assert snapshot(engine) == before

    path.write_text(GOOD)
    unset = cli("council", "load", str(path), db=database_url)
    assert unset.returncode == 0 and "council.language changed" in unset.stdout
    with make_session_factory(engine)() as s:
        council = s.get(Council, 1)
        assert council is not None and council.language == ""
