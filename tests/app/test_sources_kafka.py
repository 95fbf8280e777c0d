"""AppTest of the Sources page against the real local broker: list, load, follow, cancel, faults.

Helpers are repeated from tests/test_sources_app.py on purpose: this folder has no package
(see conftest.py), so it cannot import from there.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import orjson
import pandas as pd
import pytest
from apptest_support import open_page, texts, wait_for
from markdown_text import broker_down_said
from repo_paths import APP
from streamlit.testing.v1 import AppTest

from eventlab.kafka.broker import BrokerHandle, free_port, start_broker
from eventlab.store.eventstore import EventStore

PAGE = "pages/sources_page.py"


@pytest.fixture()
def page_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
             kafka_broker: BrokerHandle) -> Path:
    path = tmp_path / "sources.duckdb"
    monkeypatch.setenv("EVENTLAB_DB", str(path))
    monkeypatch.setenv("EVENTLAB_KAFKA_BOOTSTRAP", kafka_broker.bootstrap)
    monkeypatch.setenv("EVENTLAB_KAFKA_TIMEOUT_S", "5")
    monkeypatch.delenv("EVENTLAB_READ_ONLY", raising=False)
    return path


def doc(i: int, entity: str) -> bytes:
    return orjson.dumps({"id": f"ev-{i}", "type": "OrderNoted", "aggregateType": "order",
                         "aggregateId": entity, "timestamp": f"2026-11-01T10:00:{i % 60:02d}Z",
                         "data": {"n": i}})


def produce(make_producer: Callable, topic: str, first: int, count: int) -> dict[int, int]:
    """Send records one per request (docs/kafka.md, quirk 2); records per partition."""
    p = make_producer()
    per: dict[int, int] = {}
    for i in range(first, first + count):
        entity = f"order-{i % 7}"
        meta = p.send(topic, key=entity.encode(), value=doc(i, entity)).get(timeout=10)
        per[meta.partition] = per.get(meta.partition, 0) + 1
    return per


sources_page = partial(open_page, PAGE, timeout=30)


def connect(at: AppTest, bootstrap: str | None = None) -> AppTest:
    if bootstrap:
        at.text_input(key="k_bootstrap").input(bootstrap)
    return at.button(key="k_connect").click().run()


def table_with(at: AppTest, column: str) -> pd.DataFrame | None:
    """The first table showing `column` (plain st.dataframe elements carry no key)."""
    return next((d.value for d in at.dataframe if column in d.value.columns), None)


def tail_rows(at: AppTest) -> int:
    table = table_with(at, "ingested_at")
    return -1 if table is None else len(table)


def topic_row(at: AppTest, topic: str) -> dict:
    table = table_with(at, "end offsets")
    assert table is not None
    return table[table["topic"] == topic].iloc[0].to_dict()


def stored(db: Path) -> int:
    with EventStore(db) as store:
        return store.stats().events


def test_topics_listed_then_loaded_until_the_end(page_env: Path, topic_factory: Callable,
                                                 producer: Callable) -> None:
    topic = topic_factory(3)
    per = produce(producer, topic, 0, 30)
    at = connect(sources_page())
    assert not at.exception and not at.error
    row = topic_row(at, topic)
    assert row["partitions"] == 3 and row["records"] == 30
    assert row["end offsets"] == " · ".join(f"p{p}={per.get(p, 0)}" for p in range(3))
    assert row["EventLab stored up to"] == "not loaded"
    at.multiselect(key="k_topics").select(topic).run()
    at.button(key="k_go").click().run()
    assert not at.exception and not at.error
    at = wait_for(at, lambda a: any("30 stored" in s.value for s in a.success))
    assert stored(page_env) == 30
    row = topic_row(at, topic)
    assert row["behind"] == 0
    assert row["EventLab stored up to"] == row["end offsets"]
    # More records, then resume: only the new ones are read.
    produce(producer, topic, 30, 4)
    at = connect(at)
    assert topic_row(at, topic)["behind"] == 4
    at.radio(key="k_start").set_value("resume").run()
    at.button(key="k_go").click().run()
    at = wait_for(at, lambda a: any("4 records read" in s.value for s in a.success))
    assert any("resuming from the stored positions" in m.value for m in at.markdown)
    assert stored(page_env) == 34 and topic_row(at, topic)["behind"] == 0


def test_follow_job_tails_live_and_cancels(page_env: Path, topic_factory: Callable,
                                           producer: Callable) -> None:
    topic = topic_factory(1)
    produce(producer, topic, 0, 5)
    at = connect(sources_page())
    other = connect(sources_page())  # a second tab, ready to start the same read
    for session in (at, other):
        session.multiselect(key="k_topics").select(topic).run()
        session.radio(key="k_stop").set_value("follow (until cancelled)").run()
    at.button(key="k_go").click().run()
    assert not at.exception and not at.error
    at = wait_for(at, lambda a: tail_rows(a) == 5)
    other.button(key="k_go").click().run()  # clicked before it saw the running job
    assert not other.exception
    assert any("Already being read" in w.value for w in other.warning)
    assert not any("job 2" in m.value for m in other.markdown)
    assert sum("-badge[running]" in m.value for m in other.markdown) == 1
    produce(producer, topic, 5, 3)
    at = wait_for(at, lambda a: tail_rows(a) == 8)
    newest = table_with(at, "ingested_at")
    assert newest["offset"].iloc[0] == 7 and set(newest["topic"]) == {topic}
    # The same topic cannot be started twice while it is followed.
    assert at.button(key="k_go").disabled
    assert any("Already being read" in w.value for w in at.warning)
    # Explore's header follows along.
    explore = AppTest.from_file(APP, default_timeout=30).run()
    assert not explore.exception
    assert {m.label: m.value for m in explore.metric}["Events"] == "8"
    cancel = [b for b in at.button if (b.key or "").startswith("cancel_")]
    assert len(cancel) == 1
    cancel[0].click().run()
    at = wait_for(at, lambda a: any("Cancelled" in w.value for w in a.warning))
    assert tail_rows(at) == -1
    assert stored(page_env) == 8


def test_offset_out_of_range_is_said_as_the_reader_says_it(
        page_env: Path, topic_factory: Callable, producer: Callable) -> None:
    topic = topic_factory(1)
    produce(producer, topic, 0, 3)
    at = connect(sources_page())
    at.multiselect(key="k_topics").select(topic).run()
    at.radio(key="k_start").set_value("offsets per partition").run()
    at.text_input(key="k_start_offsets").input("0:50").run()
    at.button(key="k_go").click().run()
    at = wait_for(at, lambda a: bool(a.error))
    message = texts(at.error)[0]
    assert f"topic {topic} partition 0: requested offset 50 is past the end" in message
    assert stored(page_env) == 0


def test_unreachable_or_dead_broker_is_a_clear_error(page_env: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("EVENTLAB_KAFKA_TIMEOUT_S")  # the default timeout must be under 10 s
    dead = f"127.0.0.1:{free_port()}"
    at = sources_page()
    began = time.monotonic()
    at = connect(at, dead)
    assert time.monotonic() - began < 10
    assert any(dead in e and broker_down_said(e) for e in texts(at.error))
    monkeypatch.setenv("EVENTLAB_KAFKA_TIMEOUT_S", "3")
    with start_broker() as broker:
        from eventlab.kafka.admin import create_topic
        create_topic(broker.config(), "gone-soon", partitions=1)
        at = connect(sources_page(), broker.bootstrap)
        assert topic_row(at, "gone-soon")["partitions"] == 1
        at.multiselect(key="k_topics").select("gone-soon").run()
    at.button(key="k_go").click().run()  # the broker is stopped now
    began = time.monotonic()
    at = wait_for(at, lambda a: bool(a.error))
    assert time.monotonic() - began < 10
    message = texts(at.error)[0]
    assert broker.bootstrap in message
    assert "check that the broker runs" in message or "nothing listens" in message
    at.switch_page("pages/explore_page.py").run()
    assert not at.exception


def test_topic_list_shows_each_groups_lag(page_env: Path, topic_factory: Callable,
                                          producer: Callable, kafka_config) -> None:
    from kafka import KafkaConsumer, OffsetAndMetadata, TopicPartition

    topic = topic_factory(2)
    per = produce(producer, topic, 0, 20)
    c = KafkaConsumer(**kafka_config.client_kwargs(), group_id="billing",
                      enable_auto_commit=False)  # a test-only client: EventLab never commits
    try:
        c.commit({TopicPartition(topic, 0): OffsetAndMetadata(per[0] - 3, "", -1)})
    finally:
        c.close(autocommit=False)
    at = connect(sources_page())
    assert not at.exception
    # Partition 0 is 3 behind; partition 1 was never committed: said so, not counted as 0.
    assert topic_row(at, topic)["consumer lag"] == "3 (billing 3, billing: no commit on 1)"
    widths = {k: c.get("width") for d in at.dataframe for k, c in
              json.loads(d.proto.columns or "{}").items()}  # issue 18, 3.10: read whole
    assert (widths.get("EventLab stored up to"), widths.get("consumer lag")) == (
        "medium", "large"), widths
