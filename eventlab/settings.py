"""Settings that several packages read from the environment, one definition each."""

from __future__ import annotations

import getpass
import os
import re
from collections.abc import Mapping

from eventlab.errors import EventLabError


class SettingError(EventLabError):
    """A setting in the environment cannot be used."""

READ_ONLY = "EVENTLAB_READ_ONLY"
LATE_EVENT_SECONDS = "EVENTLAB_LATE_EVENT_SECONDS"
ACTOR = "EVENTLAB_ACTOR"
MEMORY_LIMIT = "EVENTLAB_MEMORY_LIMIT"
TEMP_LIMIT = "EVENTLAB_TEMP_LIMIT"
SQL_MAX_BYTES = "EVENTLAB_SQL_MAX_BYTES"

DEFAULT_MEMORY_LIMIT = "2GB"
DEFAULT_TEMP_LIMIT = "4GB"
DEFAULT_SQL_MAX_BYTES = "64MB"
_UNITS = {"": 1, "b": 1, "byte": 1, "bytes": 1, "k": 10**3, "kb": 10**3, "m": 10**6,
          "mb": 10**6, "g": 10**9, "gb": 10**9, "t": 10**12, "tb": 10**12, "kib": 2**10,
          "mib": 2**20, "gib": 2**30, "tib": 2**40}


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


def byte_size(text: str, name: str = "size") -> int:
    """Bytes in a size written as DuckDB writes them: `64MB`, `4 GiB`, `2g`, `1000000`
    (KB/MB/GB are powers of 1000, KiB/MiB/GiB of 1024, as in DuckDB)."""
    found = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([A-Za-z]*)\s*", text)
    unit = found.group(2).lower() if found else ""
    if not found or unit not in _UNITS:
        raise SettingError(f"{name}={text!r} is not a size: write e.g. 64MB, 4GB or 2GiB")
    value = int(float(found.group(1)) * _UNITS[unit])
    if value <= 0:
        raise SettingError(f"{name} must be more than 0 bytes, not {text!r}")
    return value


def _size_setting(env: Mapping[str, str] | None, name: str, default: str) -> str:
    raw = (os.environ if env is None else env).get(name, "").strip() or default
    byte_size(raw, name)
    return raw


def memory_limit(env: Mapping[str, str] | None = None) -> str:
    """EVENTLAB_MEMORY_LIMIT: DuckDB's memory limit for the app and the read commands
    (default 2GB); a query that needs more stops with a message naming it."""
    return _size_setting(env, MEMORY_LIMIT, DEFAULT_MEMORY_LIMIT)


def temp_limit(env: Mapping[str, str] | None = None) -> str:
    """EVENTLAB_TEMP_LIMIT: the most disk DuckDB may spill to in its temp folder (DuckDB's
    `max_temp_directory_size`; default 4GB, not DuckDB's 90% of the disk)."""
    return _size_setting(env, TEMP_LIMIT, DEFAULT_TEMP_LIMIT)


def sql_max_bytes(env: Mapping[str, str] | None = None) -> int:
    """EVENTLAB_SQL_MAX_BYTES: the most bytes (Arrow, in memory) one user query's result may
    hold before it is cut (default 64MB); the row cap applies as well."""
    return byte_size(_size_setting(env, SQL_MAX_BYTES, DEFAULT_SQL_MAX_BYTES), SQL_MAX_BYTES)
