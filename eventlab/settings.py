"""Settings that several packages read from the environment, one definition each."""

from __future__ import annotations

import getpass
import os
from collections.abc import Mapping

from eventlab.errors import EventLabError


class SettingError(EventLabError):
    """A setting in the environment cannot be used."""

READ_ONLY = "EVENTLAB_READ_ONLY"
LATE_EVENT_SECONDS = "EVENTLAB_LATE_EVENT_SECONDS"
ACTOR = "EVENTLAB_ACTOR"


def read_only(env: Mapping[str, str] | None = None) -> bool:
    """True when EVENTLAB_READ_ONLY is set to anything but empty, `0` or `false`.

    Read-only mode refuses every write action (loading from the app, republishing) in the
    function that would do it, not only by hiding a button.
    """
    return (os.environ if env is None else env).get(READ_ONLY, "") not in ("", "0", "false")


def late_event_seconds(env: Mapping[str, str] | None = None, default: float = 300.0) -> float:
    """EVENTLAB_LATE_EVENT_SECONDS: how far an event time may be from its Kafka timestamp
    before the quality check calls it late (default 300 s)."""
    raw = (os.environ if env is None else env).get(LATE_EVENT_SECONDS, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SettingError(f"{LATE_EVENT_SECONDS}={raw!r} is not a number of seconds") from None
    if value < 0:
        raise SettingError(f"{LATE_EVENT_SECONDS} must be 0 or more, not {raw}")
    return value


def actor(env: Mapping[str, str] | None = None) -> str:
    """Who acts (the replayed-by of a republish, the audit log, an investigation's author):
    EVENTLAB_ACTOR, else the operating-system user."""
    name = (os.environ if env is None else env).get(ACTOR, "").strip()
    if name:
        return name
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return "unknown"
