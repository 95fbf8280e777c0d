"""`x-death`, the header RabbitMQ adds when it dead-letters a message: parsed into records.

Each entry says where the message died (queue, exchange, routing keys), why (rejected,
expired, maxlen, delivery_limit), how often there and when first. Newest first, as RabbitMQ
keeps them.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any


@dataclass(frozen=True)
class Death:
    """One `x-death` entry."""

    queue: str | None
    exchange: str | None
    routing_keys: tuple[str, ...]
    reason: str | None
    count: int | None
    time: str | None
    """ISO 8601 UTC, or None."""

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["routing_keys"] = list(self.routing_keys)
        return d


def _text(value: Any) -> str | None:
    if value is None:
        return None
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _time(value: Any) -> str | None:
    if isinstance(value, datetime):
        value = value if value.tzinfo else value.replace(tzinfo=UTC)
        return value.astimezone(UTC).isoformat()
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, UTC).isoformat()
    return _text(value)


def parse_x_death(value: Any) -> tuple[Death, ...]:
    """The entries of an `x-death` header value (a list of tables); () when absent or not
    shaped like one (a hostile header is never an error)."""
    if not isinstance(value, list | tuple):
        return ()
    out = []
    for entry in value:
        if not isinstance(entry, dict):
            continue
        keys = entry.get("routing-keys") or []
        count = entry.get("count")
        out.append(Death(
            _text(entry.get("queue")), _text(entry.get("exchange")),
            tuple(_text(k) or "" for k in keys) if isinstance(keys, list | tuple) else (),
            _text(entry.get("reason")),
            int(count) if isinstance(count, int) and not isinstance(count, bool) else None,
            _time(entry.get("time"))))
    return tuple(out)
