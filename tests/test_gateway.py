"""The gateway's own reading of Slack bodies: the fast decoding of an interaction's
`payload` gives what `parse_qs` gives, and leaves every form it is not sure of to it."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, quote_plus

from hypothesis import given, settings
from hypothesis import strategies as st

from cxbot.slack.gateway import decode_payload_form, parse


def _parse_qs_payload(body: str) -> str:
    return parse_qs(body, keep_blank_values=True).get("payload", [""])[0]


@settings(max_examples=500)
@given(st.text())
def test_a_payload_encoded_as_slack_encodes_it_decodes_as_parse_qs_does(value: str) -> None:
    body = "payload=" + quote_plus(value)
    assert decode_payload_form(body) == _parse_qs_payload(body)


@settings(max_examples=1000)
@given(st.text(alphabet="ab%+=&09AFaf \n\r.-_~*é"))
def test_a_form_it_decodes_is_decoded_as_parse_qs_does_and_the_rest_is_left_to_it(value: str) -> None:
    body = "payload=" + value
    decoded = decode_payload_form(body)
    if decoded is not None:
        assert decoded == _parse_qs_payload(body)


def test_forms_that_are_not_a_lone_well_formed_payload_are_left_to_parse_qs() -> None:
    for body in ("payload=%", "payload=%zz", "payload=a%4", "payload=a=b", "payload=a&b=c", "command=%2Fcx-review",
                 "payload=é", "payload=a\nb"):
        assert decode_payload_form(body) is None, body


def test_a_slash_command_whose_text_says_payload_is_read_as_a_command() -> None:
    body = "command=%2Fcx-review&text=the+payload%3D+field&user_id=U1&trigger_id=1.2"
    shape, data = parse(body, "application/x-www-form-urlencoded")
    assert shape == "command" and data["text"] == "the payload= field"


def test_an_interaction_is_read_from_its_payload() -> None:
    payload = {"type": "block_actions", "actions": [{"action_id": "x", "value": "1 + 1 = 2 & <ü>"}]}
    shape, data = parse("payload=" + quote_plus(json.dumps(payload)), "application/x-www-form-urlencoded")
    assert shape == "interaction" and data == payload
