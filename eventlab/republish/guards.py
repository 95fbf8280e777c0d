"""The settings and guards of republish (docs/safety.md, items 21, 28, 37).

The guards are process settings (`eventlab.settings.guards`): read from the environment once,
the first time one is needed, and never from an argument, so no caller can switch one off.

- `EVENTLAB_READ_ONLY=1` refuses every republish.
- `EVENTLAB_REPUBLISH_TOPICS`: a regular expression; only target topics it fully matches
  are allowed (unset: any).
- `EVENTLAB_REPUBLISH_MAX_RECORDS`: the most records one job may send (default 10,000).
- `EVENTLAB_REPUBLISH_CREATE_TOPICS`: `0` stops missing targets from being created.
A guard setting that cannot be read refuses every republish (it fails closed).

Not guards, read where used: `EVENTLAB_REPUBLISH_DLQ_HEADER`, the header naming a dead
letter's original topic (default `kafka_dlt-original-topic`, Spring Kafka's), and
`EVENTLAB_ACTOR`, who is recorded as the actor (default: the operating-system user).
"""

from __future__ import annotations

import os

from eventlab import settings
from eventlab.errors import EventLabError, ReadOnlyError
from eventlab.republish.plan import DLQ_HEADER

TOPICS = settings.REPUBLISH_TOPICS
MAX_RECORDS = settings.REPUBLISH_MAX_RECORDS
CREATE_TOPICS = settings.REPUBLISH_CREATE_TOPICS
DLQ_HEADER_ENV = "EVENTLAB_REPUBLISH_DLQ_HEADER"
ACTOR = settings.ACTOR
DEFAULT_MAX_RECORDS = settings.DEFAULT_REPUBLISH_MAX_RECORDS


class RepublishRefused(EventLabError):
    """A republish was refused (read-only, allow-list, cap, confirmation); it is audited."""


def read_only_refusal() -> EventLabError | None:
    """The error to raise when the process runs read-only or a guard setting cannot be read,
    else None."""
    g = settings.guards()
    if g.read_only:
        return ReadOnlyError("EventLab runs read-only (EVENTLAB_READ_ONLY): republishing is "
                             "disabled. Restart without EVENTLAB_READ_ONLY to republish.")
    if g.problems:
        return RepublishRefused("republishing is disabled until the setting is fixed and "
                                "EventLab restarted: " + "; ".join(g.problems))
    return None


def topic_pattern() -> str | None:
    """The allow-list regular expression, None when unset."""
    return settings.guards().republish_topics


def max_records() -> int:
    """The per-job record cap."""
    return settings.guards().republish_max_records


def create_topics() -> bool:
    """May a missing target topic be created?"""
    return settings.guards().republish_create_topics


def dlq_header() -> str:
    """The header that names a dead letter's original topic."""
    return os.environ.get(DLQ_HEADER_ENV, "").strip() or DLQ_HEADER


def actor() -> str:
    """Who acts (`eventlab.settings.actor`: EVENTLAB_ACTOR, else the operating-system user)."""
    return settings.actor()
