"""Settings that several packages read from the environment, one definition each.

The guards (read-only mode, the republish allow-list, cap and topic creation) are process
settings: `guards()` reads them from the environment once, the first time one is needed, and
keeps them in a frozen `Guards` for the life of the process. No function takes them as an
argument, so no caller can turn one off (docs/safety.md, item 37). Tests change them by
replacing the process value (`monkeypatch.setattr(settings, "_GUARDS", ...)`) or by starting
a process with the variable set.
"""

from __future__ import annotations

import getpass
import os
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass

from eventlab.errors import EventLabError


class SettingError(EventLabError):
    """A setting in the environment cannot be used."""

READ_ONLY = "EVENTLAB_READ_ONLY"
LATE_EVENT_SECONDS = "EVENTLAB_LATE_EVENT_SECONDS"
ACTOR = "EVENTLAB_ACTOR"
MEMORY_LIMIT = "EVENTLAB_MEMORY_LIMIT"
TEMP_LIMIT = "EVENTLAB_TEMP_LIMIT"
SQL_MAX_BYTES = "EVENTLAB_SQL_MAX_BYTES"

DEFAULT_MEMORY_LIMIT = "1.5GB"
DEFAULT_TEMP_LIMIT = "4GB"
DEFAULT_SQL_MAX_BYTES = "64MB"
_UNITS = {"": 1, "b": 1, "byte": 1, "bytes": 1, "k": 10**3, "kb": 10**3, "m": 10**6,
          "mb": 10**6, "g": 10**9, "gb": 10**9, "t": 10**12, "tb": 10**12, "kib": 2**10,
          "mib": 2**20, "gib": 2**30, "tib": 2**40}
REPUBLISH_TOPICS = "EVENTLAB_REPUBLISH_TOPICS"
REPUBLISH_MAX_RECORDS = "EVENTLAB_REPUBLISH_MAX_RECORDS"
REPUBLISH_CREATE_TOPICS = "EVENTLAB_REPUBLISH_CREATE_TOPICS"
DEFAULT_REPUBLISH_MAX_RECORDS = 10_000
RESET_GROUPS = "EVENTLAB_RESET_GROUPS"


@dataclass(frozen=True)
class Guards:
    """The guards of write actions, as the process started with them.

    `problems` lists guard settings that could not be read; republish refuses while there is
    any (a guard that cannot be read fails closed, it is not dropped).
    """

    read_only: bool = False
    republish_topics: str | None = None
    """The allow-list: a regular expression target topics must fully match (None: any)."""
    republish_max_records: int = DEFAULT_REPUBLISH_MAX_RECORDS
    republish_create_topics: bool = True
    reset_groups: str | None = None
    """The rewind allow-list: a regular expression group names must fully match (None: no
    group may be rewound; resetting offsets is opt-in)."""
    problems: tuple[str, ...] = ()

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Guards:
        """Read the guards from `env` (`guards()` does this once, from os.environ)."""
        problems: list[str] = []
        topics = env.get(REPUBLISH_TOPICS, "").strip() or None
        if topics is not None:
            try:
                re.compile(topics)
            except re.error as exc:
                problems.append(f"{REPUBLISH_TOPICS} is not a valid regular expression: {exc}")
        groups = env.get(RESET_GROUPS, "").strip() or None
        if groups is not None:
            try:
                re.compile(groups)
            except re.error as exc:
                problems.append(f"{RESET_GROUPS} is not a valid regular expression: {exc}")
        cap = DEFAULT_REPUBLISH_MAX_RECORDS
        raw = env.get(REPUBLISH_MAX_RECORDS, "").strip()
        if raw:
            try:
                cap = int(raw.replace("_", "").replace(",", ""))
            except ValueError:
                problems.append(f"{REPUBLISH_MAX_RECORDS} must be a whole number, not {raw!r}")
            else:
                if cap < 1:
                    problems.append(f"{REPUBLISH_MAX_RECORDS} must be at least 1, not {cap}")
        create = env.get(REPUBLISH_CREATE_TOPICS, "1").strip().lower() not in (
            "0", "false", "no", "off")
        return cls(read_only=env.get(READ_ONLY, "") not in ("", "0", "false"),
                   republish_topics=topics, republish_max_records=cap,
                   republish_create_topics=create, reset_groups=groups,
                   problems=tuple(problems))


_GUARDS: Guards | None = None
_LOCK = threading.Lock()


def guards() -> Guards:
    """The process's guards: read from the environment the first time, then never again."""
    global _GUARDS
    if _GUARDS is None:
        with _LOCK:
            if _GUARDS is None:
                _GUARDS = Guards.from_env(os.environ)
    return _GUARDS


def read_only() -> bool:
    """True when the process started with EVENTLAB_READ_ONLY set to anything but empty, `0`
    or `false`.

    Read-only mode refuses every write action (loading from the app, republishing) in the
    function that would do it, not only by hiding a button.
    """
    return guards().read_only


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
    (default 1.5GB); a query that needs more stops with a message naming it."""
    return _size_setting(env, MEMORY_LIMIT, DEFAULT_MEMORY_LIMIT)


def temp_limit(env: Mapping[str, str] | None = None) -> str:
    """EVENTLAB_TEMP_LIMIT: the most disk DuckDB may spill to in its temp folder (DuckDB's
    `max_temp_directory_size`; default 4GB, not DuckDB's 90% of the disk)."""
    return _size_setting(env, TEMP_LIMIT, DEFAULT_TEMP_LIMIT)


def sql_max_bytes(env: Mapping[str, str] | None = None) -> int:
    """EVENTLAB_SQL_MAX_BYTES: the most bytes (Arrow, in memory) one user query's result may
    hold before it is cut (default 64MB); the row cap applies as well."""
    return byte_size(_size_setting(env, SQL_MAX_BYTES, DEFAULT_SQL_MAX_BYTES), SQL_MAX_BYTES)
