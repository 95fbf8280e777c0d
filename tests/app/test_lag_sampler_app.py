"""The app's background lag sampler: started once per process by the app's frame, it samples
the configured cluster while another page (Explore, not Consumers) is open, and not in
read-only mode."""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import pytest
from apptest_support import open_page

from eventlab.kafka.broker import BrokerHandle
from eventlab.kafka.config import KafkaConfig
from eventlab.kafka.group_commit import commit_group_offsets
from eventlab.lag.background import BackgroundSampler
from eventlab.store.eventstore import EventStore

start_page = partial(open_page, None, timeout=30)
"""The app's frame on its start page (Explore): `switch_page` in AppTest would run a page file
without the frame."""


def _mine(db: Path) -> list[BackgroundSampler]:
    return [s for s in BackgroundSampler.running() if str(s.store.path) == str(db)]


def test_one_sampler_per_process_writes_with_no_consumers_page(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kafka_broker: BrokerHandle,
        kafka_config: KafkaConfig, topic_factory: Callable, producer: Callable) -> None:
    db = tmp_path / "bg.duckdb"
    monkeypatch.setenv("EVENTLAB_DB", str(db))
    monkeypatch.setenv("EVENTLAB_KAFKA_BOOTSTRAP", kafka_broker.bootstrap)
    monkeypatch.setenv("EVENTLAB_LAG_SAMPLE_S", "0.3")
    monkeypatch.delenv("EVENTLAB_READ_ONLY", raising=False)
    topic = topic_factory(1)
    producer().send(topic, b"x", partition=0).get(10)
    group = f"bg-app-{topic}"
    commit_group_offsets(kafka_config, group, topic, {0: 0})
    at = start_page()
    assert not at.exception, at.exception
    start_page()  # a second session: still one sampler
    (sampler,) = _mine(db)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and sampler.status().written < 2:
        time.sleep(0.2)
    assert sampler.status().written >= 2, sampler.status()
    BackgroundSampler.stop_all()
    with sampler.store.reading() as cur:  # the app's own store (still open in this process)
        n = cur.execute("SELECT count(*) FROM lag_samples WHERE group_id = ?",
                        [group]).fetchall()[0][0]
    assert n >= 2


def test_no_sampler_in_read_only_mode(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                      kafka_broker: BrokerHandle) -> None:
    db = tmp_path / "ro.duckdb"
    EventStore(db).close()
    monkeypatch.setenv("EVENTLAB_DB", str(db))
    monkeypatch.setenv("EVENTLAB_KAFKA_BOOTSTRAP", kafka_broker.bootstrap)
    monkeypatch.setenv("EVENTLAB_READ_ONLY", "1")
    at = start_page()
    assert not at.exception, at.exception
    assert _mine(db) == []
