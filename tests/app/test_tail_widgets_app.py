"""AppTest of the live tail panel with the real broker: Start shows only records produced
after it, across partitions; the filters; Pause stops updates and Resume catches up; Load from
here runs an ingest job from the oldest record kept; read-only disables it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import orjson
from streamlit.testing.v1 import AppTest

from eventlab.jobs import JobManager
from eventlab.kafka.config import KafkaConfig
from eventlab.store import db
from eventlab.store.eventstore import EventStore


def page(config, manager, store, read_only) -> None:  # a script body: no annotations
    from datetime import UTC, datetime

    from eventlab.kafka.admin import list_topics
    from eventlab.ui.kafka_cluster import Connected
    from eventlab.ui.tail_widgets import tail_panel

    tail_panel(Connected(config, list_topics(config), datetime.now(UTC)), manager, store,
               read_only=read_only)


def sender(make_producer: Callable, topic: str) -> Callable[..., None]:
    p = make_producer()

    def send(i: int, etype: str = "OrderNoted") -> None:
        value = orjson.dumps({"id": f"ev-{i}", "type": etype, "aggregateId": f"order-{i}",
                              "timestamp": "2026-11-01T10:00:00Z", "data": {"n": i}})
        p.send(topic, key=f"order-{i}".encode(), value=value, partition=i % 2,
               headers=[("source", b"web" if i % 2 else b"app")],
               timestamp_ms=1_793_527_200_000 + i).get(timeout=10)
    return send


def shown(at: AppTest) -> list[str]:
    tables = [d for d in at.dataframe if "entity_id" in d.value.columns]
    return tables[0].value["entity_id"].tolist() if tables else []


def test_tail_pause_resume_filters_and_load(kafka_config: KafkaConfig, topic_factory: Callable,
                                            producer: Callable, manager: JobManager,
                                            tmp_path: Path) -> None:
    topic = topic_factory(2)
    send = sender(producer, topic)
    send(0)  # before Start: never shown
    with EventStore(tmp_path / "t.duckdb") as store:
        at = AppTest.from_function(page, args=(kafka_config, manager, store, False),
                                   default_timeout=30).run()
        assert not at.exception
        at.multiselect(key="tl_topics").set_value([topic]).run()
        at.button(key="tl_start").click().run()
        assert not at.exception, at.exception
        assert shown(at) == []
        assert at.button(key="tl_pause").label == "Pause"  # the run after the click shows it
        send(1)
        send(2, "OrderPlaced")
        at.run()
        assert shown(at) == ["order-2", "order-1"]
        assert "Following" in at.caption[0].value

        at.button(key="tl_pause").click().run()
        assert at.button(key="tl_resume") and "Paused" in at.caption[0].value
        send(3)
        at.run()
        assert shown(at) == ["order-2", "order-1"]
        assert "Paused" in at.caption[0].value
        at.button(key="tl_resume").click().run()
        assert shown(at) == ["order-3", "order-2", "order-1"]

        at.text_input(key="tl_types").set_value("OrderPlaced").run()
        send(4, "OrderPlaced")
        send(5)
        at.run()
        assert shown(at)[0] == "order-4" and "order-5" not in shown(at)
        at.text_input(key="tl_types").set_value("").run()
        at.text_input(key="tl_header").set_value("source=web").run()
        send(7)
        send(8)
        at.run()
        assert shown(at)[0] == "order-7" and "order-8" not in shown(at)
        at.text_input(key="tl_jpath").set_value("not a path").run()
        assert at.error and "JSON path" in at.error[0].value

        at.text_input(key="tl_jpath").set_value("").run()
        at.button(key="tl_load").click().run()
        assert not at.exception, at.exception
        job = manager.wait(at.session_state["tl_started"], timeout=30)
        assert job.status == "done", job.error
        with store.reading() as cur:
            ids = {r[0] for r in db.rows(cur, "SELECT event_id FROM events")}
        assert "ev-0" not in ids and {"ev-1", "ev-2", "ev-7", "ev-8"} <= ids


def test_read_only_disables_load(kafka_config: KafkaConfig, topic_factory: Callable,
                                 producer: Callable, manager: JobManager,
                                 tmp_path: Path) -> None:
    topic = topic_factory(2)
    with EventStore(tmp_path / "r.duckdb") as store:
        at = AppTest.from_function(page, args=(kafka_config, manager, store, True),
                                   default_timeout=30).run()
        at.multiselect(key="tl_topics").set_value([topic]).run()
        at.number_input(key="tl_back").set_value(5)
        sender(producer, topic)(1)
        at.button(key="tl_start").click().run()
        assert shown(at) == ["order-1"]
        assert at.button(key="tl_load").disabled
