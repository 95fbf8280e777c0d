"""AppTest of the Consumers page: a real group with lag and a partition it never committed,
where it stands (the stored event and its links), samples written while open, and a broker
that is down (a clear error, the app goes on)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

import pytest
from apptest_support import open_page, texts
from event_rows import add_events, event
from kafka import KafkaConsumer, OffsetAndMetadata, TopicPartition
from markdown_text import broker_down_said
from streamlit.testing.v1 import AppTest

from eventlab.kafka.broker import BrokerHandle, free_port
from eventlab.kafka.config import KafkaConfig
from eventlab.store.eventstore import EventStore

PAGE = "pages/consumers_page.py"


@pytest.fixture()
def page_db(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    path = tmp_path / "consumers.duckdb"
    monkeypatch.setenv("EVENTLAB_DB", str(path))
    monkeypatch.setenv("EVENTLAB_LAG_SAMPLE_S", "0.1")
    monkeypatch.delenv("EVENTLAB_READ_ONLY", raising=False)
    return path


consumers_page = partial(open_page, PAGE, timeout=30)


def frame(at: AppTest, column: str):  # noqa: ANN201 - a pandas DataFrame
    """The first table with this column (a non-selectable dataframe has no key here)."""
    return next(f.value for f in at.dataframe if column in f.value.columns)


def test_a_group_with_lag_and_where_it_stands(page_db: Path, monkeypatch: pytest.MonkeyPatch,
                                             kafka_broker: BrokerHandle,
                                             kafka_config: KafkaConfig,
                                             topic_factory: Callable,
                                             producer: Callable) -> None:
    monkeypatch.setenv("EVENTLAB_KAFKA_BOOTSTRAP", kafka_broker.bootstrap)
    topic = topic_factory(2)
    base = int(time.time() * 1000) - 60_000
    p = producer()
    for i in range(4):  # one per request (docs/kafka.md, quirk 2)
        p.send(topic, f"v{i}".encode(), partition=0, timestamp_ms=base + i * 1000).get(10)
    group = f"app-{topic}"
    c = KafkaConsumer(**kafka_config.client_kwargs(), group_id=group, enable_auto_commit=False)
    c.commit({TopicPartition(topic, 0): OffsetAndMetadata(1, "", -1)})
    c.close(autocommit=False)
    at_1 = datetime.fromtimestamp((base + 1000) / 1000, UTC)
    with EventStore(page_db) as store:
        add_events(store, [event(event_id="ev-1", entity_id="order-42", event_type="OrderPaid",
                                 seq=2, ts=at_1, source="kafka", topic=topic, partition=0,
                                 offset=1, kafka_ts=at_1, payload={"paid": True})])

    at = consumers_page()
    assert not at.exception, at.exception
    assert at.text_input(key="c_bootstrap").value == kafka_broker.bootstrap
    groups = frame(at, "no commit")
    row = groups[groups["group"] == group].iloc[0]
    assert (row["lag (records)"], row["no commit"]) == (3, 1)
    at.selectbox(key="c_group").select(group).run()
    assert not at.exception, at.exception
    parts = frame(at, "partition")
    assert list(parts["committed"]) == ["1", "no commit"]
    widths = {k: c.get("width") for d in at.dataframe for k, c in
              json.loads(d.proto.columns or "{}").items()}  # sentences read whole
    assert (widths.get("ETA"), widths.get("why")) == ("medium", "large"), widths
    assert list(parts["lag"].fillna(-1)) == [3, -1]
    assert parts["from"].iloc[0] == "store" and parts["lag seconds"].iloc[0].endswith(" s")
    lag_text = parts["lag seconds"].iloc[0]  # about 59 s: "59.x s"
    secs = float(lag_text.removesuffix(" s"))
    assert abs(secs - (time.time() - (base + 1000) / 1000)) < 5
    text = " ".join(texts(at.markdown))
    assert "OrderPaid" in text and "order-42" in text
    links = {link.proto.label: link.proto for link in at.get("page_link")}
    assert set(links) == {"Open in Explore", "Open in Time travel at this event"}
    copy = links["Open in Time travel at this event"].query_string  # names the copy
    assert "entity_id=order-42" in copy and "seq=2" in copy and "offset=" in copy
    # Samples were written while the page was open; the charts show them.
    time.sleep(0.2)
    at.run()
    assert not at.exception
    with EventStore(page_db) as store, store.reading() as cur:  # the app's instance
        n = cur.execute("SELECT count(*) FROM lag_samples WHERE group_id = ?",
                        [group]).fetchall()[0][0]
    assert n >= 4  # 2 partitions x at least 2 samples
    assert at.get("plotly_chart")


def test_broker_down_is_a_clear_error_and_the_app_goes_on(
        page_db: Path, monkeypatch: pytest.MonkeyPatch, kafka_broker: BrokerHandle) -> None:
    bootstrap = f"127.0.0.1:{free_port()}"
    monkeypatch.setenv("EVENTLAB_KAFKA_BOOTSTRAP", bootstrap)
    monkeypatch.setenv("EVENTLAB_KAFKA_TIMEOUT_S", "30")
    began = time.monotonic()
    at = consumers_page()
    assert time.monotonic() - began < 5  # the port refuses at once: no 30 s wait
    assert not at.exception
    errors = texts(at.error)
    assert any(bootstrap in e and broker_down_said(e) for e in errors), errors
    began = time.monotonic()
    at.run()  # a rerun shows the error again without waiting for the broker
    assert time.monotonic() - began < 1.5 and any(bootstrap in e for e in texts(at.error))
    at.button(key="c_retry").click().run()  # Try again: tries, and says it again
    assert not at.exception and any(bootstrap in e for e in texts(at.error))
    at.text_input(key="c_bootstrap").input(kafka_broker.bootstrap).run()  # the right address
    assert not at.exception and not at.error
    at.switch_page("pages/sql_page.py").run()
    assert not at.exception and at.text_area(key="sql")


def test_the_caption_names_where_the_address_came_from(
        page_db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("EVENTLAB_KAFKA_BOOTSTRAP", raising=False)
    at = consumers_page()
    (cluster,) = [c for c in texts(at.caption) if c.startswith("Cluster ")]
    assert "built-in default; set EVENTLAB_KAFKA_BOOTSTRAP" in cluster, cluster
    monkeypatch.setenv("EVENTLAB_KAFKA_BOOTSTRAP", f"127.0.0.1:{free_port()}")
    at = consumers_page()
    (cluster,) = [c for c in texts(at.caption) if c.startswith("Cluster ")]
    assert "(default from EVENTLAB_KAFKA_BOOTSTRAP)" in cluster, cluster


def test_read_only_mode_shows_lag_but_writes_no_sample(
        page_db: Path, monkeypatch: pytest.MonkeyPatch, kafka_broker: BrokerHandle,
        kafka_config: KafkaConfig, topic_factory: Callable, producer: Callable) -> None:
    monkeypatch.setenv("EVENTLAB_KAFKA_BOOTSTRAP", kafka_broker.bootstrap)
    monkeypatch.setenv("EVENTLAB_READ_ONLY", "1")
    topic = topic_factory(1)
    producer().send(topic, b"x", partition=0).get(10)
    group = f"ro-{topic}"
    c = KafkaConsumer(**kafka_config.client_kwargs(), group_id=group, enable_auto_commit=False)
    c.commit({TopicPartition(topic, 0): OffsetAndMetadata(0, "", -1)})
    c.close(autocommit=False)
    at = consumers_page()
    assert not at.exception, at.exception
    groups = frame(at, "no commit")
    assert groups[groups["group"] == group].iloc[0]["lag (records)"] == 1
    assert any("sampling is off in read-only mode" in c.value for c in at.caption)
    with EventStore(page_db) as store, store.reading() as cur:
        assert cur.execute("SELECT count(*) FROM lag_samples").fetchall()[0][0] == 0
