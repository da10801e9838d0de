"""The weekly digest's three renderings (text, HTML, Slack) and its SVG charts, from hand-built digests.

No database: the digest is plain values, so these tests build them directly — a busy week
that must fit in one Slack message, a quiet week, hostile user text — and check what each
medium would show or act on.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
import struct
import subprocess
import zlib
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from xml.etree import ElementTree

import pytest
from hypothesis import given
from hypothesis import strategies as st
from slack_sdk.models.blocks import Block

from cxbot.reports import charts
from cxbot.reports.model import (
    Decided,
    DepartmentStats,
    Digest,
    Headline,
    Objection,
    StageObjections,
    StageStats,
    Waiting,
    WeekDecisions,
)
from cxbot.reports.render import (
    FORMATS,
    LIST_CAP,
    clip,
    mrkdwn,
    render,
    render_csv,
    render_html,
    render_slack,
    render_text,
)

SVG = "{http://www.w3.org/2000/svg}"
DEPARTMENTS = ["Legal", "Billing", "Support", "Sales", "Marketing", "Product", "Engineering", "Finance",
               "Operations", "Security", "Partnerships", "People & Culture"]
STAGES = ["Discover", "Buy", "Onboard", "Use", "Get help", "Pay"]
OUTCOMES = ["approved", "approved", "approved", "rejected", "withdrawn", "expired"]
NOW = datetime(2026, 11, 30, 7, 0, tzinfo=UTC)


def history(weeks: int) -> tuple[WeekDecisions, ...]:
    return tuple(
        WeekDecisions(f"2026-W{48 - weeks + 1 + i:02d}", approved=3 + i % 4, rejected=i % 3, withdrawn=i % 2,
                      expired=1 if i % 5 == 0 else 0)
        for i in range(weeks)
    )


def objection(i: int, *, title: str = "", reason: str = "") -> Objection:
    return Objection(
        request_id=100 + i % 30,
        request_title=title or f"Change {100 + i % 30}: new invoice layout for annual plans",
        user=f"U0ADV{i % 9:03d}",
        department=DEPARTMENTS[i % len(DEPARTMENTS)],
        reason=reason or f"Customers on annual plans would see two invoices in one month (case {i}).",
        blocking=i % 3 != 0,
        resolution=[None, "resolved", "overruled", None, "withdrawn"][i % 5],
    )


def busy_digest(**changes: object) -> Digest:
    """80 decided, 60 waiting, 40 objections over 6 stages, 12 departments."""
    objections = [objection(i) for i in range(40)]
    digest = Digest(
        week="2026-W48",
        starts=date(2026, 11, 23),
        ends=date(2026, 11, 29),
        timezone="Europe/Oslo",
        generated_at=NOW,
        headline=Headline(filed=74, approved=48, rejected=12, withdrawn=12, expired=8, open=60, overdue=14,
                          escalated=5, median_hours_to_decision=61.5),
        previous=Headline(filed=51, approved=40, rejected=15, withdrawn=3, expired=8, open=52, overdue=17,
                          escalated=5, median_hours_to_decision=80.0),
        decided=tuple(
            Decided(
                request_id=i,
                title=f"Request {i}: simplify the cancellation flow for monthly customers",
                department=DEPARTMENTS[i % 12],
                outcome=OUTCOMES[i % len(OUTCOMES)],
                decided_at=NOW - timedelta(hours=i),
                reviewers=tuple(d for d in DEPARTMENTS[:5] if d != DEPARTMENTS[i % 12]),
                objections=tuple(objections[i % 40 : i % 40 + i % 3]),
                by_chair=i % 11 == 0,
            )
            for i in range(1, 81)
        ),
        waiting=tuple(
            Waiting(
                request_id=200 + i,
                title=f"Request {200 + i}: move the help centre search to the new vendor",
                department=DEPARTMENTS[(i + 3) % 12],
                status=["open", "on_hold", "changes_requested", "escalated"][i % 4],
                due_at=NOW + timedelta(hours=6 * i - 84),
                overdue=i < 14,
                outstanding=tuple(DEPARTMENTS[(i + k) % 12] for k in range(i % 4)),
            )
            for i in range(60)
        ),
        objections_by_stage=tuple(
            StageObjections(stage, tuple(objections[i] for i in range(40) if i % 6 == n))
            for n, stage in enumerate(STAGES)
        ),
        departments=tuple(
            DepartmentStats(key=name.lower(), name=name, routed=10 + i, answered=8 + i, answered_on_time=6 + i,
                            median_hours_to_answer=None if i == 11 else 3.5 + i * 4.25, objections_raised=i % 5,
                            reminders=(i * 7) % 9, filed=i % 7, approved_first_time=(i % 7) // 2, amended=i % 2)
            for i, name in enumerate(DEPARTMENTS)
        ),
        stages=tuple(StageStats(stage, touched=5 + 3 * i, pending=(i * 7) % 11) for i, stage in enumerate(STAGES)),
        history=history(12),
        names={f"U0ADV{i:03d}": f"Advocate {i}" for i in range(8)},
    )
    return Digest(**{**digest.__dict__, **changes})


def quiet_digest() -> Digest:
    return Digest(
        week="2026-W48", starts=date(2026, 11, 23), ends=date(2026, 11, 29), timezone="Europe/Oslo",
        generated_at=NOW, headline=Headline(open=0), previous=Headline(filed=2, approved=1), history=history(12),
    )


def slack_texts(blocks: list[dict]) -> list[str]:
    """Every mrkdwn text in the blocks: what Slack parses for mentions and links (plain_text it does not)."""
    objects = [b["text"] for b in blocks if "text" in b] + [o for b in blocks for o in b.get("fields", [])]
    objects += [e for b in blocks for e in b.get("elements", [])]
    return [o["text"] for o in objects if o["type"] == "mrkdwn"]


def assert_valid_message(fallback: str, blocks: list[dict]) -> None:
    assert 1 <= len(blocks) <= 50
    for block in blocks:
        parsed = Block.parse(block)
        assert parsed is not None, block
        assert parsed.to_dict()["type"] == block["type"]  # raises SlackObjectFormationError past a limit
        if block["type"] == "section" and "text" in block:
            assert len(block["text"]["text"]) <= 3000
        if block["type"] == "header":
            assert len(block["text"]["text"]) <= 150
    assert fallback and "\n" not in fallback


def assert_inert_mrkdwn(text: str) -> None:
    """Nothing in the text can ping, mention or link except the `<@U…>` mentions cxbot put there."""
    without_mentions = re.sub(r"<@[UW][A-Z0-9]+>", "", text)
    without_quotes = re.sub(r"(?m)^> ", "", without_mentions)
    assert "<" not in without_quotes and ">" not in without_quotes, text
    assert re.fullmatch(r"([^&]|&(amp|lt|gt);)*", text, re.S), text


# --- Slack -----------------------------------------------------------------------------------


def test_busy_week_fits_one_slack_message_and_every_block_validates() -> None:
    fallback, blocks = render_slack(busy_digest(), report_note="Full report attached")

    assert_valid_message(fallback, blocks)
    texts = slack_texts(blocks)
    assert any("… and 68 more" in t and "Full report attached" in t for t in texts)   # 80 decided, 12 shown
    assert any("… and 48 more" in t for t in texts)                                   # 60 waiting, 12 shown
    assert blocks[0]["type"] == "header" and "2026-W48" in blocks[0]["text"]["text"]
    assert "74 filed" in fallback and "80 decided" in fallback and "14 overdue" in fallback
    for text in texts:
        assert_inert_mrkdwn(text)


def test_a_huge_week_still_fits_and_long_lists_are_counted() -> None:
    long = "A very long title & reason <b> " * 200
    huge = busy_digest(
        decided=tuple(Decided(i, long, "Billing", "approved", NOW, ("Legal",) * 40, ()) for i in range(1000)),
        waiting=tuple(Waiting(i, long, "Legal", "open", NOW, True, ("Support",) * 40) for i in range(1000)),
        objections_by_stage=tuple(StageObjections(f"Stage {n} {long}", tuple(objection(i, reason=long)
                                                                          for i in range(30))) for n in range(100)),
        departments=tuple(DepartmentStats(f"d{i}", f"Department {i} {long[:60]}", 5, 4, 3, 2.0, 1, 1, 1, 1, 0)
                          for i in range(300)),
        stages=tuple(StageStats(f"Stage {i}", i, i) for i in range(100)),
        week="2026-W48 " + long,
    )
    fallback, blocks = render_slack(huge, report_note=long)

    assert_valid_message(fallback, blocks)
    texts = slack_texts(blocks)
    assert sum("more" in t for t in texts) >= 5
    for text in texts:
        assert_inert_mrkdwn(text)


HOSTILE = "<!channel> Tom & Jerry <https://evil.example|your bank> <@U0VICTIM> *bold*"


def hostile_digest() -> Digest:
    d = busy_digest()
    bad_objection = Objection(7, HOSTILE, "U0ADV001", "R&D <!here>", HOSTILE, True, None)
    return busy_digest(
        decided=(Decided(7, HOSTILE, "R&D <!here>", "approved", NOW, ("Legal & <!everyone>",),
                                (bad_objection,)),) + d.decided[:3],
        waiting=(Waiting(8, HOSTILE, "R&D <!here>", "open", NOW, True, ("<!channel>",)),),
        objections_by_stage=(StageObjections("Pay <!channel>", (bad_objection,)),),
        departments=(DepartmentStats("rd", "R&D <!here>", 1, 1, 1, 2.0, 1, 0, 1, 1, 0),),
        stages=(StageStats("Pay <!channel>", 1, 1),),
        names={"U0ADV001": HOSTILE},
    )


def test_slack_escapes_user_text_so_it_pings_and_links_nothing() -> None:
    fallback, blocks = render_slack(hostile_digest(), report_note="Report <!channel> & more")
    raw = json.dumps(blocks, ensure_ascii=False)

    for forbidden in ("<!channel>", "<!here>", "<!everyone>", "<https://evil.example|your bank>", "<@U0VICTIM>"):
        assert forbidden not in raw and forbidden not in fallback
    assert "&lt;!channel&gt; Tom &amp; Jerry &lt;https://evil.example|your bank&gt;" in raw
    assert "R&amp;D &lt;!here&gt;" in raw
    assert "<@U0ADV001>" in raw    # the objector, as a real mention
    for text in slack_texts(blocks):
        assert_inert_mrkdwn(text)
    assert_valid_message(fallback, blocks)


def test_a_user_field_that_is_not_a_slack_id_is_not_trusted_as_a_mention() -> None:
    d = busy_digest()
    odd = Objection(1, "Title", "<!channel>", "Legal", "why", True, None)
    _, blocks = render_slack(busy_digest(objections_by_stage=(StageObjections("Pay", (odd,)),), decided=d.decided[:1]))
    assert "<!channel>" not in json.dumps(blocks) and "&lt;!channel&gt;" in json.dumps(blocks)


@given(st.text(alphabet=st.sampled_from("<>&!@|*_:;# aéZ\n"), max_size=400),
       st.text(alphabet=st.sampled_from("<>&!@|;ab \n"), max_size=40))
def test_slack_output_is_inert_for_any_user_text(text: str, name: str) -> None:
    o = Objection(1, text, "U0ADV001", name, text, False, "resolved")
    digest = busy_digest(
        decided=(Decided(1, text, name, "rejected", NOW, (name,), (o,), True),),
        waiting=(Waiting(2, text, name, "on_hold", NOW, False, (name,)),),
        objections_by_stage=(StageObjections(name or "x", (o,)),),
        departments=(DepartmentStats("k", name, 1, 1, 1, None, 0, 0, 0, 0, 0),),
        stages=(StageStats(name or "x", 1, 0),),
    )
    fallback, blocks = render_slack(digest, report_note=text)
    assert_valid_message(fallback, blocks)
    for t in slack_texts(blocks):
        assert_inert_mrkdwn(t)


@given(st.text(alphabet=st.sampled_from("<>&ab;"), max_size=60), st.integers(2, 60))
def test_clip_never_cuts_an_escape_in_two(text: str, limit: int) -> None:
    escaped = mrkdwn(text)
    clipped = clip(escaped, limit)
    if len(escaped) <= limit:
        assert clipped == escaped
    else:
        assert len(clipped) <= limit and clipped.endswith("…") and escaped.startswith(clipped[:-1])
    assert_inert_mrkdwn(clipped)


def test_quiet_week_in_slack_is_a_short_message() -> None:
    fallback, blocks = render_slack(quiet_digest(), report_note="Full report attached")

    assert_valid_message(fallback, blocks)
    assert len(blocks) <= 3
    assert fallback.startswith("No council activity in 2026-W48")
    assert any("No council activity in 2026-W48" in t for t in slack_texts(blocks))


# --- text ----------------------------------------------------------------------------------


def test_text_shows_the_headline_numbers_against_last_week() -> None:
    text = render_text(busy_digest())

    assert text.startswith("CX COUNCIL DIGEST — 2026-W48")
    assert re.search(r"Filed\s+74\s+51\s+▲ 23", text)
    assert re.search(r"Decided\s+80\s+66\s+▲ 14", text)
    assert re.search(r"Overdue\s+14\s+17\s+▼ 3", text)
    assert re.search(r"Median time to decision\s+2\.6 days\s+3\.3 days\s+▼ 18\.5 h", text)
    assert "Decided this week (80)" in text and "Waiting for a decision (60, 14 overdue)" in text
    assert "Advocate 1" in text                       # names, not ids, where known
    assert "People & Culture" in text                 # no HTML escaping in plain text


def test_text_strips_terminal_control_characters_from_user_text() -> None:
    d = busy_digest()
    evil = Decided(1, "Title\x1b[2J\x1b]0;pwned\x07 end", "Legal", "approved", NOW, (), ())
    text = render_text(busy_digest(decided=(evil,) + d.decided[:1]))
    assert "\x1b" not in text and "\x07" not in text


def test_quiet_week_in_text() -> None:
    text = render_text(quiet_digest())
    assert "No council activity in 2026-W48" in text
    assert "Decided this week" not in text
    assert len(text.splitlines()) < 10


# --- HTML ----------------------------------------------------------------------------------


def test_html_is_a_standalone_accessible_report() -> None:
    html = render_html(busy_digest())

    assert html.startswith("<!doctype html>") and '<html lang="en">' in html
    assert "@media print" in html and "<h1>" in html and '<th scope="col">' in html
    assert "<script" not in html and "<link" not in html and "src=" not in html and "url(" not in html
    assert re.findall(r"https?://[^\"' ]+", html) == ["http://www.w3.org/2000/svg"] * html.count("<svg")
    for heading in ("At a glance", "Decided this week", "Waiting for a decision", "Objections by lifecycle stage",
                    "Accountability by department", "Lifecycle stages"):
        assert heading in html
    assert html.count("<svg") == 2 and 'role="img"' in html
    assert "People &amp; Culture" in html and "Advocate 1" in html and "U0ADV008" in html
    assert "2.6 days" in html and "up 23 from 51" in html


def test_html_autoescapes_user_text() -> None:
    d = busy_digest()
    script = "<script>alert('x')</script>"
    o = Objection(1, script, "U0ADV001", script, script, True, None)
    html = render_html(busy_digest(
        decided=(Decided(1, script, script, "approved", NOW, (script,), (o,)),) + d.decided[:2],
        waiting=(Waiting(2, script, script, "open", NOW, True, (script,)),),
        objections_by_stage=(StageObjections(script, (o,)),),
        departments=d.departments + (DepartmentStats("x", script, 1, 1, 1, 5.0, 0, 0, 0, 0, 0),),
        stages=(StageStats(script, 1, 1),),
        names={"U0ADV001": script},
    ))
    assert "<script" not in html
    assert "&lt;script&gt;" in html


def test_quiet_week_in_html_says_so() -> None:
    html = render_html(quiet_digest())
    assert "No council activity" in html and "2026-W48" in html
    assert "Decided this week" not in html and "<table" not in html


def test_render_by_format_name() -> None:
    d = busy_digest()
    assert set(FORMATS) == {"text", "html", "slack"}
    assert render(d, "text") == render_text(d)
    assert render(d, "html") == render_html(d)
    assert json.loads(render(d, "slack")) == render_slack(d)[1]
    with pytest.raises(ValueError, match="unknown digest format"):
        render(d, "pdf")


# --- charts --------------------------------------------------------------------------------


@pytest.mark.parametrize("weeks", [0, 1, 12])
def test_decisions_chart_is_well_formed_svg(weeks: int) -> None:
    svg = ElementTree.fromstring(charts.decisions_per_week(history(weeks)))

    assert svg.tag == f"{SVG}svg" and svg.get("role") == "img"
    assert svg.find(f"{SVG}title").text == "Decisions per week, by outcome"
    assert svg.find(f"{SVG}desc").text
    bars = [r for g in svg.iter(f"{SVG}g") for r in g.iter(f"{SVG}rect")]
    assert len(bars) == sum(sum(1 for n in (w.approved, w.rejected, w.withdrawn, w.expired) if n)
                            for w in history(weeks))
    if weeks:
        labels = [t.text for t in svg.iter(f"{SVG}text")]
        assert "W48" in labels and "Approved" in labels


def test_decisions_chart_with_weeks_but_no_decisions() -> None:
    empty = tuple(WeekDecisions(f"2026-W{i:02d}", 0, 0, 0, 0) for i in range(37, 49))
    svg = ElementTree.fromstring(charts.decisions_per_week(empty))
    assert "No decisions" in "".join(svg.itertext())


@pytest.mark.parametrize("count", [0, 1, 12])
def test_answer_time_chart_is_well_formed_svg(count: int) -> None:
    departments = busy_digest().departments[:count]
    svg = ElementTree.fromstring(charts.median_answer_by_department(departments))
    text = "".join(svg.itertext())
    assert svg.find(f"{SVG}title").text == "Median time to answer, by department"
    for dep in departments:
        assert dep.name in text
    if count == 12:
        assert "no answers" in text and "46.0 h" in text


def test_charts_escape_names_and_survive_departments_that_never_answered() -> None:
    weird = DepartmentStats("x", "R&D <b>\"quoted\"</b>", 1, 0, 0, None, 0, 0, 0, 0, 0)
    svg = ElementTree.fromstring(charts.median_answer_by_department([weird]))
    assert "No department answered" in "".join(svg.itertext())
    both = [weird, DepartmentStats("y", "<script>", 1, 1, 1, 0.2, 0, 0, 0, 0, 0)]
    svg = ElementTree.fromstring(charts.median_answer_by_department(both))
    assert "<script>" in "".join(svg.itertext())    # parsed back: it was escaped in the SVG source
    assert charts.duration(0.2) == "12 min" and charts.duration(30) == "30.0 h" and charts.duration(72) == "3.0 days"


# --- the HTML in a browser -------------------------------------------------------------------


def png_pixels(data: bytes, rows: int) -> tuple[int, int, list[bytes]]:
    """Decode the first `rows` scanlines of an 8-bit RGB/RGBA PNG, with the standard filters undone."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, header = 8, b"", b""
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    width, height, depth, colour = struct.unpack(">IIBB", header[:10])
    assert depth == 8 and colour in (2, 6), (depth, colour)
    bpp = 4 if colour == 6 else 3
    raw, stride = zlib.decompress(idat), width * bpp
    out, prev = [], bytearray(stride)
    for y in range(min(rows, height)):
        kind, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)])
        for i in range(stride):
            left = line[i - bpp] if i >= bpp else 0
            up, corner = prev[i], prev[i - bpp] if i >= bpp else 0
            if kind == 1:
                line[i] = (line[i] + left) & 255
            elif kind == 2:
                line[i] = (line[i] + up) & 255
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 255
            elif kind == 4:
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                line[i] = (line[i] + (left if pa <= pb and pa <= pc else up if pb <= pc else corner)) & 255
        out.append(bytes(line))
        prev = line
    return width, bpp, out


@pytest.mark.skipif(shutil.which("chromium") is None and not os.environ.get("CI"),
                    reason="needs a chromium binary on PATH (CI installs it and never skips this)")
def test_html_report_renders_in_headless_chromium(tmp_path: Path) -> None:
    page, png = tmp_path / "digest.html", tmp_path / "digest.png"
    page.write_text(render_html(busy_digest()), encoding="utf-8")
    subprocess.run(
        ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={tmp_path / 'profile'}",
         f"--screenshot={png}", "--window-size=1200,2000", page.as_uri()],
        check=True, capture_output=True, timeout=120,
    )
    width, bpp, rows = png_pixels(png.read_bytes(), rows=400)

    assert width == 1200
    colours = {row[i : i + 3] for row in rows[::4] for i in range(0, len(row), bpp * 3)}
    assert len(colours) > 20, "the page looks blank"
    r, g, b = rows[10][:3]
    assert r + g + b < 250, "the masthead should be dark: was the CSS applied?"


# --- long lists: the top in text and HTML, everything in CSV -----------------------------------


def csv_rows(content: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(content.decode("utf-8-sig"))))


def test_text_and_html_show_the_top_of_each_long_list_and_point_to_its_csv() -> None:
    d = busy_digest()                               # 80 decided, 60 waiting: both over the cap
    assert LIST_CAP == 50
    text = render_text(d)
    waiting = text.split("Waiting for a decision (60, 14 overdue)")[1].split("Approved with conditions")[0]
    assert [int(n) for n in re.findall(r"^  #(\d+)", waiting, re.M)] == [w.request_id for w in d.waiting[:50]]
    assert "… and 10 more: all 60 are in cx-council-2026-W48-waiting.csv" in waiting
    decided = text.split("Decided this week (80)")[1].split("Waiting for a decision")[0]
    assert len(re.findall(r"^  #\d+", decided, re.M)) == 50
    assert "… and 30 more: all 80 are in cx-council-2026-W48-decided.csv" in decided
    html = render_html(d)
    section = html.split('id="waiting"')[1].split('id="conditions"')[0]
    assert [int(n) for n in re.findall(r'<span class="rid">#(\d+)</span>', section)] == [
        w.request_id for w in d.waiting[:50]]
    assert "Waiting for a decision <span class=\"count\">(60, 14 overdue)" in html   # counts stay exact
    assert "… and 10 more: all 60 are in <code>cx-council-2026-W48-waiting.csv</code>" in section
    assert html.count('<span class="rid">#') == 50 + 50 + sum(len(s.objections) for s in d.objections_by_stage)


def test_csv_holds_every_item_of_each_cut_list_in_the_digest_order() -> None:
    d = busy_digest()
    files = render_csv(d)
    assert sorted(files) == ["cx-council-2026-W48-decided.csv", "cx-council-2026-W48-waiting.csv"]
    waiting = csv_rows(files["cx-council-2026-W48-waiting.csv"])
    assert [int(r["request"]) for r in waiting] == [w.request_id for w in d.waiting]
    assert [r["overdue"] for r in waiting[:15]] == ["yes"] * 14 + ["no"]
    assert waiting[1]["waiting for"] == "; ".join(d.waiting[1].outstanding)
    assert waiting[0]["due"] == "2026-11-26T20:00+01:00"                 # in the council's zone
    decided = csv_rows(files["cx-council-2026-W48-decided.csv"])
    assert [int(r["request"]) for r in decided] == list(range(1, 81))


def test_csv_cells_a_spreadsheet_would_run_as_formulas_stay_text() -> None:
    w = busy_digest().waiting
    d = busy_digest(waiting=(Waiting(1, '=HYPERLINK("http://evil","x")', "Legal", "open", NOW, False, ()),)
                    + w)
    row = csv_rows(render_csv(d)["cx-council-2026-W48-waiting.csv"])[0]
    assert row["title"] == '\'=HYPERLINK("http://evil","x")'


def test_a_week_within_the_caps_lists_everything_and_needs_no_csv() -> None:
    d = busy_digest(decided=busy_digest().decided[:LIST_CAP], waiting=busy_digest().waiting[:LIST_CAP])
    assert render_csv(d) == {}
    assert "more: all" not in render_text(d) and "more: all" not in render_html(d)
