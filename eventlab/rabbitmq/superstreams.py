"""Super streams: a super stream S is a direct exchange whose partitions are the streams
S-0, S-1, ... bound to it (routing key = the index, `x-stream-partition-order` = the index).
EventLab reads each partition as a partition of topic S: partition = the index, offset = the
partition stream's own offset.

RabbitMQ 3.10 (Debian bookworm's) has no `rabbitmq-streams add_super_stream` and no stream
protocol command to create one (3.11 and 3.13 add them); its `partitions` answer is not
decoded by rstream 1.1 (it stalls). So `partitions` finds them by name, S-0, S-1, ... until
the first index that does not exist, which is how `add_super_stream` and rstream's
SuperStreamProducer name them; `declare` builds one the way `add_super_stream` does, over
AMQP (tests and demos). A super stream partitioned by binding keys (S-amer, S-emea) is not
found this way: read its partitions as streams.
"""

from __future__ import annotations

import asyncio
import contextlib

from eventlab.errors import SourceError
from eventlab.rabbitmq import amqp
from eventlab.rabbitmq.config import RabbitConfig
from eventlab.rabbitmq.streams import StreamReader, _consumer

MAX_PARTITIONS = 1_000


def partition_name(super_stream: str, index: int) -> str:
    """The stream of partition `index` of `super_stream`."""
    return f"{super_stream}-{index}"


def declare(config: RabbitConfig, super_stream: str, partitions: int) -> list[str]:
    """Create super stream `super_stream` with `partitions` partitions (idempotent), as
    `rabbitmq-streams add_super_stream` does; returns the partition streams in order."""
    names = [partition_name(super_stream, i) for i in range(partitions)]
    with amqp.channel(config, f"declaring super stream {super_stream!r}") as ch:
        ch.exchange_declare(super_stream, "direct", durable=True,
                            arguments={"x-super-stream": True})
        for i, name in enumerate(names):
            ch.queue_declare(name, durable=True, arguments={"x-queue-type": "stream"})
            ch.queue_bind(name, super_stream, str(i),
                          arguments={"x-stream-partition-order": i})
    return names


def partitions(config: RabbitConfig, super_stream: str) -> list[str]:
    """The partition streams of `super_stream`, index order; `SourceError` when it has none."""
    return asyncio.run(_partitions(config, super_stream))


async def _partitions(config: RabbitConfig, super_stream: str) -> list[str]:
    reader = StreamReader(config, [])
    consumer = _consumer(config)
    try:
        await reader._bounded(consumer.start(), "connecting")  # noqa: SLF001
        found: list[str] = []
        while len(found) < MAX_PARTITIONS:
            name = partition_name(super_stream, len(found))
            if not await reader._exists(consumer, name):  # noqa: SLF001
                break
            found.append(name)
        if not found:
            raise SourceError(
                f"RabbitMQ at {config.host}:{config.stream_port} (vhost {config.vhost!r}) has "
                f"no super stream {super_stream!r}: no partition stream "
                f"{partition_name(super_stream, 0)!r} (partitions are found by name, "
                f"{super_stream}-0, {super_stream}-1, ...)")
        return found
    finally:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(consumer.close(), 5)
