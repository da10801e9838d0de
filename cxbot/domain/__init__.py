"""Council rules with no Slack and no SQL: routing, tallying, outcome and permissions.

Everything here works on plain values so the rules can be tested alone and grow
(routing by stage or magnitude, policies per magnitude) without touching the adapters.
"""
