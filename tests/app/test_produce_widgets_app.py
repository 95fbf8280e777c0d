"""AppTest of the Produce tab with the real broker: a prefilled corrected copy, the dry run's
bytes, the typed-back topic, Send writes exactly the bytes shown; a bad JSON value is said;
read-only disables the buttons."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import orjson
from markdown_text import shown
from streamlit.testing.v1 import AppTest

from eventlab.ingest.kafka_ingest import ingest_kafka
from eventlab.kafka.config import KafkaConfig
from eventlab.kafka.reader import KafkaRawReader
from eventlab.store import db
from eventlab.store.eventstore import EventStore


def page(config, store, read_only) -> None:  # a script body: no annotations
    from datetime import UTC, datetime

    from eventlab.kafka.admin import list_topics
    from eventlab.ui.kafka_cluster import Connected
    from eventlab.ui.produce_widgets import produce_panel

    produce_panel(Connected(config, list_topics(config), datetime.now(UTC)), store,
                  read_only=read_only)


def records(config: KafkaConfig, topic: str) -> list[dict]:
    with KafkaRawReader(config, [topic], start="earliest", until="end") as reader:
        out = []
        while (batch := reader.next_batch()) is not None:
            out += batch.to_pylist()
    return out


def test_copy_dry_run_confirm_and_send(kafka_config: KafkaConfig, topic_factory: Callable,
                                       producer: Callable, tmp_path: Path) -> None:
    topic = topic_factory(1)
    value = orjson.dumps({"id": "ev-1", "type": "OrderPlaced", "aggregateId": "order-1",
                          "timestamp": "2026-11-01T10:00:00Z", "data": {"total": 5}})
    producer().send(topic, key=b"order-1", value=value, headers=[("trace", b"t1")]).get(10)
    with EventStore(tmp_path / "p.duckdb") as store:
        ingest_kafka(store, kafka_config, [topic])
        with store.reading() as cur:
            (event_id,) = [r[0] for r in db.rows(cur, "SELECT event_id FROM events")]
        at = AppTest.from_function(page, args=(kafka_config, store, False),
                                   default_timeout=30).run()
        assert not at.exception, at.exception
        at.text_input(key="pr_from").set_value(event_id).run()
        at.button(key="pr_copy").click().run()
        assert at.selectbox(key="pr_topic").value == topic
        assert at.text_area(key="pr_value").value == value.decode()
        assert at.text_area(key="pr_headers").value == "trace=t1"

        at.text_area(key="pr_value").set_value("{broken").run()
        at.button(key="pr_dry").click().run()
        assert at.error and "not valid JSON" in at.error[0].value

        fixed = '{"id": "ev-1b", "type": "OrderPlaced", "aggregateId": "order-1", "data": {}}'
        at.text_area(key="pr_value").set_value(fixed).run()
        at.button(key="pr_dry").click().run()
        assert not at.exception and not at.error
        shown = at.dataframe[0].value
        assert shown.loc[shown["part"] == "value", "text"].item() == fixed
        value_hex = shown.loc[shown["part"] == "value", "hex"].item()
        assert len(records(kafka_config, topic)) == 1  # the dry run sent nothing

        at.button(key="pr_send").click().run()
        assert at.error and "typed back" in at.error[0].value
        at.text_input(key="pr_confirm").set_value(topic).run()
        at.button(key="pr_send").click().run()
        assert not at.error and at.success, at.error
        sent = records(kafka_config, topic)[-1]
        assert sent["value"] == bytes.fromhex(value_hex) and sent["key"] == b"order-1"
        assert [(h["key"], h["value"]) for h in sent["headers"]][0] == ("trace", b"t1")
        assert "offset 1" in at.success[0].value


def test_read_only_disables_produce(kafka_config: KafkaConfig, topic_factory: Callable,
                                    tmp_path: Path) -> None:
    topic_factory(1)
    with EventStore(tmp_path / "r.duckdb") as store:
        at = AppTest.from_function(page, args=(kafka_config, store, True),
                                   default_timeout=30).run()
        assert not at.exception
        assert at.button(key="pr_dry").disabled
        assert "Read-only" in at.info[0].value


def test_link_prefills_a_corrected_copy_and_an_unknown_id_is_said(
        kafka_config: KafkaConfig, topic_factory: Callable, producer: Callable,
        tmp_path: Path) -> None:
    from eventlab.ui import links

    topic = topic_factory(1)
    producer().send(topic, key=b"k\xff", value=b'{"id": "ev-9", "type": "T", '
                    b'"aggregateId": "a-1", "data": {}}').get(10)
    with EventStore(tmp_path / "l.duckdb") as store:
        ingest_kafka(store, kafka_config, [topic])
        with store.reading() as cur:
            (event_id,) = [r[0] for r in db.rows(cur, "SELECT event_id FROM events")]
        link = links.produce_copy(event_id)
        at = AppTest.from_function(page, args=(kafka_config, store, False),
                                   default_timeout=30)
        for name, value in link.query.items():
            at.query_params[name] = value
        at.run()
        assert not at.exception, at.exception
        assert at.selectbox(key="pr_topic").value == topic
        assert (at.text_input(key="pr_key").value, at.selectbox(key="pr_key_fmt").value) == (
            "6bff", "hex")  # not UTF-8: shown as hex
        at.text_input(key="pr_reason").set_value("teach").run()
        assert at.text_input(key="pr_reason").value == "teach"  # prefilled once, not again

        at = AppTest.from_function(page, args=(kafka_config, store, False),
                                   default_timeout=30)
        at.query_params[links.PRODUCE_FROM] = "no-such-id"
        at.run()
        assert at.error and "produce_from=no-such-id" in shown(at.error[0].value)
