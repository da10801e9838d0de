"""What the app's manifest tells Slack, as far as the emulator must know it.

Slack grants the bot token the manifest's bot scopes, delivers only the events the manifest
subscribes to, offers only the shortcuts it declares, and escapes a slash command's text when
the command says `should_escape`. The emulator ships inside the cxbot package, where the
repository's `manifest.yml` is not at hand (and reading YAML would need a dependency), so it
reads `manifest.json` beside this module: the same manifest as JSON, which
tests/test_manifest.py keeps equal to `manifest.yml`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, replace
from importlib import resources
from typing import Any


@dataclass(frozen=True)
class AppManifest:
    bot_scopes: frozenset[str]
    bot_events: frozenset[str]
    escaped_commands: frozenset[str]
    message_shortcuts: frozenset[str] = frozenset()   # callback ids of the message shortcuts
    home_tab: bool = False   # features.app_home.home_tab_enabled: views.publish answers not_enabled without it

    @classmethod
    def from_dict(cls, manifest: dict[str, Any]) -> AppManifest:
        """From a manifest as Slack reads it (the parsed YAML or JSON)."""
        features = manifest.get("features") or {}
        oauth = (manifest.get("oauth_config") or {}).get("scopes") or {}
        events = ((manifest.get("settings") or {}).get("event_subscriptions") or {}).get("bot_events") or []
        commands = features.get("slash_commands") or []
        return cls(
            bot_scopes=frozenset(oauth.get("bot") or []),
            bot_events=frozenset(events),
            escaped_commands=frozenset(c["command"] for c in commands if c.get("should_escape")),
            message_shortcuts=frozenset(s["callback_id"] for s in features.get("shortcuts") or []
                                        if s.get("type") == "message"),
            home_tab=bool((features.get("app_home") or {}).get("home_tab_enabled")),
        )

    @classmethod
    def packaged(cls) -> AppManifest:
        """cxbot's own manifest, from the copy shipped in the package."""
        text = resources.files("cxbot.sandbox").joinpath("manifest.json").read_text(encoding="utf-8")
        return cls.from_dict(json.loads(text))

    def with_scopes(self, scopes: Iterable[str]) -> AppManifest:
        return replace(self, bot_scopes=frozenset(scopes))

    def with_events(self, events: Iterable[str]) -> AppManifest:
        return replace(self, bot_events=frozenset(events))

    def with_home_tab(self, enabled: bool) -> AppManifest:
        """The same app with its Home tab turned on or off."""
        return replace(self, home_tab=enabled)

    def with_commands(self, escaped: Iterable[str]) -> AppManifest:
        """The same app with only these slash commands escaped (`should_escape: true`)."""
        return replace(self, escaped_commands=frozenset(escaped))
