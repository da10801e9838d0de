"""Block Kit reads in a terminal the way a person sees it in Slack."""

from __future__ import annotations

from cxbot.sandbox import render


def name_of(user_id: str) -> str:
    return {"U0KARI": "Kari (Billing)"}.get(user_id, user_id)


def plain(text: str) -> dict:
    return {"type": "plain_text", "text": text}


def mrkdwn(text: str) -> dict:
    return {"type": "mrkdwn", "text": text}


def rich(*elements: dict) -> dict:
    return {"type": "rich_text_section", "elements": list(elements)}


def test_mrkdwn_markup_and_escapes() -> None:
    text = (
        "*Refund* &amp; credit for <@U0KARI> <!here> <https://x.example/a?b=1&amp;c=2|the invoice>"
        " &lt;!channel&gt; <#C1|council>"
    )
    assert render.mrkdwn_to_text(text, user_name=name_of) == (
        "*Refund* & credit for @Kari (Billing) @here the invoice (https://x.example/a?b=1&c=2)"
        " <!channel> #council"
    )
    assert render.unescape("&amp;lt;") == "&lt;"


def test_a_request_card() -> None:
    options = [{"text": plain("Edit"), "value": "e"}, {"text": plain("Withdraw"), "value": "w"}]
    blocks = [
        {"type": "header", "text": plain("Refund request")},
        {"type": "section", "text": mrkdwn("From <@U0KARI>"), "fields": [mrkdwn("*Amount*\n120 EUR")],
         "accessory": {"type": "button", "text": plain("Open")}},
        {"type": "divider"},
        {"type": "context", "elements": [mrkdwn("Due Friday"),
                                         {"type": "image", "image_url": "u", "alt_text": "clock"}]},
        {"type": "actions", "elements": [
            {"type": "button", "text": plain("Approve")},
            {"type": "overflow", "options": options},
            {"type": "static_select", "placeholder": plain("Assign"), "options": options},
        ]},
        {"type": "rich_text", "elements": [
            rich({"type": "text", "text": "Ping "}, {"type": "user", "user_id": "U0KARI"}),
            {"type": "rich_text_list", "elements": [rich({"type": "text", "text": "a < b"})]},
        ]},
    ]
    assert render.blocks_to_text(blocks, user_name=name_of).splitlines() == [
        "# Refund request",
        "From @Kari (Billing)",
        "  *Amount*",
        "120 EUR",
        "  [Open]",
        "────────",
        "Due Friday · [image: clock]",
        "[Approve] [⋯ Edit | Withdraw] [Assign ▾]",
        "Ping @Kari (Billing)",
        "• a < b",
    ]


def test_a_modal() -> None:
    view = {
        "type": "modal",
        "title": plain("Review"),
        "submit": plain("Send"),
        "close": plain("Cancel"),
        "blocks": [
            {"type": "input", "label": plain("Why"), "element": {"type": "plain_text_input", "initial_value": "slow"}},
            {"type": "input", "optional": True, "label": plain("Owner"),
             "element": {"type": "users_select", "initial_user": "U0KARI"}},
            {"type": "input", "label": plain("Due"), "hint": plain("Friday at the latest"),
             "element": {"type": "datepicker"}},
        ],
    }
    assert render.view_to_text(view, user_name=name_of).splitlines() == [
        "┌ Review",
        "│ Why: [plain_text_input: slow]",
        "│ Owner (optional): [@Kari (Billing) ▾]",
        "│ Due: [datepicker]",
        "│   (Friday at the latest)",
        "└ [Cancel] [Send]",
    ]


def test_mentions_and_links_found_in_rich_text_too() -> None:
    block = {"type": "rich_text", "elements": [rich(
        {"type": "broadcast", "range": "here"},
        {"type": "link", "url": "https://x.example", "text": "x"},
        {"type": "text", "text": "<!channel>"},
    )]}
    [markup] = render.mrkdwn_texts([block])
    assert render.mentions_in(markup) == ["<!here>"]
    assert render.links_in(markup) == ["<https://x.example|x>"]
