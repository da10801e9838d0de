"""Enterprise Grid: people have `W…` ids and every payload names the enterprise
(`enterprise_id` in slash commands and event envelopes, `enterprise` in interactivity).
Filing, voting, naming a substitute and commenting work as they do with `U…` ids."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from cxbot.council_file import parse_council
from cxbot.domain.model import Status, VoteKind
from cxbot.sandbox.client import SlackPeople
from cxbot.slack.blocks import ids
from cxbot.store.models import Comment, ReviewRequest, Substitute, Vote
from tests.harness import CHANNEL, COUNCIL_FILE, SIGNING_SECRET, Stack, today

ENTERPRISE = {"id": "E0GRID", "name": "Grid Corp"}
GRID_PEOPLE = {"W0BILLLEAD": "Wes (Billing lead)", "W0LEGAL1": "Wanda (Legal)", "W0LEGAL2": "Will (Legal)",
               "W0SUP1": "Wyn (Support)"}


class GridPeople(SlackPeople):
    """The same requests, as Slack sends them from an Enterprise Grid workspace."""

    def _common(self, kind: str, user_id: str) -> dict[str, Any]:
        payload = super()._common(kind, user_id)
        payload["enterprise"] = dict(ENTERPRISE)
        return payload

    def _post_form(self, form: dict[str, str]) -> Any:
        if "command" in form:
            form = dict(form, enterprise_id=ENTERPRISE["id"], enterprise_name=ENTERPRISE["name"])
        return super()._post_form(form)

    def _envelope(self, event: dict[str, Any]) -> dict[str, Any]:
        envelope = super()._envelope(event)
        envelope["enterprise_id"] = ENTERPRISE["id"]
        for authorization in envelope["authorizations"]:
            authorization["enterprise_id"] = ENTERPRISE["id"]
        return envelope


def grid_council() -> str:
    """The test council with Billing's lead and the advocates of Legal and Support on `W…` ids."""
    text = COUNCIL_FILE.read_text()
    for old, new in (('leads = ["U0BILLLEAD"]', 'leads = ["W0BILLLEAD"]'),
                     ('advocates = ["U0LEGAL1", "U0LEGAL2"]', 'advocates = ["W0LEGAL1", "W0LEGAL2"]'),
                     ('advocates = ["U0SUP1"]', 'advocates = ["W0SUP1"]')):
        assert old in text
        text = text.replace(old, new)
    return text


def test_the_council_file_accepts_w_ids() -> None:
    spec = parse_council(grid_council())
    legal = next(d for d in spec.departments if d.key == "legal")
    assert legal.advocates == ("W0LEGAL1", "W0LEGAL2")


def test_grid_people_file_vote_stand_in_and_comment(stack: Stack) -> None:
    for user, name in GRID_PEOPLE.items():
        stack.slack.add_user(user, name)
    stack.load_council(grid_council())
    stack.people = GridPeople(f"{stack.base_url}/slack/events", SIGNING_SECRET, stack.slack)

    rid = stack.file("W0BILLLEAD")
    assert stack.request(rid).filer == "W0BILLLEAD"
    assert {"<@W0LEGAL1>", "<@W0LEGAL2>", "<@W0SUP1>"} <= set(stack.prompt(rid).mentions)

    until = (today() + timedelta(days=14)).isoformat()
    typed = f"away {stack.people.at('W0LEGAL2')} until {until}"
    told = stack.people.slash_command("W0LEGAL1", "/cx-review", typed).json()
    assert told["text"].startswith("Until ") and "<@W0LEGAL2> answers for you" in told["text"]
    assert [(s.advocate, s.substitute) for s in stack.all(Substitute)] == [("W0LEGAL1", "W0LEGAL2")]

    stack.press("W0LEGAL2", rid, ids.APPROVE)
    stack.press("W0SUP1", rid, ids.APPROVE)
    stack.settle()
    assert {(v.user_id, v.kind) for v in stack.all(Vote)} == {("W0LEGAL2", VoteKind.APPROVE),
                                                              ("W0SUP1", VoteKind.APPROVE)}
    assert stack.request(rid).status is Status.APPROVED

    parent = stack.parent(rid)
    assert stack.people.post_in_thread("W0SUP1", channel=CHANNEL, thread_ts=parent.ts, text="Shipping it").status == 200
    assert stack.people.last_event is not None and stack.people.last_event["enterprise_id"] == ENTERPRISE["id"]
    assert [(c.user_id, c.text) for c in stack.all(Comment)] == [("W0SUP1", "Shipping it")]
    assert stack.count(ReviewRequest) == 1
