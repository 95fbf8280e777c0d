"""`Event`: one canonical event as the replay engine sees it (a frozen record, also a mapping).

Reducers get an `Event`. It reads both ways, so user code may write `event.payload` or
`event["payload"]`, `event.get("metadata")`, `"payload" in event`, `dict(event)`. An upcaster
returns `event.replace(payload=..., event_version=2)`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any

import orjson

from eventlab import timeutil
from eventlab.errors import ReducerError
from eventlab.replay import jsontext

FIELDS: tuple[str, ...] = (
    "event_id", "entity_type", "entity_id", "event_type", "event_version", "seq", "ts",
    "payload", "metadata", "is_delete", "kafka_ts", "offset",
)
_REQUIRED = ("event_id", "entity_type", "entity_id", "event_type", "seq", "ts")


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Event(Mapping[str, Any]):
    """A canonical event: what happened (`event_type`, `payload`) to which entity, where, when.

    `payload` is the parsed JSON data (usually a dict; None for a delete), `seq` the position in
    the entity's stream, `ts` the event time (tz-aware UTC), `kafka_ts` and `offset` where the
    broker put it (None for events from files without them).
    """

    event_id: str
    entity_type: str
    entity_id: str
    event_type: str
    seq: int
    ts: datetime
    event_version: int | None = None
    payload: Any = None
    metadata: dict[str, Any] | None = None
    is_delete: bool = False
    kafka_ts: datetime | None = None
    offset: int | None = None

    def __getitem__(self, key: str) -> Any:
        if key not in FIELDS:
            raise KeyError(key)
        return getattr(self, key)

    def __iter__(self) -> Iterator[str]:
        return iter(FIELDS)

    def __len__(self) -> int:
        return len(FIELDS)

    def __hash__(self) -> int:
        return hash((self.event_id, self.seq, self.event_type))

    def replace(self, **changes: Any) -> Event:
        """A copy with some fields changed (for upcasters): `event.replace(event_version=2)`."""
        return dataclasses.replace(self, **changes)

    def as_dict(self) -> dict[str, Any]:
        """The fields as a plain dict, in canonical order."""
        return {name: getattr(self, name) for name in FIELDS}

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Event:
        """Build an event from a store row; payload/metadata may be JSON text or parsed values.

        Extra keys (source, topic, headers, ...) are ignored. A naive `ts` is taken as UTC; an
        ISO string is parsed. Missing values coming from pandas (NaN, NaT) become None.
        """
        missing = [name for name in _REQUIRED if _absent(row.get(name))]
        if missing:
            raise ReducerError(f"event row is missing {', '.join(missing)}: {_short(row)}")
        event_id = str(row["event_id"])
        try:
            return cls(
                event_id=event_id,
                entity_type=str(row["entity_type"]),
                entity_id=str(row["entity_id"]),
                event_type=str(row["event_type"]),
                event_version=_opt_int(row.get("event_version")),
                seq=int(row["seq"]),
                ts=timeutil.to_utc(row["ts"]),
                payload=_json(row.get("payload")),
                metadata=_json(row.get("metadata")),
                is_delete=not _absent(row.get("is_delete")) and bool(row["is_delete"]),
                kafka_ts=None if _absent(row.get("kafka_ts")) else timeutil.to_utc(row["kafka_ts"]),
                offset=_opt_int(row.get("offset")),
            )
        except (ValueError, TypeError, orjson.JSONDecodeError) as exc:
            raise ReducerError(f"event {event_id}: cannot read the row: {exc}") from exc


class Unparsed:
    """Stored JSON text not read yet: `Event.metadata` parses it (`jsontext.loads`) the
    first time it is read and keeps the value. A large entity's load hands its metadata over
    this way; the merge fold never reads it, so most of it is never parsed."""

    __slots__ = ("text",)

    def __init__(self, text: str | bytes) -> None:
        self.text = text


class _ParsedOnRead:
    """A slot whose value may be `Unparsed`: parsed on its first read, then stored in the
    slot (so every read, `==`, `repr`, `replace` and pickling see the parsed value)."""

    __slots__ = ("slot",)

    def __init__(self, slot: Any) -> None:
        self.slot = slot
        """The slot's own descriptor (sets a value as it is: a loader's fast path)."""

    def __get__(self, obj: Any, owner: Any = None) -> Any:
        if obj is None:
            return self
        value = self.slot.__get__(obj, owner)
        if value.__class__ is Unparsed:
            value = jsontext.loads(value.text)
            self.slot.__set__(obj, value)  # a race parses twice: the same value either way
        return value

    def __set__(self, obj: Any, value: Any) -> None:
        self.slot.__set__(obj, value)

    def __delete__(self, obj: Any) -> None:
        self.slot.__delete__(obj)


Event.metadata = _ParsedOnRead(Event.__dict__["metadata"])  # type: ignore[assignment,misc]


def _absent(value: Any) -> bool:
    """None, or a pandas/NumPy missing value (NaN, NaT: not equal to itself)."""
    if value is None:
        return True
    if isinstance(value, (str, int)):
        return False
    if isinstance(value, (float, datetime)) or type(value).__name__ == "NaTType":
        return bool(value != value)
    return False


def _opt_int(value: Any) -> int | None:
    return None if _absent(value) else int(value)


def _json(value: Any) -> Any:
    """Parse JSON text (str/bytes); already-parsed values pass through."""
    if isinstance(value, (bytes, bytearray, memoryview, str)):
        return jsontext.loads(value if not isinstance(value, memoryview) else bytes(value))
    return None if _absent(value) else value


def _short(row: Mapping[str, Any]) -> str:
    text = repr({k: row[k] for k in list(row)[:6]})
    return text if len(text) <= 160 else text[:157] + "..."
