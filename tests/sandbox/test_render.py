"""Block Kit reads in a terminal the way a person sees it in Slack."""

from __future__ import annotations

from cxbot.sandbox import render

NAMES = {"U0KARI": "Kari (Billing)"}.get


def name_of(user_id: str) -> str:
    return NAMES(user_id) or user_id


def test_mrkdwn_markup_and_escapes() -> None:
    text = "*Refund* &amp; credit for <@U0KARI> <!here> <https://x.example/a?b=1&amp;c=2|the invoice> &lt;!channel&gt; <#C1|council>"
    assert render.mrkdwn_to_text(text, user_name=name_of) == (
        "*Refund* & credit for @Kari (Billing) @here the invoice (https://x.example/a?b=1&c=2) <!channel> #council"
    )
    assert render.unescape("&amp;lt;") == "&lt;"


def test_a_request_card() -> None:
    blocks = [
        {"type": "header", "text": {"type": "plain_text", "text": "Refund request"}},
        {"type": "section", "text": {"type": "mrkdwn", "text": "From <@U0KARI>"},
         "fields": [{"type": "mrkdwn", "text": "*Amount*\n120 EUR"}],
         "accessory": {"type": "button", "text": {"type": "plain_text", "text": "Open"}}},
        {"type": "divider"},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": "Due Friday"}, {"type": "image", "image_url": "u", "alt_text": "clock"}]},
        {"type": "actions", "elements": [
            {"type": "button", "text": {"type": "plain_text", "text": "Approve"}},
            {"type": "overflow", "options": [{"text": {"type": "plain_text", "text": "Edit"}, "value": "e"},
                                             {"text": {"type": "plain_text", "text": "Withdraw"}, "value": "w"}]},
            {"type": "static_select", "placeholder": {"type": "plain_text", "text": "Assign"}, "options": []},
        ]},
        {"type": "rich_text", "elements": [
            {"type": "rich_text_section", "elements": [{"type": "text", "text": "Ping "}, {"type": "user", "user_id": "U0KARI"}]},
            {"type": "rich_text_list", "elements": [{"type": "rich_text_section", "elements": [{"type": "text", "text": "a < b"}]}]},
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
        "title": {"type": "plain_text", "text": "Review"},
        "submit": {"type": "plain_text", "text": "Send"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            {"type": "input", "label": {"type": "plain_text", "text": "Why"},
             "element": {"type": "plain_text_input", "initial_value": "slow"}},
            {"type": "input", "optional": True, "label": {"type": "plain_text", "text": "Owner"},
             "element": {"type": "users_select", "initial_user": "U0KARI"}},
            {"type": "input", "label": {"type": "plain_text", "text": "Due"}, "hint": {"type": "plain_text", "text": "Friday at the latest"},
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
    block = {"type": "rich_text", "elements": [{"type": "rich_text_section", "elements": [
        {"type": "broadcast", "range": "here"}, {"type": "link", "url": "https://x.example", "text": "x"},
        {"type": "text", "text": "<!channel>"},
    ]}]}
    [markup] = render.mrkdwn_texts([block])
    assert render.mentions_in(markup) == ["<!here>"]
    assert render.links_in(markup) == ["<https://x.example|x>"]
