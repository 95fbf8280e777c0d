"""Time as EventLab handles it: every time is UTC, a time without a zone is taken as UTC, and a
position in a stream is measured on one of three time bases.

The one definition of that rule: parsing what a person types (CLI flags, the Sources form, the
Time travel jump box), normalising datetimes, and the zone-less UTC values Streamlit's date and
time widgets work with. The store itself runs with TimeZone=UTC (`store.db.connect`).
"""

from __future__ import annotations

from datetime import UTC, datetime

TIME_BASES: dict[str, str] = {
    "event_time": "event time (ts)",
    "kafka_time": "Kafka timestamp",
    "offset": "offset order",
}
"""What a moment in an entity's history is measured by (the event's `ts`, its `kafka_ts`, or
its source offset), with the label the pages and the CLI show."""


def as_utc(value: datetime) -> datetime:
    """The same instant with tzinfo `datetime.UTC`; a naive datetime is taken as UTC."""
    if value.tzinfo is UTC:
        return value
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def parse_utc(text: str) -> datetime:
    """An ISO 8601 time as UTC: `2025-03-05T14:03:00Z`, `+01:00`, a space for the `T`, or no
    zone at all (then UTC). Raises ValueError when the text is not such a time."""
    return as_utc(datetime.fromisoformat(text.strip().replace(" ", "T", 1)))


def to_utc(value: datetime | str) -> datetime:
    """A datetime (`as_utc`) or ISO 8601 text (`parse_utc`) as a UTC time: what a fold is
    asked "as of" and what a stored row's times may be. Anything else raises TypeError."""
    if isinstance(value, str):
        return parse_utc(value)
    if not isinstance(value, datetime):
        raise TypeError(f"expected a datetime, got {type(value).__name__}")
    return as_utc(value)


def naive_utc(value: datetime) -> datetime:
    """UTC wall-clock time without a zone, to the second: what Streamlit's date and time
    widgets show and give back (`as_utc` turns their value into a time again)."""
    return as_utc(value).replace(tzinfo=None, microsecond=0)


def format_utc(value: datetime) -> str:
    """A time as the pages show it: `2025-03-05 14:03:00 UTC`."""
    return as_utc(value).strftime("%Y-%m-%d %H:%M:%S UTC")
