"""Pure Block Kit builders: plain values in, `slack_sdk.models` blocks and views out.

Every piece of user-written text goes through `cxbot.slack.text.escape` (or is sent as
plain_text), so nothing a person types can ping a channel or disguise a link.
"""
