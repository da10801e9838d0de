"""The Slack adapter: the only package that imports slack_bolt and slack_sdk.

`listeners/` acknowledge, parse and call a use case; `blocks/` are pure Block Kit
builders; `delivery` turns outbox items into Web API calls and sorts Slack's errors. The
package reaches the database only through use cases (`cxbot.services`), never the store.
"""
