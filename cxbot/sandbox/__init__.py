"""A local Slack for tests, the benchmark and `cxbot demo`.

`emulator` serves the Slack Web API on loopback and keeps what the bot sent;
`client` plays the people: it sends correctly signed slash commands, button presses,
modal submissions and Events API deliveries to the running app, as Slack would.
Both follow the app's manifest (`manifest`, read from the copy packaged beside it): the bot
token's scopes, the events Slack delivers, and how slash command text is escaped.
"""
