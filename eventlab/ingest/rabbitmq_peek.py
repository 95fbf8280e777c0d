"""Peek at a RabbitMQ stream without storing anything and without a trace on the broker.

The read is an unnamed subscription (`rabbitmq.streams`): nothing is acknowledged, no offset
is stored, and the subscription is gone when the peek returns. `first`, the `last` N, from an
offset or from a time; at most `limit` messages.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from eventlab.rabbitmq.config import RabbitConfig
from eventlab.rabbitmq.streams import StreamReader, read_all

PREVIEW_BYTES = 2000


def stream_end(config: RabbitConfig, stream: str) -> int:
    """The next offset after the stream's last message (0 when empty)."""
    reader = StreamReader(config, [stream], start="last", until="end", batch_records=1)
    try:
        for kind, item, _pos in reader:
            if kind == "error":
                raise item
            if kind == "done":
                break
    finally:
        reader.stop()
    return reader.ends.get(stream) or 0


def peek_stream(config: RabbitConfig, stream: str, *, at: str | int | datetime = "first",
                limit: int = 20) -> list[dict[str, Any]]:
    """Up to `limit` messages as small dicts (offset, broker time, headers, value preview).

    `at`: "first", "last" (the last `limit` messages), an offset, or a time.
    """
    start: str | int | datetime = at
    end = stream_end(config, stream)
    if at == "last":
        start = max(0, end - limit)
    # A read bounded by a count waits for that many messages: when the stream holds no more
    # than `limit` from the start, read to its end instead (else a short stream never returns).
    first = start if isinstance(start, int) else 0
    until: int | str = "end" if end - first <= limit else limit
    table = read_all(config, stream, start=start, until=until)  # type: ignore[arg-type]
    if table is None:
        return []
    rows = []
    for rec in table.slice(0, limit).to_pylist():
        value = rec["value"] or b""
        rows.append({
            "stream": rec["topic"], "offset": rec["offset"],
            "broker_time": datetime.fromtimestamp(rec["timestamp_ms"] / 1000, UTC),
            "headers": [(h["key"], h["value"]) for h in rec["headers"]],
            "size": len(value), "value": value[:PREVIEW_BYTES],
            "truncated": len(value) > PREVIEW_BYTES,
        })
    return rows
