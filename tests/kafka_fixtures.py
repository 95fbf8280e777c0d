"""Kafka fixtures: a real local broker (Tansu) per session, a fresh topic per test, producers.

Never a mock of kafka-python. Loaded for the whole suite by `conftest.py`. Note: no test folder
gets an `__init__.py`: `tests/kafka/` would then shadow the `kafka` package itself.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import pytest
from kafka import KafkaProducer

from eventlab.kafka.admin import admin_client, create_topic
from eventlab.kafka.broker import BrokerHandle, start_broker
from eventlab.kafka.config import KafkaConfig
from eventlab.kafka.producer import RawBatchWriter, RawRecord


def delete_topic(config: KafkaConfig, name: str) -> None:
    """Delete a topic on the test broker (EventLab itself never deletes a topic)."""
    with admin_client(config, f"deleting topic {name}") as client:
        client.delete_topics([name])


@pytest.fixture(scope="session")
def kafka_broker() -> Iterator[BrokerHandle]:
    """The real local broker on a free loopback port, for the whole session."""
    with start_broker() as broker:
        yield broker


@pytest.fixture(scope="session")
def kafka_config(kafka_broker: BrokerHandle) -> KafkaConfig:
    return kafka_broker.config(timeout_s=5.0)


@pytest.fixture
def topic_factory(kafka_config: KafkaConfig,
                  request: pytest.FixtureRequest) -> Callable[..., str]:
    """make(partitions=1) -> a new topic, unique to this test."""
    stem = re.sub(r"[^a-zA-Z0-9._-]", "-", request.node.name)[:80]

    def make(partitions: int = 1, config: KafkaConfig | None = None) -> str:
        name = f"{stem}-{uuid.uuid4().hex[:8]}"
        create_topic(config or kafka_config, name, partitions=partitions)
        return name

    return make


@pytest.fixture
def new_topic(topic_factory: Callable[..., str]) -> str:
    """A new topic with 3 partitions."""
    return topic_factory(3)


@pytest.fixture
def producer(kafka_config: KafkaConfig) -> Iterator[Callable[..., KafkaProducer]]:
    """make(**kwargs) -> a KafkaProducer on the session broker; all are closed afterwards."""
    made: list[KafkaProducer] = []

    def make(config: KafkaConfig | None = None, **kwargs: Any) -> KafkaProducer:
        kwargs.setdefault("acks", "all")
        p = KafkaProducer(bootstrap_servers=(config or kafka_config).bootstrap, **kwargs)
        made.append(p)
        return p

    yield make
    for p in made:
        p.close(timeout=5)


@pytest.fixture
def raw_producer(kafka_config: KafkaConfig) -> Iterator[Callable[..., int]]:
    """send(topic, partition, records) writes ONE record batch; returns its base offset.

    For what KafkaProducer will not send: null header values, and a known multi-record batch.
    Records are (key, value, headers, timestamp_ms or None).
    """
    writers: dict[str, RawBatchWriter] = {}

    def send(topic: str, partition: int, records: Sequence[RawRecord],
             config: KafkaConfig | None = None) -> int:
        config = config or kafka_config
        if config.bootstrap not in writers:
            writers[config.bootstrap] = RawBatchWriter(config)
        return writers[config.bootstrap].send(topic, partition, records)

    yield send
    for writer in writers.values():
        writer.close()
