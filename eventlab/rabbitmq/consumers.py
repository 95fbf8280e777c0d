"""Named stream consumers' stored offsets (`query_offset`), a stream's end, and the broker
time of the message at an offset: what the lag of a RabbitMQ stream consumer is made of.

Only reads: `query_offset` asks what a consumer stored, the end comes from an unnamed
subscription at the last chunk (`StreamReader`), the time from one bounded unnamed read. Nothing
is stored on the broker and no consumer is left behind.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from dataclasses import dataclass

from rstream import exceptions as rexc

from eventlab.errors import SourceError
from eventlab.rabbitmq.config import RabbitConfig
from eventlab.rabbitmq.streams import StreamReader, _consumer, connection_error, read_all


@dataclass(frozen=True)
class ConsumerPosition:
    """What a named consumer stored on a stream (None: nothing stored), and the stream's end
    (the next offset after its last message; 0 for an empty stream)."""

    stream: str
    name: str
    stored: int | None
    end: int

    @property
    def next_offset(self) -> int | None:
        """The offset it reads next: the stored one is the last message it processed (the
        stream clients' convention), so one past it."""
        return None if self.stored is None else self.stored + 1


def consumer_positions(config: RabbitConfig, pairs: Sequence[tuple[str, str]]
                       ) -> list[ConsumerPosition]:
    """The stored offset of each (stream, consumer name) and each stream's end."""
    return asyncio.run(_positions(config, list(pairs)))


async def _positions(config: RabbitConfig, pairs: list[tuple[str, str]]
                     ) -> list[ConsumerPosition]:
    reader = StreamReader(config, sorted({s for s, _ in pairs}))
    consumer = _consumer(config)
    try:
        await reader._bounded(consumer.start(), "connecting")  # noqa: SLF001
        ends: dict[str, int] = {}
        for stream in reader.streams:
            if not await reader._exists(consumer, stream):  # noqa: SLF001
                raise SourceError(f"RabbitMQ at {config.host}:{config.stream_port} has no "
                                  f"stream {stream!r}: check the name")
            ends[stream] = await reader._end_of(consumer, stream) or 0  # noqa: SLF001
        out = []
        for stream, name in pairs:
            try:
                stored: int | None = await asyncio.wait_for(
                    consumer.query_offset(stream, name), config.timeout_s)
            except rexc.OffsetNotFound:
                stored = None
            except SourceError:
                raise
            except Exception as exc:  # noqa: BLE001 - translated at the boundary
                raise connection_error(config, exc, f"asking consumer {name!r} of stream "
                                                    f"{stream!r} for its offset") from exc
            out.append(ConsumerPosition(stream, name, stored, ends[stream]))
        return out
    finally:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(consumer.close(), 5)


def broker_time_at(config: RabbitConfig, stream: str, offset: int) -> float | None:
    """The chunk timestamp (epoch s) of the message at `offset`, by one bounded unnamed read;
    None when there is no such message."""
    table = read_all(config, stream, start=offset, until=1)
    if table is None or table.num_rows == 0 or table.column("offset")[0].as_py() != offset:
        return None
    return table.column("timestamp_ms")[0].as_py() / 1000.0
