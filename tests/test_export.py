"""`cxbot export`: a history made through the served app (filing, votes with reasons and
conditions, an objection resolved, comments, a withdrawal, a chair's decision), exported
by the command as a process, read back and compared with the database's rows."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from cxbot.slack.blocks import ids
from cxbot.store.models import AuditEvent, Comment, Person, ReviewRequest, Routing, Vote
from tests.harness import CHANNEL, COUNCIL_FILE, NORDICS_PEOPLE, Stack, day, local, process_env
from tests.test_lifecycle import chair_decides, dms_to, object_, objection_note, press_in

FILES = ("requests", "routings", "votes", "objections", "comments", "decisions", "audit")
FORMULA_TITLE = '=HYPERLINK("https://evil.example.com","Annual fees")'


def cxbot(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "cxbot", *args], env=process_env(CXBOT_DATABASE_URL=database_url),
                          capture_output=True, text=True, timeout=120)


def export(database_url: str, out: Path, *args: str) -> dict[str, list[dict[str, Any]]]:
    """Run the export; each file's rows as dicts (CSV: strings, read as a spreadsheet-less
    reader reads them; JSON Lines: JSON values)."""
    done = cxbot(database_url, "export", "--out", str(out), *args)
    assert done.returncode == 0, done.stderr
    fmt = "jsonl" if "jsonl" in args else "csv"
    assert sorted(p.name for p in out.iterdir()) == sorted(f"{name}.{fmt}" for name in FILES)
    files: dict[str, list[dict[str, Any]]] = {}
    for name in FILES:
        path = out / f"{name}.{fmt}"
        assert f"wrote {path} (" in done.stdout
        if fmt == "csv":
            raw = path.read_bytes()
            assert raw.startswith("\ufeff".encode()) and b"\r\n" in raw
            with open(path, encoding="utf-8-sig", newline="") as f:
                files[name] = list(csv.DictReader(f))
        else:
            files[name] = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    return files


def utc(at: datetime | None) -> str | None:
    return None if at is None else at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def as_csv(value: Any) -> str:
    """A JSON Lines value as the CSV writes it (formulas aside)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return "; ".join(value)
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return str(value)


def story(stack: Stack) -> tuple[int, int, int]:
    """Three requests: one approved after an objection resolved (with a condition and
    comments), one withdrawn, one rejected by the chair with a rationale."""
    approved = stack.file("U0BILLLEAD", title=FORMULA_TITLE)
    prompt = stack.prompt(approved)
    stack.people.choose_overflow("U0LEGAL1", channel=CHANNEL, ts=prompt.ts, action_id=ids.MORE,
                                 option_value=f"{ids.MORE_APPROVE_NOTE}:{approved}")
    stack.slack.wait_for(lambda: stack.slack.open_views("U0LEGAL1"))
    stack.people.submit_view("U0LEGAL1", {"note": "@SUM(1,2) only with a help-centre article"})
    stack.press("U0LEGAL2", approved, ids.ABSTAIN)
    object_(stack, "U0SUP1", approved, "-2 stars, refunds are not covered", mitigation="+ a refund rule")
    parent = stack.parent(approved)
    for user, text in (("U0SUP1", 'Refunds, "partial" ones too,\nand in øre'), ("U0LEGAL1", "=1+1 looks fine")):
        assert stack.people.post_in_thread(user, channel=CHANNEL, thread_ts=parent.ts, text=text).status == 200
    stack.settle()
    press_in(stack, "U0SUP1", objection_note(stack, approved), ids.RESOLVE)

    withdrawn = stack.file("U0SUPLEAD", title="Chat opens at 7")
    dm = dms_to(stack, "U0SUPLEAD", "Chat opens at 7")[-1]
    press_in(stack, "U0SUPLEAD", dm, ids.WITHDRAW)

    stack.load_council(COUNCIL_FILE.read_text() + "\n[escalation]\nladder = [\"chair\"]\n")
    rejected = stack.file("U0BILLLEAD", title="Invoices by post cost extra")
    stack.press("U0LEGAL1", rejected, ids.APPROVE)
    stack.sweep(local(10, 9))
    chair_decides(stack, ids.DECIDE_REJECT, "Not before the pricing review")
    return approved, withdrawn, rejected


def test_every_file_holds_what_the_database_holds_in_csv_and_json_lines(stack: Stack, database_url: str,
                                                                       tmp_path: Path) -> None:
    approved, withdrawn, rejected = story(stack)
    names = {p.user_id: p.name for p in stack.all(Person)}
    jsonl = export(database_url, tmp_path / "jsonl", "--format", "jsonl")
    flat = export(database_url, tmp_path / "csv")     # CSV is the default

    requests = stack.all(ReviewRequest, order_by=ReviewRequest.id)
    assert [(r["request_id"], r["council"], r["department"], r["filer"], r["filer_name"], r["title"],
             r["stages"], r["status"], r["created_at"], r["decided_at"], r["decision_by"], r["version"])
            for r in jsonl["requests"]] == [
        (q.id, "default", department, q.filer, names.get(q.filer), q.title, q.stages, q.status.value,
         utc(q.created_at), utc(q.decided_at), q.decision_by.isoformat(), q.version)
        for q, department in zip(requests, ["billing", "support", "billing"], strict=True)]
    assert [q["status"] for q in jsonl["requests"]] == ["approved", "withdrawn", "rejected"]

    routings = stack.all(Routing, order_by=Routing.id)
    assert sorted((r["request_id"], r["position"], r["reason"], r["answered_at"]) for r in jsonl["routings"]) == \
        sorted((r.request_id, r.position, r.reason, utc(r.answered_at)) for r in routings)

    votes = stack.all(Vote, order_by=Vote.id)
    assert [(v["vote_id"], v["request_id"], v["user"], v["user_name"], v["kind"], v["reason"], v["condition"],
             v["retracted"], v["cast_at"], v["updated_at"]) for v in jsonl["votes"]] == [
        (v.id, v.request_id, v.user_id, names.get(v.user_id), v.kind.value,
         "" if v.kind.value == "approve" else v.note, v.note if v.kind.value == "approve" else "", v.retracted,
         utc(v.cast_at), utc(v.updated_at)) for v in votes]
    condition = next(v for v in jsonl["votes"] if v["user"] == "U0LEGAL1" and v["request_id"] == approved)
    assert condition["condition"] == "@SUM(1,2) only with a help-centre article" and condition["department"] == "legal"

    [objection] = jsonl["objections"]
    vote = next(v for v in votes if v.kind.value == "object")
    assert objection == {
        "vote_id": vote.id, "request_id": approved, "department": "support", "user": "U0SUP1",
        "user_name": names.get("U0SUP1"), "on_behalf_of": None, "blocking": True,
        "reason": "-2 stars, refunds are not covered", "mitigation": "+ a refund rule", "retracted": False,
        "raised_at": utc(vote.cast_at), "updated_at": utc(vote.updated_at), "resolution": "resolved",
        "resolved_by": "U0SUP1", "resolved_at": utc(vote.resolved_at), "resolution_note": vote.resolution_note}

    comments = stack.all(Comment, order_by=Comment.id)
    assert [(c["comment_id"], c["request_id"], c["user"], c["text"], c["files"], c["created_at"])
            for c in jsonl["comments"]] == [(c.id, c.request_id, c.user_id, c.text, c.files, utc(c.created_at))
                                            for c in comments]
    assert [c["text"] for c in jsonl["comments"]] == ['Refunds, "partial" ones too,\nand in øre', "=1+1 looks fine"]

    decisions = {d["request_id"]: d for d in jsonl["decisions"]}
    assert set(decisions) == {approved, withdrawn, rejected}
    assert (decisions[approved]["outcome"], decisions[approved]["decided_by"], decisions[approved]["by_chair"]) == \
        ("approved", "cxbot", False)
    assert (decisions[withdrawn]["outcome"], decisions[withdrawn]["decided_by"]) == ("withdrawn", "U0SUPLEAD")
    chair = decisions[rejected]
    assert (chair["outcome"], chair["previous_status"], chair["decided_by"], chair["by_chair"], chair["rationale"],
            chair["dissent"]) == ("rejected", "escalated", "U0CHAIR", True, "Not before the pricing review",
                                  [{"user": "U0LEGAL1", "department": "legal", "reason": "approved"}])

    events = stack.all(AuditEvent, order_by=AuditEvent.id)
    assert [(e["event_id"], e["request_id"], e["at"], e["actor"], e["kind"], e["data"]) for e in jsonl["audit"]] == \
        [(e.id, e.request_id, utc(e.at), e.actor, e.kind, e.data) for e in events]

    # The CSV holds the same rows with the same keys, formulas kept as text.
    for name in FILES:
        assert len(flat[name]) == len(jsonl[name]), name
        for row, obj in zip(flat[name], jsonl[name], strict=True):
            assert list(row) == list(obj), name
            for key, value in obj.items():
                written = as_csv(value)
                if written.startswith(("=", "+", "-", "@")):
                    written = "'" + written
                assert row[key] == written, (name, key)
    assert flat["requests"][0]["title"] == "'" + FORMULA_TITLE
    assert flat["comments"][1]["text"] == "'=1+1 looks fine"
    assert flat["objections"][0]["mitigation"] == "'+ a refund rule"
    assert flat["votes"][0]["condition"] == "'@SUM(1,2) only with a help-centre article"


def test_since_and_council_choose_requests_and_their_rows(stack: Stack, database_url: str, tmp_path: Path) -> None:
    early = stack.file("U0BILLLEAD", title="Early")
    stack.clock.set(local(3, 10))
    later = stack.file("U0BILLLEAD", title="Later")
    stack.press("U0LEGAL1", early, ids.APPROVE)   # a vote on the early request, cast after the date
    stack.add_nordics()
    for user in NORDICS_PEOPLE:
        stack.people.slash_command(user, "/cx-review", "help")
    stack.settle()

    since = export(database_url, tmp_path / "since", "--since", day(2).isoformat(), "--format", "jsonl")
    assert [r["request_id"] for r in since["requests"]] == [later]
    assert {r["request_id"] for r in since["routings"]} == {later}
    assert since["votes"] == []     # the only vote is on the early request
    # Audit events from the date on, whichever request they concern: the early request's vote too.
    kinds = [(e["request_id"], e["kind"]) for e in since["audit"]]
    assert (later, "filed") in kinds and (early, "voted") in kinds and (early, "filed") not in kinds
    assert all(e["at"] >= f"{day(2).isoformat()}T00:00:00Z" for e in since["audit"])

    default = export(database_url, tmp_path / "default", "--council", "default", "--format", "jsonl")
    assert [r["request_id"] for r in default["requests"]] == [early, later]
    # Request-less events belong to the council their data names: the Nordic load is left out.
    loads = [e["data"]["council"] for e in default["audit"] if e["kind"] == "council_loaded"]
    assert loads and set(loads) == {"default"}
    nordics = export(database_url, tmp_path / "nordics", "--council", "nordics")
    assert nordics["requests"] == [] and nordics["votes"] == []
    assert {e["kind"] for e in nordics["audit"]} == {"council_loaded"}
    everything = export(database_url, tmp_path / "all", "--format", "jsonl")
    assert {e["data"].get("council") for e in everything["audit"] if e["kind"] == "council_loaded"} == \
        {"default", "nordics"}


@pytest.mark.parametrize("args, message", [
    (["--council", "emea"], "there is no council 'emea'; the councils are: default"),
    (["--since", "2026-13-01"], "argument --since: '2026-13-01' is not a date like 2026-11-23"),
    (["--since", "last week"], "argument --since: 'last week' is not a date like 2026-11-23"),
    (["--format", "xlsx"], "argument --format: invalid choice: 'xlsx'"),
])
def test_bad_options_name_the_option_and_write_nothing(database_url: str, engine: Any, tmp_path: Path,
                                                      args: list[str], message: str) -> None:
    from cxbot.clock import FixedClock
    from cxbot.council_file import load_council_file
    from cxbot.services.context import Services
    from cxbot.services.council import load_council
    from cxbot.store.db import make_session_factory

    load_council(Services(make_session_factory(engine)).uow(), load_council_file(COUNCIL_FILE),
                 clock=FixedClock(local(0, 10)))
    out = tmp_path / "out"
    done = cxbot(database_url, "export", "--out", str(out), *args)
    assert done.returncode == 2 and message in done.stderr, done.stderr
    assert not out.exists()


def test_an_out_that_cannot_take_files_is_named_and_nothing_is_written(database_url: str, engine: Any,
                                                                        tmp_path: Path) -> None:
    a_file = tmp_path / "notes.txt"
    a_file.write_text("keep me")
    done = cxbot(database_url, "export", "--out", str(a_file))
    assert done.returncode == 2 and done.stderr.strip() == f"cxbot: {a_file}: not a directory"
    below = a_file / "export"
    done = cxbot(database_url, "export", "--out", str(below))
    assert done.returncode == 2 and f"cxbot: {below}: cannot write there (" in done.stderr
    assert a_file.read_text() == "keep me"
    if os.geteuid() == 0:   # root writes into a read-only directory: take one no one may write into
        locked = Path("/proc/self")
    else:
        locked = tmp_path / "locked"
        locked.mkdir()
        locked.chmod(0o500)
    done = cxbot(database_url, "export", "--out", str(locked))
    assert done.returncode == 2 and f"cxbot: {locked}: cannot write there (" in done.stderr
    assert not any(p.name.endswith((".csv", ".partial")) for p in locked.iterdir())


def test_a_database_not_migrated_is_told_to_upgrade(tmp_path: Path) -> None:
    done = cxbot(f"sqlite:///{tmp_path / 'new.db'}", "export", "--out", str(tmp_path / "out"))
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip() == "cxbot: the database is not at the latest migration: run `cxbot db upgrade` first"
    assert not (tmp_path / "out").exists()
