"""AppTest of the peek panel on a tiny page with the real broker: newest and offsets, nothing
stored, "Load from here" runs an ingest job from the peeked positions, read-only mode."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import orjson
from streamlit.testing.v1 import AppTest

from eventlab.jobs import JobManager
from eventlab.kafka.config import KafkaConfig
from eventlab.store import db
from eventlab.store.eventstore import EventStore

T0_MS = int(datetime(2026, 11, 1, 10, 0, tzinfo=UTC).timestamp() * 1000)


def page(config, manager, store, read_only) -> None:  # a script body: no annotations
    from datetime import UTC, datetime

    from eventlab.kafka.admin import list_topics
    from eventlab.ui.peek_widgets import peek_panel
    from eventlab.ui.sources_widgets import Connected

    peek_panel(Connected(config, list_topics(config), datetime.now(UTC)), manager, store,
               read_only=read_only)


def fill(make_producer: Callable, topic: str, count: int) -> None:
    p = make_producer()
    for i in range(count):
        value = orjson.dumps({"id": f"ev-{i}", "type": "OrderNoted", "aggregateId": "order-1",
                              "timestamp": f"2026-11-01T10:00:{i:02d}Z", "data": {"n": i}})
        p.send(topic, key=b"order-1", value=value, timestamp_ms=T0_MS + i).get(timeout=10)


def events(store: EventStore) -> list[tuple]:
    with store.reading() as cur:
        return db.rows(cur, 'SELECT "offset", event_id FROM events ORDER BY 1')


def test_peek_then_load_from_here(kafka_config: KafkaConfig, topic_factory: Callable,
                                  producer: Callable, manager: JobManager,
                                  tmp_path: Path) -> None:
    topic = topic_factory(1)
    fill(producer, topic, 10)
    with EventStore(tmp_path / "p.duckdb") as store:
        at = AppTest.from_function(page, args=(kafka_config, manager, store, False),
                                   default_timeout=30).run()
        assert not at.exception
        at.selectbox(key="pk_topic").set_value(topic)
        at.number_input(key="pk_max").set_value(3)
        at.button(key="pk_go").click().run()
        assert not at.exception
        table = at.dataframe[0].value
        assert table["offset"].tolist() == [9, 8, 7]
        assert table["entity_id"].tolist() == ["order-1"] * 3
        assert table["decoded"].tolist() == ["decoded"] * 3
        assert "3 record(s) of **" in at.caption[0].value and "Nothing was stored" in \
            at.caption[0].value
        assert events(store) == []

        at.radio(key="pk_start").set_value("offsets per partition").run()
        at.text_input(key="pk_offsets").set_value("0:2").run()
        at.number_input(key="pk_max").set_value(2)
        at.button(key="pk_go").click().run()
        assert at.dataframe[0].value["offset"].tolist() == [2, 3]
        assert "partition 0 from offset 2" in at.caption[1].value
        assert events(store) == []

        at.button(key="pk_load").click().run()
        assert not at.exception, at.exception
        job = manager.wait(at.session_state["pk_started"], timeout=30)
        assert job.status == "done", job.error
        assert events(store) == [(o, f"ev-{o}") for o in range(2, 10)]


def test_read_only_disables_loading(kafka_config: KafkaConfig, topic_factory: Callable,
                                    producer: Callable, manager: JobManager,
                                    tmp_path: Path) -> None:
    topic = topic_factory(1)
    fill(producer, topic, 2)
    with EventStore(tmp_path / "p.duckdb") as store:
        at = AppTest.from_function(page, args=(kafka_config, manager, store, True),
                                   default_timeout=30).run()
        at.selectbox(key="pk_topic").set_value(topic)
        at.button(key="pk_go").click().run()
        assert at.dataframe[0].value["offset"].tolist() == [1, 0]
        assert at.button(key="pk_load").disabled
        at.radio(key="pk_start").set_value("offsets per partition").run()
        at.text_input(key="pk_offsets").set_value("0:99").run()
        at.button(key="pk_go").click().run()
        assert not at.exception and "past the end" in at.error[0].value
