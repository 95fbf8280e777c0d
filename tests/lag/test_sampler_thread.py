"""The background lag sampler against the real local broker: with no page open (no Streamlit
at all) it writes samples of a group on its own pace, prunes history older than the
retention, and keeps running when the cluster stops answering."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable

import pytest
from kafka import KafkaConsumer, OffsetAndMetadata, TopicPartition

from eventlab.errors import EventLabError
from eventlab.kafka.config import KafkaConfig
from eventlab.lag import samples, settings
from eventlab.lag.background import BackgroundSampler
from eventlab.store import db
from eventlab.store.eventstore import EventStore


def _commit(config: KafkaConfig, group: str, topic: str, offset: int) -> None:
    c = KafkaConsumer(**config.client_kwargs(), group_id=group, enable_auto_commit=False)
    try:
        c.commit({TopicPartition(topic, 0): OffsetAndMetadata(offset, "", -1)})
    finally:
        c.close(autocommit=False)


def _count(store: EventStore, where: str, params: list) -> int:
    with store.reading() as cur:
        return int(db.scalar(cur, f"SELECT count(*) FROM lag_samples WHERE {where}", params))


def test_samples_with_no_page_open_and_prunes_old_history(
        kafka_config: KafkaConfig, topic_factory: Callable, producer: Callable,
        store: EventStore) -> None:
    topic = topic_factory(1)
    p = producer()
    for i in range(3):
        p.send(topic, f"v{i}".encode(), partition=0).get(timeout=10)
    group = f"bg-{topic}"
    _commit(kafka_config, group, topic, 1)
    old = time.time() - 9 * 86400  # older than the 7-day history: pruned at the next write
    samples.write(store, [{"sampled_at": old, "bootstrap": kafka_config.bootstrap,
                           "group_id": group, "topic": topic, "partition": 0, "committed": 0,
                           "end_offset": 3, "lag": 3, "lag_seconds": None,
                           "lag_seconds_estimated": False, "status": "OK"}])
    bg = BackgroundSampler(kafka_config, store, interval_s=0.5, retention_days=7).start()
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and _count(
                store, "group_id = ? AND lag = 2", [group]) < 2:
            time.sleep(0.2)
    finally:
        bg.stop(timeout=15)
    status = bg.status()
    assert not status.running and status.last_error is None, status
    assert _count(store, "group_id = ? AND lag = 2", [group]) >= 2  # two rounds, on its own
    assert status.written >= 2
    assert _count(store, "group_id = ? AND sampled_at < now() - INTERVAL 8 DAY", [group]) == 0


def test_a_cluster_that_does_not_answer_is_remembered_not_fatal(store: EventStore,
                                                               kafka_config: KafkaConfig) -> None:
    dead = dataclasses.replace(kafka_config, bootstrap="127.0.0.1:1", timeout_s=1.0)
    bg = BackgroundSampler(dead, store, interval_s=0.2, retention_days=7).start()
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and bg.status().rounds < 2:
            time.sleep(0.1)
        status = bg.status()
        assert status.running and status.rounds >= 2 and status.written == 0
        assert status.last_error and "127.0.0.1:1" in status.last_error
    finally:
        bg.stop(timeout=10)


@pytest.mark.parametrize(("raw", "value"), [("", 15.0), ("0", 0.0), ("2.5", 2.5)])
def test_interval_setting_defaults_to_15_and_0_is_off(raw: str, value: float) -> None:
    assert settings.sample_interval_s({"EVENTLAB_LAG_SAMPLE_S": raw}) == value


def test_interval_below_a_tenth_that_is_not_0_and_history_days_are_checked() -> None:
    with pytest.raises(EventLabError, match="0 \\(off\\)"):
        settings.sample_interval_s({"EVENTLAB_LAG_SAMPLE_S": "0.01"})
    assert settings.retention_days({"EVENTLAB_LAG_HISTORY_DAYS": "2"}) == 2.0
    assert settings.retention_days({}) == 7.0
    with pytest.raises(EventLabError):
        BackgroundSampler(KafkaConfig(), EventStore(":memory:"), 0, 7)
