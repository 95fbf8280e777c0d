"""A named stream consumer's lag equals what it stored: committed = stored + 1, lag = end -
committed, lag in seconds from the message at the committed offset; samples give verdicts."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from pathlib import Path

from rstream import Consumer

from eventlab.lag import NO_COMMIT
from eventlab.lag.rabbitmq_lag import sample_key, take_stream_snapshot
from eventlab.lag.samples import write
from eventlab.rabbitmq.config import RabbitConfig
from eventlab.store.eventstore import EventStore


def _store_offset(config: RabbitConfig, stream: str, name: str, offset: int) -> None:
    async def run() -> None:
        consumer = Consumer(config.host, config.stream_port, username=config.user,
                            password=config.password.reveal(), vhost=config.vhost)
        await consumer.start()
        await consumer.store_offset(stream, name, offset)
        await consumer.close()

    asyncio.run(run())


def test_lag_equals_what_the_consumer_stored(
        rabbit_config: RabbitConfig, stream_factory: Callable[..., str],
        tmp_path: Path) -> None:
    stream = stream_factory([json.dumps({"i": i}).encode() for i in range(30)])
    _store_offset(rabbit_config, stream, "billing", 11)
    _store_offset(rabbit_config, stream, "shipping", 29)
    with EventStore(tmp_path / "lag.duckdb") as store:
        first = take_stream_snapshot(rabbit_config, [(stream, "billing"), (stream, "shipping"),
                                                     (stream, "never")], store)
        billing = first.group("billing").partitions[0]
        assert (billing.committed, billing.end, billing.lag) == (12, 30, 18)
        assert billing.lag_seconds is not None and 0 <= billing.lag_seconds < 120
        assert billing.lag_seconds_source == "read"
        shipping = first.group("shipping").partitions[0]
        assert (shipping.committed, shipping.lag, shipping.lag_seconds) == (30, 0, 0.0)
        never = first.group("never").partitions[0]
        assert (never.committed, never.lag, never.status) == (None, None, NO_COMMIT)
        assert first.bootstrap == sample_key(rabbit_config)
        write(store, first.sample_rows())
        time.sleep(0.05)
        second = take_stream_snapshot(rabbit_config, [(stream, "billing")], store)
        assert len(second.group("billing").partitions[0].samples) == 2


def test_cli_lag_rabbitmq_prints_what_the_consumer_stored(
        rabbit_config: RabbitConfig, stream_factory: Callable[..., str],
        tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    stream = stream_factory([b'{"i": 1}'] * 10)
    _store_offset(rabbit_config, stream, "audit", 3)
    env = {**os.environ, "EVENTLAB_RABBITMQ_PORT": str(rabbit_config.port),
           "EVENTLAB_RABBITMQ_STREAM_PORT": str(rabbit_config.stream_port)}
    done = subprocess.run([sys.executable, "-m", "eventlab", "lag", "--rabbitmq", "--stream",
                           stream, "--consumer", "audit", "--json"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    [row] = json.loads(done.stdout)
    assert (row["group"], row["topic"], row["committed"], row["end"], row["lag"]) == (
        "audit", stream, 4, 10, 6)
