"""Errors a person can be told about.

Use cases raise these; the Slack adapter turns each into a message where the person is
(an ephemeral message, a modal field error) and the CLI into a one-line error. Anything
else is a bug and is logged, never shown. Every message is a `Msg` (`N_`, `nN_`): English
as a `str` (the CLI), in the reader's language where Slack answers them
(`tests/test_refusals.py` keeps it so).
"""

from __future__ import annotations

from collections.abc import Mapping

from cxbot.domain.model import STATUS_STATES, Status
from cxbot.i18n import N_


class CxError(Exception):
    """Base: `message` is written for the person who caused it."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotAllowed(CxError):
    """The person may not do this (not a member, wrong department, not the filer…)."""


class NotFound(CxError):
    """The request, department or member named does not exist."""


class Closed(CxError):
    """The request no longer accepts this (withdrawn, decided)."""


class InvalidInput(CxError):
    """Field-by-field problems with what the person typed; keys are draft field names.

    The keys place each sentence on its field in a modal; where there is no field (a
    slash command, a button, the CLI) the person reads the sentences alone, never the keys.
    """

    def __init__(self, errors: Mapping[str, str]) -> None:
        self.errors = dict(errors)
        super().__init__(" ".join(self.errors.values()))


def already(status: Status) -> Closed:
    """A request that is decided or withdrawn takes no more of what was asked."""
    return Closed(N_("This request is already {status}.", status=STATUS_STATES[status]))


def too_long(limit: int) -> str:
    """What a field of free text over `limit` characters is told."""
    return N_("Keep it to {limit} characters.", limit=limit)


def no_request(request_id: int) -> NotFound:
    return NotFound(N_("There is no CX review #{id}.", id=request_id))
