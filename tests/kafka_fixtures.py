"""Kafka fixtures: a real local broker (Tansu) per session, a fresh topic per test, producers.

Never a mock of kafka-python. Loaded for the whole suite by `conftest.py`. Note: no test folder
gets an `__init__.py`: `tests/kafka/` would then shadow the `kafka` package itself.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import kafka.errors as kerr
import pytest
from kafka import KafkaAdminClient, KafkaProducer
from kafka.protocol.producer import ProduceRequest
from kafka.record.default_records import DefaultRecordBatchBuilder

from eventlab.kafka.admin import create_topic
from eventlab.kafka.broker import BrokerHandle, start_broker
from eventlab.kafka.config import KafkaConfig

RawRecord = tuple[bytes | None, bytes | None, list[tuple[str, bytes | None]], int | None]


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
    clients: dict[str, KafkaAdminClient] = {}

    def send(topic: str, partition: int, records: Sequence[RawRecord],
             config: KafkaConfig | None = None) -> int:
        bootstrap = (config or kafka_config).bootstrap
        if bootstrap not in clients:
            clients[bootstrap] = KafkaAdminClient(bootstrap_servers=bootstrap)
        client = clients[bootstrap]
        builder = DefaultRecordBatchBuilder(
            magic=2, compression_type=0, is_transactional=False, producer_id=-1,
            producer_epoch=-1, base_sequence=-1, batch_size=1 << 30)
        for i, (key, value, headers, ts) in enumerate(records):
            builder.append(i, timestamp=ts, key=key, value=value, headers=headers)
        meta = client.describe_topics([topic])[0]
        leader = next(p["leader_id"] for p in meta["partitions"]
                      if p["partition_index"] == partition)
        topic_data = ProduceRequest.TopicProduceData
        request = ProduceRequest(
            transactional_id=None, acks=-1, timeout_ms=5000, max_version=9,
            topic_data=[topic_data(name=topic, partition_data=[
                topic_data.PartitionProduceData(index=partition, records=bytes(builder.build()))
            ])])

        async def _send() -> Any:
            return await client._manager.send(request, node_id=leader)

        response = client._manager.run(_send)
        result = response.responses[0].partition_responses[0]
        if result.error_code:
            raise kerr.for_code(result.error_code)()
        return int(result.base_offset)

    yield send
    for client in clients.values():
        client.close()
