"""Settings from the environment. Every variable is documented in the README."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

from cxbot.clock import SystemClock
from cxbot.store.db import default_database_url

DEFAULT_SLACK_API_URL = "https://slack.com/api/"


class ConfigError(Exception):
    """A setting is missing or wrong; the message names the variable."""


@dataclass(frozen=True)
class Settings:
    bot_token: str | None
    signing_secret: str | None
    app_token: str | None
    database_url: str
    slack_api_url: str
    council_file: str | None
    log_format: str
    log_level: str
    sweep_seconds: float
    clock_offset: timedelta = timedelta(0)
    request_seconds: float = 10.0
    metrics_address: tuple[str, int] | None = None
    metrics_token: str | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        log_format = env.get("CXBOT_LOG_FORMAT", "text").lower()
        if log_format not in ("text", "json"):
            raise ConfigError(f"CXBOT_LOG_FORMAT must be 'text' or 'json', not {log_format!r}")
        try:
            sweep_seconds = float(env.get("CXBOT_SWEEP_SECONDS", "60"))
        except ValueError:
            raise ConfigError("CXBOT_SWEEP_SECONDS must be a number of seconds") from None
        if not 1 <= sweep_seconds <= 3600:
            raise ConfigError("CXBOT_SWEEP_SECONDS must be between 1 and 3600")
        try:
            clock_offset = timedelta(seconds=float(env.get("CXBOT_CLOCK_OFFSET") or "0"))
        except (ValueError, OverflowError):
            raise ConfigError("CXBOT_CLOCK_OFFSET must be a number of seconds (negative for the past)") from None
        if abs(clock_offset) > timedelta(days=3660):
            raise ConfigError("CXBOT_CLOCK_OFFSET must be within ten years (316,224,000 seconds) of today")
        try:
            request_seconds = float(env.get("CXBOT_REQUEST_SECONDS") or "10")
        except ValueError:
            raise ConfigError("CXBOT_REQUEST_SECONDS must be a number of seconds") from None
        if not 1 <= request_seconds <= 120:
            raise ConfigError("CXBOT_REQUEST_SECONDS must be between 1 and 120")
        metrics_token = env.get("CXBOT_METRICS_TOKEN") or None
        if metrics_token is not None and (len(metrics_token) < 16 or not metrics_token.isprintable()
                                          or " " in metrics_token):
            raise ConfigError("CXBOT_METRICS_TOKEN must be at least 16 printable characters without spaces "
                              "(e.g. `openssl rand -hex 32`)")
        api_url = env.get("CXBOT_SLACK_API_URL") or DEFAULT_SLACK_API_URL
        if not api_url.endswith("/"):
            api_url += "/"
        return cls(
            bot_token=env.get("SLACK_BOT_TOKEN") or None,
            signing_secret=env.get("SLACK_SIGNING_SECRET") or None,
            app_token=env.get("SLACK_APP_TOKEN") or None,
            database_url=env.get("CXBOT_DATABASE_URL") or default_database_url(env),
            slack_api_url=api_url,
            council_file=env.get("CXBOT_COUNCIL_FILE") or None,
            log_format=log_format,
            log_level=env.get("CXBOT_LOG_LEVEL", "INFO").upper(),
            sweep_seconds=sweep_seconds,
            clock_offset=clock_offset,
            request_seconds=request_seconds,
            metrics_address=_address(env.get("CXBOT_METRICS_ADDRESS") or None),
            metrics_token=metrics_token,
        )

    def clock(self) -> SystemClock:
        """The clock every use case reads: the computer's, moved by `CXBOT_CLOCK_OFFSET`."""
        return SystemClock(self.clock_offset)

    def require(self, *names: str) -> None:
        """Raise for the first of these settings that is not set, by its variable name."""
        fields = {"SLACK_BOT_TOKEN": self.bot_token, "SLACK_SIGNING_SECRET": self.signing_secret,
                  "SLACK_APP_TOKEN": self.app_token}
        for name in names:
            if not fields[name]:
                raise ConfigError(f"{name} is not set")


def _address(raw: str | None) -> tuple[str, int] | None:
    """`host:port` (`[::1]:9100` for IPv6) for CXBOT_METRICS_ADDRESS."""
    if raw is None:
        return None
    host, sep, port = raw.rpartition(":")
    host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError(f"CXBOT_METRICS_ADDRESS must be host:port, such as 127.0.0.1:9100, not {raw!r}")
    return host, int(port)
