"""`cxbot demo`: the council's story, played against the Slack emulator on a throw-away SQLite.

Nothing here is faked inside cxbot: the app is served over HTTP, people's clicks arrive as
signed Slack requests, and what is printed is what the emulator received, in order. The
demo checks the outcome at each step and exits 0 only when the story ran as expected.
"""

from __future__ import annotations

import secrets
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any, TextIO

from sqlalchemy import select

from cxbot.app import Runtime
from cxbot.config import Settings
from cxbot.council_file import load_council_file
from cxbot.domain.model import Status
from cxbot.i18n import translator
from cxbot.reports.render import render_text
from cxbot.sandbox.blockkit import with_ids
from cxbot.sandbox.client import SlackPeople
from cxbot.sandbox.emulator import SlackEmulator
from cxbot.sandbox.serving import serve_in_thread
from cxbot.services import digests, outbox
from cxbot.services.council import load_council
from cxbot.services.readmodel import request_view
from cxbot.slack.blocks import direct, ids
from cxbot.slack.blocks import request as render_request
from cxbot.store.db import make_engine
from cxbot.store.migrate import upgrade
from cxbot.store.models import ReviewRequest, SlackMessage

COUNCIL = Path(__file__).with_name("example_council.toml")
PEOPLE = {
    "U0CHAIR": "Cecilie (council chair)", "U0ADMIN": "Ola (admin)",
    "U0KARI": "Kari (Billing lead)", "U0BENTE": "Bente (Billing advocate)",
    "U0LINE": "Line (Legal lead)", "U0LARS": "Lars (Legal advocate)",
    "U0SIV": "Siv (Support lead)", "U0SAM": "Sam (Support advocate)",
}
KARI, LARS, SAM, BENTE = "U0KARI", "U0LARS", "U0SAM", "U0BENTE"
USERGROUPS = {"S0LEGAL": ("legal-advocates", [LARS])}   # as example_council.toml names them


# How long the demo waits for what it shows to be final: the last updates of a message wait
# their turn (one update of a message a second, as in production).
SETTLE_SECONDS = 30.0


class StoryFailed(Exception):
    pass


def settle(runtime: Runtime, timeout: float = SETTLE_SECONDS) -> None:
    """Apply the presses waiting and deliver the outbox until nothing is left pending: the
    message updates held back for Slack's rate included, so what is shown next is final."""
    deadline = time.monotonic() + timeout
    while True:
        runtime.presses.drain()
        runtime.worker.drain()
        with runtime.sessions() as s:
            if not outbox.depth(s):
                return
        if time.monotonic() > deadline:
            raise TimeoutError("the outbox did not drain: some messages never reached their final state")
        runtime.worker.kick()
        time.sleep(0.05)


def stale_messages(runtime: Runtime, slack: SlackEmulator) -> list[str]:
    """The messages cxbot keeps up to date (each request's parent, vote prompt and filer's DM)
    whose content in Slack is not what the record says now, described for a person."""
    stale: list[str] = []
    with runtime.sessions() as s:
        kept = list(s.scalars(select(SlackMessage).order_by(SlackMessage.id)))
        views = {m.request_id: request_view(s, m.request_id, now=runtime.clock.now()) for m in kept}
    for m in kept:
        view = views[m.request_id]
        if m.role == "parent":
            text, blocks = render_request.parent_message(view, translator(view.language))
        elif m.role == "prompt":
            text, blocks = render_request.vote_prompt(view, translator(view.language))
        elif m.role == f"dm:{view.filer}":
            text, blocks = direct.filed(view)
        else:
            continue
        shown = slack.message(m.channel, m.ts)
        if shown is None or shown.text != text or shown.blocks != with_ids([b.to_dict() for b in blocks]):
            stale.append(f"#{m.request_id}'s {m.role} message still shows an earlier state "
                         f"than {view.status.label!r}")
    return stale


class Story:
    def __init__(self, runtime: Runtime, slack: SlackEmulator, people: SlackPeople, out: TextIO,
                 quiet: bool) -> None:
        self.runtime, self.slack, self.people, self.out, self.quiet = runtime, slack, people, out, quiet
        self._shown = 0

    def say(self, text: str) -> None:
        if not self.quiet:
            print(f"\n▶ {text}", file=self.out)

    def show(self) -> None:
        """Apply the vote presses waiting, deliver everything queued (the held-back message
        updates too), then print what people saw since the last step."""
        settle(self.runtime)
        entries = self.slack.transcript()
        if not self.quiet:
            for entry in entries[self._shown:]:
                print(_indent(str(entry)), file=self.out)
        self._shown = len(entries)

    def check(self, ok: bool, what: str) -> None:
        if not ok:
            raise StoryFailed(what)

    def request(self, request_id: int) -> ReviewRequest:
        with self.runtime.sessions() as s:
            row = s.get(ReviewRequest, request_id)
            self.check(row is not None, f"request #{request_id} was not stored")
            return row  # type: ignore[return-value]

    def message_of(self, request_id: int, role: str) -> Any:
        with self.runtime.sessions() as s:
            row = s.scalars(select(SlackMessage).where(SlackMessage.request_id == request_id,
                                                       SlackMessage.role == role)).first()
        self.check(row is not None, f"request #{request_id} has no {role} message in Slack")
        return self.slack.message(row.channel, row.ts)  # type: ignore[union-attr]

    def file(self, user: str, values: dict[str, Any]) -> int:
        self.people.slash_command(user, "/cx-review", "")
        self.slack.wait_for(lambda: self.slack.open_views(user), timeout=10)
        self.show()
        result = self.people.submit_view(user, values)
        self.check(result.status == 200 and not (result.json() or {}).get("errors"), f"filing failed: {result.body!r}")
        with self.runtime.sessions() as s:
            request_id = s.scalar(select(ReviewRequest.id).order_by(ReviewRequest.id.desc()).limit(1))
        self.check(request_id is not None, "no request was filed")
        self.show()
        return request_id  # type: ignore[return-value]

    def press(self, user: str, request_id: int, action_id: str, role: str = "prompt") -> None:
        message = self.message_of(request_id, role)
        result = self.people.press_button(user, channel=message.channel, ts=message.ts, action_id=action_id)
        self.check(result.status == 200, f"{action_id} by {user} answered {result.status}")
        self.runtime.presses.drain()  # a vote button is applied right after its acknowledgement

    def settle_replies(self, user: str, predicate: Callable[[], Any]) -> None:
        self.slack.wait_for(predicate, timeout=10)


def _indent(text: str) -> str:
    return "\n".join("  " + line for line in text.splitlines())


def play(story: Story) -> None:
    today = story.runtime.clock.now().date()
    first = {
        "title": "Invoices go PDF-only by e-mail",
        "summary": "From 1 February we stop posting paper invoices. Every customer gets a PDF by e-mail; "
                   "customers without an e-mail address on file get a letter asking for one.",
        "stages": ["Pay", "Get help"], "impact": "negative",
        "impact_note": "Customers without e-mail, often older ones, lose their invoice.",
        "magnitude": "major", "decision_by": (today + timedelta(days=10)).isoformat(),
        "link": "https://wiki.example.com/billing/pdf-invoices",
    }
    story.say("Kari, Billing's lead, types /cx-review and files a change.")
    rid = story.file(KARI, first)
    story.check(story.request(rid).status is Status.OPEN, "the new request is not open")
    prompt = story.message_of(rid, "prompt")
    story.check({LARS, SAM} <= story.slack.notified(prompt.mentions) and BENTE not in story.slack.notified(
        prompt.mentions), "the vote prompt does not reach Legal (through its user group) and Support")

    story.say("Bente, Billing's own advocate, tries to approve her department's change.")
    story.press(BENTE, rid, ids.APPROVE)
    story.settle_replies(BENTE, lambda: story.slack.ephemerals(BENTE))
    story.show()

    story.say("Lars approves for Legal.")
    story.press(LARS, rid, ids.APPROVE)
    story.show()

    story.say("Sam objects for Support, with a reason.")
    story.press(SAM, rid, ids.OBJECT)
    story.settle_replies(SAM, lambda: story.slack.open_views(SAM))
    story.people.submit_view(SAM, {"note": "Paper-invoice customers will call us when nothing arrives. "
                                           "Keep paper for anyone without a verified e-mail."})
    story.show()
    story.check(story.request(rid).status is Status.CHANGES_REQUESTED, "the objection did not request changes")

    story.say("Sam adds a comment in the thread.")
    parent = story.message_of(rid, "parent")
    story.people.post_in_thread(SAM, channel=parent.channel, thread_ts=parent.ts,
                                text="Happy to help word the letter, Kari.")
    story.show()

    story.say("Kari withdraws the request from her DM.")
    dm = story.message_of(rid, f"dm:{KARI}")
    story.people.press_button(KARI, channel=dm.channel, ts=dm.ts, action_id=ids.WITHDRAW)
    story.show()
    story.check(story.request(rid).status is Status.WITHDRAWN, "the request was not withdrawn")

    story.say("Kari files a revised change.")
    second = dict(first, title="Invoices go PDF-only, paper kept for customers without a verified e-mail",
                  impact="neutral", impact_note="Customers without a verified e-mail keep paper invoices.")
    rid2 = story.file(KARI, second)

    story.say("Lars approves for Legal; Sam approves for Support.")
    story.press(LARS, rid2, ids.APPROVE)
    story.press(SAM, rid2, ids.APPROVE)
    story.show()
    story.check(story.request(rid2).status is Status.APPROVED, "the revised request was not approved")

    story.say("The chair reads the week's digest.")
    story.runtime.directory.refresh(list(PEOPLE))  # names for the report, as the people worker caches them
    digest = digests.digest(story.runtime.services.uow(), week=None, clock=story.runtime.clock)
    story.check(digest.headline.filed == 2 and digest.headline.approved == 1 and digest.headline.withdrawn == 1,
                f"the digest's numbers are off: {digest.headline}")
    if not story.quiet:
        print(_indent(render_text(digest)), file=story.out)
    story.show()
    stale = stale_messages(story.runtime, story.slack)
    story.check(not stale, "what Slack shows is not the final state: " + "; ".join(stale))


def run_demo(*, quiet: bool = False, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    secret = secrets.token_hex(16)
    with tempfile.TemporaryDirectory(prefix="cxbot-demo-") as tmp, SlackEmulator() as slack:
        for user, name in PEOPLE.items():
            slack.add_user(user, name)
        for group, (handle, members) in USERGROUPS.items():
            slack.add_usergroup(group, handle, members)
        slack.add_channel("C0COUNCIL", "cx-council", members=list(PEOPLE))
        slack.invite_bot("C0COUNCIL")  # as the admin does after installing the app
        database_url = f"sqlite:///{Path(tmp) / 'cxbot.db'}"
        engine = make_engine(database_url)
        upgrade(engine)
        settings = Settings.from_env({
            "SLACK_BOT_TOKEN": slack.bot_token, "SLACK_SIGNING_SECRET": secret,
            "CXBOT_DATABASE_URL": database_url, "CXBOT_SLACK_API_URL": slack.url,
        })
        runtime = Runtime(settings, engine=engine, scheduled=False)
        runtime.directory.pace = {}  # a story of a few people, told at once: no rate tier is near
        load_council(runtime.services.uow(), load_council_file(COUNCIL), clock=runtime.clock)
        runtime.start()
        try:
            with serve_in_thread(runtime.wsgi) as url:  # type: ignore[arg-type]
                print(f"cxbot demo: the app at {url}, Slack emulated at {slack.url}, SQLite at {database_url}",
                      file=out)
                story = Story(runtime, slack, SlackPeople(f"{url}/slack/events", secret, slack), out, quiet)
                play(story)
        except (StoryFailed, TimeoutError) as exc:
            print(f"\ncxbot demo: FAILED: {exc}", file=out)
            return 1
        finally:
            runtime.stop()
            engine.dispose()
        if slack.problems:
            print("\ncxbot demo: FAILED: Slack would have complained:\n  " + "\n  ".join(slack.problems), file=out)
            return 1
    print("\ncxbot demo: the story ran as expected.", file=out)
    return 0
