"""The settings and guards of republish, read where the action runs (docs/safety.md, 21, 28).

- `EVENTLAB_READ_ONLY=1` refuses every republish (`eventlab.settings.read_only`).
- `EVENTLAB_REPUBLISH_TOPICS`: a regular expression; only target topics it fully matches
  are allowed (unset: any).
- `EVENTLAB_REPUBLISH_MAX_RECORDS`: the most records one job may send (default 10,000).
- `EVENTLAB_REPUBLISH_CREATE_TOPICS`: `0` stops missing targets from being created.
- `EVENTLAB_REPUBLISH_DLQ_HEADER`: the header naming a dead letter's original topic
  (default `kafka_dlt-original-topic`, Spring Kafka's).
- `EVENTLAB_ACTOR`: who is recorded as the actor (default: the operating-system user).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping

from eventlab import settings
from eventlab.errors import EventLabError, ReadOnlyError
from eventlab.republish.plan import DLQ_HEADER

TOPICS = "EVENTLAB_REPUBLISH_TOPICS"
MAX_RECORDS = "EVENTLAB_REPUBLISH_MAX_RECORDS"
CREATE_TOPICS = "EVENTLAB_REPUBLISH_CREATE_TOPICS"
DLQ_HEADER_ENV = "EVENTLAB_REPUBLISH_DLQ_HEADER"
ACTOR = settings.ACTOR
DEFAULT_MAX_RECORDS = 10_000


class RepublishRefused(EventLabError):
    """A republish was refused (read-only, allow-list, cap, confirmation); it is audited."""


def _env(env: Mapping[str, str] | None) -> Mapping[str, str]:
    return os.environ if env is None else env


def read_only_refusal(env: Mapping[str, str] | None = None) -> ReadOnlyError | None:
    """The error to raise when EventLab runs read-only, else None."""
    if settings.read_only(_env(env)):
        return ReadOnlyError("EventLab runs read-only (EVENTLAB_READ_ONLY): republishing is "
                             "disabled. Restart without EVENTLAB_READ_ONLY to republish.")
    return None


def topic_pattern(env: Mapping[str, str] | None = None) -> str | None:
    """The allow-list regular expression, None when unset; a bad one is an error."""
    pattern = _env(env).get(TOPICS, "").strip() or None
    if pattern is not None:
        try:
            re.compile(pattern)
        except re.error as exc:
            raise RepublishRefused(f"{TOPICS} is not a valid regular expression: {exc}") from None
    return pattern


def max_records(env: Mapping[str, str] | None = None) -> int:
    """The per-job record cap."""
    raw = _env(env).get(MAX_RECORDS, "").strip()
    if not raw:
        return DEFAULT_MAX_RECORDS
    try:
        value = int(raw.replace("_", "").replace(",", ""))
    except ValueError:
        raise RepublishRefused(f"{MAX_RECORDS} must be a whole number, not {raw!r}") from None
    if value < 1:
        raise RepublishRefused(f"{MAX_RECORDS} must be at least 1, not {value}")
    return value


def create_topics(env: Mapping[str, str] | None = None) -> bool:
    """May a missing target topic be created?"""
    return _env(env).get(CREATE_TOPICS, "1").strip().lower() not in ("0", "false", "no", "off")


def dlq_header(env: Mapping[str, str] | None = None) -> str:
    """The header that names a dead letter's original topic."""
    return _env(env).get(DLQ_HEADER_ENV, "").strip() or DLQ_HEADER


def actor(env: Mapping[str, str] | None = None) -> str:
    """Who acts (`eventlab.settings.actor`: EVENTLAB_ACTOR, else the operating-system user)."""
    return settings.actor(_env(env))
