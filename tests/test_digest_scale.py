"""A digest with more waiting requests than its lists show: the text and HTML carry the top of
each list and "and N more", the full list goes beside the report as CSV, the Slack message
stays inside Block Kit's limits, and counts stay exact. Also: `cxbot/reports` computes from
what the digest use case hands it and never reaches back up into `cxbot/services`."""

from __future__ import annotations

import ast
import csv
import io
import json
import re
from pathlib import Path

import pytest
from sqlalchemy import Engine

from cxbot.domain.model import Draft, Impact, Magnitude
from cxbot.reports.model import Digest
from cxbot.reports.render import LIST_CAP, render_csv, render_html, render_slack, render_text
from cxbot.services import requests
from cxbot.services.context import Services
from tests.harness import COUNCIL_FILE, day, iso_week, local
from tests.test_council_file import cli
from tests.test_digest import Council

OVERDUE, ON_TIME = 20, LIST_CAP - 5          # 65 waiting: 20 overdue at the end of the week, 45 not
WAITING = OVERDUE + ON_TIME


def file_many(cx: Services, clock, n: int, at, first: int = 0) -> list[int]:  # type: ignore[no-untyped-def]
    """`n` minor requests filed by Billing at `at` (due three working days later)."""
    clock.set(at)
    ids = []
    for i in range(first, first + n):
        draft = Draft(title=f"Change {i}: =SUM(A1) <!here>", summary="s", department="billing", stages=("Pay",),
                      impact=Impact.NEUTRAL, impact_note="", magnitude=Magnitude.MINOR, decision_by=day(38))
        ids.append(requests.file_request(cx.uow(), actor="U0BILLLEAD", draft=draft, clock=clock))
    return ids


def csv_rows(content: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(content.decode("utf-8-sig"))))


@pytest.fixture
def crowded(engine: Engine) -> tuple[Digest, list[int], list[int]]:
    c = Council(engine)
    overdue = file_many(c.cx, c.clock, OVERDUE, local(0, 10))         # due Thursday: overdue by Sunday night
    on_time = file_many(c.cx, c.clock, ON_TIME, local(4, 10), OVERDUE)  # due next week
    return c.when(local(7, 9)).digest(iso_week()), overdue, on_time


def test_the_digest_counts_every_waiting_request_and_orders_overdue_first(
        crowded: tuple[Digest, list[int], list[int]]) -> None:
    d, overdue, on_time = crowded
    assert (d.headline.open, d.headline.overdue, d.headline.filed) == (WAITING, OVERDUE, WAITING)
    assert [w.request_id for w in d.waiting] == overdue + on_time


def test_text_and_html_list_the_cap_and_say_how_many_more_are_in_the_csv(
        crowded: tuple[Digest, list[int], list[int]]) -> None:
    d, overdue, on_time = crowded
    name = f"cx-council-{iso_week()}-waiting.csv"
    text = render_text(d).split(f"Waiting for a decision ({WAITING}, {OVERDUE} overdue)")[1]
    text = text.split("Approved with conditions")[0]
    assert [int(n) for n in re.findall(r"^  #(\d+)", text, re.M)] == (overdue + on_time)[:LIST_CAP]
    assert f"… and {WAITING - LIST_CAP} more: all {WAITING} are in {name}" in text
    html = render_html(d)
    section = html.split('id="waiting"')[1].split('id="conditions"')[0]
    assert [int(n) for n in re.findall(r'<span class="rid">#(\d+)</span>', section)] == (overdue + on_time)[:LIST_CAP]
    assert f"… and {WAITING - LIST_CAP} more: all {WAITING} are in <code>{name}</code>" in section
    assert f"Waiting ({WAITING})" in html                                  # the table of contents' count


def test_the_csv_has_every_waiting_request_in_order(crowded: tuple[Digest, list[int], list[int]]) -> None:
    d, overdue, on_time = crowded
    files = render_csv(d)
    rows = csv_rows(files[f"cx-council-{iso_week()}-waiting.csv"])
    assert [int(r["request"]) for r in rows] == overdue + on_time
    assert [r["overdue"] for r in rows] == ["yes"] * OVERDUE + ["no"] * ON_TIME
    assert {r["waiting for"] for r in rows} == {"Legal; Support"} and rows[0]["filed by"] == "Billing"
    assert rows[0]["title"] == "Change 0: =SUM(A1) <!here>" and rows[0]["status"] == "Open"
    assert list(files) == [f"cx-council-{iso_week()}-waiting.csv"]           # nothing else was cut


def test_the_slack_rendering_stays_within_block_kit(crowded: tuple[Digest, list[int], list[int]]) -> None:
    d, _, _ = crowded
    text, blocks = render_slack(d, report_note="The full report is attached.")
    assert len(blocks) <= 50 and "\n" not in text
    assert all(len(b["text"]["text"]) <= 3000 for b in blocks if b["type"] == "section" and "text" in b)
    assert "<!here>" not in json.dumps(blocks)
    assert f"*Waiting for a decision* · {WAITING}, {OVERDUE} overdue" in json.dumps(blocks, ensure_ascii=False)


def test_the_chair_gets_the_report_and_the_full_waiting_list_as_csv(stack) -> None:  # type: ignore[no-untyped-def]
    stack.load_council(COUNCIL_FILE.read_text() + "\n[digest]\nday = \"mon\"\ntime = \"09:30\"\n"
                       "post_to_channel = true\n")
    cx = stack.runtime.services
    ids = file_many(cx, stack.clock, OVERDUE, local(0, 10)) + file_many(cx, stack.clock, ON_TIME, local(4, 10), OVERDUE)
    stack.settle(timeout=60)
    stack.clock.set(local(7, 9, 31))
    assert stack.runtime.send_due_digest() == iso_week()
    stack.settle(timeout=60)
    dm = [m for m in stack.slack.dms("U0CHAIR") if iso_week() in m.text]
    assert len(dm) == 1 and len(dm[0].blocks) <= 50                 # the emulator refuses what Slack would
    assert "CSV" in json.dumps(dm[0].blocks)
    files = {f.name: f for f in stack.slack.files}
    assert sorted(files) == [f"cx-council-{iso_week()}-waiting.csv", f"cx-council-{iso_week()}.html"]
    assert {f.thread_ts for f in files.values()} == {dm[0].ts}
    assert [int(r["request"]) for r in csv_rows(files[f"cx-council-{iso_week()}-waiting.csv"].content)] == ids
    html = files[f"cx-council-{iso_week()}.html"].content.decode()
    assert html.split('id="waiting"')[1].count('<span class="rid">#') == LIST_CAP
    channel = [m for m in stack.slack.messages("C0COUNCIL") if iso_week() in m.text]
    assert len(channel) == 1 and len(channel[0].blocks) <= 50


def test_reports_import_nothing_from_services() -> None:
    """`cxbot/reports` computes from what `cxbot.services.digests` hands it (the council's zone and
    stages); importing a service from there would point a dependency back up."""
    package = Path(__file__).parent.parent / "cxbot" / "reports"
    found = []
    for path in sorted(package.rglob("*.py")):
        source = path.read_text()
        found += [f"{path.name}: {line}" for line in source.splitlines()
                  if re.match(r"^(from|import) (cxbot\.services|\.\.services)", line)]
        for node in ast.walk(ast.parse(source, str(path))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom):
                module = node.module or ""
                if node.level:                          # relative: resolve against cxbot.reports
                    base = ["cxbot", "reports"][: max(0, 3 - node.level)]
                    module = ".".join(base + ([module] if module else []))
                names = [module] + [f"{module}.{a.name}" for a in node.names]
            found += [f"{path.name}: {n}" for n in names if n.split(".")[:2] == ["cxbot", "services"]]
    assert found == []


def test_digest_preview_writes_every_csv_it_names(engine: Engine, database_url: str, tmp_path: Path) -> None:
    """`cxbot digest preview` names the CSV of each list it cuts; it writes them beside its
    output (or into `--out DIR`), each with the whole list in the digest's order."""
    c = Council(engine)
    ids = file_many(c.cx, c.clock, LIST_CAP + 7, local(-7, 10))       # last week's, all waiting now
    week = iso_week(-1)
    out = tmp_path / "digests" / "digest.txt"
    out.parent.mkdir()
    result = cli("digest", "preview", "--week", week, "-o", str(out), db=database_url)
    assert result.returncode == 0, result.stderr
    named = set(re.findall(r"cx-council-[\w-]+\.csv", out.read_text()))
    assert named == {f"cx-council-{week}-waiting.csv"}
    assert sorted(p.name for p in out.parent.iterdir()) == sorted(named | {"digest.txt"})
    assert result.stdout.splitlines() == [f"wrote {out}", f"wrote {out.parent / f'cx-council-{week}-waiting.csv'}"]
    rows = csv_rows((out.parent / f"cx-council-{week}-waiting.csv").read_bytes())
    assert [int(r["request"]) for r in rows] == ids

    # Printed, the digest stays alone on stdout; the CSVs go to --out (made if missing), named on stderr.
    elsewhere = tmp_path / "csv" / "w"
    result = cli("digest", "preview", "--week", week, "--format", "html", "--out", str(elsewhere), db=database_url)
    assert result.returncode == 0, result.stderr
    assert result.stdout.lstrip().lower().startswith("<!doctype html>")
    assert f"<code>cx-council-{week}-waiting.csv</code>" in result.stdout
    assert result.stderr.strip() == f"wrote {elsewhere / f'cx-council-{week}-waiting.csv'}"
    assert [int(r["request"]) for r in csv_rows((elsewhere / f"cx-council-{week}-waiting.csv").read_bytes())] == ids

    # Without -o or --out, beside the printed digest: the directory it runs in.
    here = tmp_path / "here"
    here.mkdir()
    result = cli("digest", "preview", "--week", week, db=database_url, cwd=here)
    assert result.returncode == 0, result.stderr
    assert [p.name for p in here.iterdir()] == [f"cx-council-{week}-waiting.csv"]

    # --out naming a file is refused, and nothing is written.
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    result = cli("digest", "preview", "--week", week, "-o", str(tmp_path / "d.txt"), "--out", str(blocker),
                 db=database_url)
    assert (result.returncode, result.stderr.strip()) == (2, f"cxbot: {blocker}: not a directory")
    assert not (tmp_path / "d.txt").exists() and blocker.read_text() == "x"


def test_a_digest_that_cuts_nothing_writes_no_csv(engine: Engine, database_url: str, tmp_path: Path) -> None:
    c = Council(engine)
    file_many(c.cx, c.clock, 3, local(-7, 10))
    out = tmp_path / "out"
    out.mkdir()
    result = cli("digest", "preview", "--week", iso_week(-1), "-o", str(out / "d.txt"), db=database_url)
    assert (result.returncode, result.stdout.strip()) == (0, f"wrote {out / 'd.txt'}"), result.stderr
    assert [p.name for p in out.iterdir()] == ["d.txt"] and ".csv" not in (out / "d.txt").read_text()
