"""manifest.yml asks Slack for exactly what cxbot uses, and Slack would accept it.

The scopes are derived from the Web API methods cxbot calls, found by reading cxbot's source
(every `client.<method>(...)` and every `"family.method"` string), with a table of the bot
scopes each method needs copied from its page in Slack's method reference
(docs.slack.dev/reference/methods/<method>, "Required scopes"). A method missing from the table
fails the test until its scopes are looked up and added.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Iterator
from pathlib import Path

import jsonschema
import pytest
import yaml
from slack_sdk import WebClient

from cxbot.council_file import CHANNEL_ID
from cxbot.sandbox import webapi
from cxbot.sandbox.manifest import AppManifest

ROOT = Path(__file__).resolve().parent.parent
MANIFEST = ROOT / "manifest.yml"
PACKAGE = ROOT / "cxbot"
SCHEMA = Path(__file__).parent / "slack_manifest_schema" / "schemas" / "manifest.schema.1.0.0.json"

# Bot scopes per Web API method, any one of which will do (Slack's method reference).
METHOD_SCOPES: dict[str, tuple[str, ...]] = {
    "auth.test": (),
    "chat.delete": ("chat:write",),
    "chat.getPermalink": (),
    "chat.postEphemeral": ("chat:write",),
    "chat.postMessage": ("chat:write",),
    "chat.update": ("chat:write",),
    "conversations.info": ("channels:read", "groups:read", "im:read", "mpim:read"),
    "conversations.open": ("channels:manage", "groups:write", "im:write", "mpim:write"),
    "conversations.replies": ("channels:history", "groups:history", "im:history", "mpim:history"),
    "files.completeUploadExternal": ("files:write",),
    "files.getUploadURLExternal": ("files:write",),
    "reactions.add": ("reactions:write",),
    "users.info": ("users:read",),
    "users.list": ("users:read",),
    "views.open": (),
    "views.publish": (),
    "views.push": (),
    "views.update": (),
}
# slack_sdk helpers that make several Web API calls.
SDK_COMPOSITES = {"files.upload_v2": ("files.getUploadURLExternal", "files.completeUploadExternal")}
# Calls Bolt makes itself: `auth.test` when the app starts (token_verification_enabled).
BOLT_CALLS = {"auth.test"}
# The scope each event subscription needs (Slack's event reference), None when it needs none.
EVENT_SCOPES: dict[str, str | None] = {
    "message.channels": "channels:history",
    "message.groups": "groups:history",
    "message.im": "im:history",
    "message.mpim": "mpim:history",
    "app_home_opened": None,
    "user_change": "users:read",
}
# What a private or public council channel needs to deliver its thread replies.
CHANNEL_EVENTS = {"C": "message.channels", "G": "message.groups"}

FAMILIES = ("admin", "apps", "auth", "bookmarks", "bots", "calls", "canvases", "chat", "conversations", "dnd",
            "emoji", "files", "pins", "reactions", "reminders", "search", "stars", "team", "usergroups", "users",
            "views", "workflows")
METHOD_NAME = re.compile(rf"^(?:{'|'.join(FAMILIES)})\.[a-zA-Z][a-zA-Z0-9_.]*$")


def manifest() -> dict:
    return yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))


def bot_scopes() -> set[str]:
    return set(manifest()["oauth_config"]["scopes"]["bot"])


def bot_events() -> set[str]:
    return set(manifest()["settings"]["event_subscriptions"]["bot_events"])


def sources() -> Iterator[tuple[Path, ast.Module]]:
    """cxbot's own modules; the sandbox is the emulator, not a Slack client."""
    for path in sorted(PACKAGE.rglob("*.py")):
        if "sandbox" not in path.relative_to(PACKAGE).parts:
            yield path, ast.parse(path.read_text(encoding="utf-8"))


def _sdk_method(attribute: str) -> str | None:
    """`chat_postMessage` → `chat.postMessage`, for WebClient's Web API methods only."""
    family = attribute.split("_", 1)[0]
    if family not in FAMILIES or not callable(getattr(WebClient, attribute, None)):
        return None
    return attribute.replace("_", ".").replace(".v2", "_v2")


def called_methods() -> dict[str, set[str]]:
    """Web API methods named in cxbot's source, with the files naming them."""
    found: dict[str, set[str]] = {}
    for path, tree in sources():
        for node in ast.walk(tree):
            name = None
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and METHOD_NAME.match(node.value):
                # A config key such as "reminders.first_after_days" is not a method WebClient knows.
                name = node.value if _sdk_method(node.value.replace(".", "_")) else None
            elif isinstance(node, ast.Attribute):
                name = _sdk_method(node.attr)
            if name is not None:
                for method in SDK_COMPOSITES.get(name, (name,)):
                    found.setdefault(method, set()).add(str(path.relative_to(ROOT)))
    for method in BOLT_CALLS:
        found.setdefault(method, set()).add("slack_bolt (token verification)")
    return found


def listened_events() -> set[str]:
    """Event types cxbot registers a Bolt listener for: `app.event("x")`, `app.message(...)`."""
    events = set()
    for _, tree in sources():
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                on_app = isinstance(node.func.value, ast.Name) and node.func.value.id == "app"
                if node.func.attr == "message" and on_app:
                    events.add("message")
                if node.func.attr == "event" and node.args and isinstance(node.args[0], ast.Constant):
                    events.add(str(node.args[0].value))
                if node.func.attr == "event" and node.args and isinstance(node.args[0], ast.Dict):
                    spec = {k.value: v.value for k, v in zip(node.args[0].keys, node.args[0].values, strict=True)
                            if isinstance(k, ast.Constant) and isinstance(v, ast.Constant)}
                    events.add(str(spec.get("type")))
    return events


# ---------------------------------------------------------------- the file itself


def test_manifest_is_valid_by_slacks_published_schema() -> None:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    jsonschema.Draft7Validator.check_schema(schema)
    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
              for e in jsonschema.Draft7Validator(schema).iter_errors(manifest())]
    assert errors == []


def test_the_schema_catches_a_broken_manifest() -> None:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    broken = manifest()
    broken["features"]["slash_commands"][0]["should_escape"] = "yes"
    assert not jsonschema.Draft7Validator(schema).is_valid(broken)


def test_the_emulators_packaged_copy_equals_manifest_yml() -> None:
    """The emulator ships inside the wheel, where manifest.yml is not: it reads this copy.
    Refresh it with: python -c "import json,yaml; print(json.dumps(yaml.safe_load(open('manifest.yml')), indent=2))"
    > cxbot/sandbox/manifest.json"""
    packaged = json.loads((PACKAGE / "sandbox" / "manifest.json").read_text(encoding="utf-8"))
    assert packaged == manifest()
    assert AppManifest.packaged() == AppManifest.from_dict(manifest())


# ---------------------------------------------------------------- scopes


def test_the_source_scan_finds_the_methods_cxbot_is_known_to_call() -> None:
    called = called_methods()
    for method in ("chat.postMessage", "chat.update", "chat.postEphemeral", "users.info", "users.list",
                   "conversations.open",
                   "views.open", "files.getUploadURLExternal", "files.completeUploadExternal"):
        assert method in called, f"the scan missed {method}"


def test_every_method_cxbot_calls_has_its_scopes_in_the_table() -> None:
    unknown = {m: sorted(where) for m, where in called_methods().items() if m not in METHOD_SCOPES}
    assert unknown == {}, "look up their bot scopes in Slack's method reference and add them to METHOD_SCOPES"


def test_manifest_asks_for_exactly_the_scopes_the_code_needs() -> None:
    granted = bot_scopes()
    missing, used = {}, set()
    for method in called_methods():
        choices = METHOD_SCOPES.get(method, ())
        if not choices:
            continue
        have = [scope for scope in choices if scope in granted]
        if have:
            used.update(have)
        else:
            missing[method] = " or ".join(choices)
    for event in bot_events():
        assert event in EVENT_SCOPES, f"add the scope of the {event} subscription to EVENT_SCOPES"
        scope = EVENT_SCOPES[event]
        if scope is None:
            continue
        if scope in granted:
            used.add(scope)
        else:
            missing[event] = scope
    if manifest()["features"].get("slash_commands"):
        used.add("commands")
        if "commands" not in granted:
            missing["slash commands"] = "commands"
    assert missing == {}, "manifest.yml lacks scopes"
    assert granted - used == set(), "manifest.yml asks for scopes nothing uses"


def test_the_emulator_demands_the_scopes_of_this_table() -> None:
    """The emulator answers missing_scope from its own table: both must say what Slack's docs say."""
    served = set(webapi.SCOPES)
    assert {m: set(webapi.SCOPES[m]) for m in served & set(METHOD_SCOPES)} == {
        m: set(METHOD_SCOPES[m]) for m in served & set(METHOD_SCOPES)}
    assert set(called_methods()) <= served, "the emulator must answer every method cxbot calls"


# ---------------------------------------------------------------- events


def test_every_subscribed_event_has_a_listener_and_every_listener_a_subscription() -> None:
    listened = listened_events()
    subscribed_types = {event.split(".", 1)[0] for event in bot_events()}
    assert subscribed_types - listened == set(), "Bolt answers 404 to an event nobody listens to, and Slack retries"
    assert listened - subscribed_types == set(), "a listener for events Slack is never asked to send"


@pytest.mark.parametrize("kind", sorted(CHANNEL_EVENTS))
def test_thread_replies_arrive_from_every_kind_of_council_channel(kind: str) -> None:
    """The council file accepts public (C…) and private (G…) channels: replies in either must arrive."""
    assert CHANNEL_ID.match(f"{kind}0123ABC")
    assert CHANNEL_EVENTS[kind] in bot_events()


def test_slash_command_text_arrives_escaped() -> None:
    """`/cx-review away @colleague` needs Slack to send the mention as <@U123|name>."""
    assert all(command.get("should_escape") is True for command in manifest()["features"]["slash_commands"])
