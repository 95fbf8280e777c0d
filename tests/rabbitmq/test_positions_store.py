"""Stored positions name their broker; a store made before that keeps working."""

from __future__ import annotations

from pathlib import Path

from eventlab.ingest.offsets import save_positions, stored_positions
from eventlab.store import db
from eventlab.store.eventstore import EventStore

_OLD_OFFSETS = """
    CREATE TABLE ingest_offsets (
        topic VARCHAR NOT NULL, "partition" INTEGER NOT NULL, next_offset BIGINT NOT NULL,
        updated_at TIMESTAMPTZ NOT NULL DEFAULT now(), PRIMARY KEY (topic, "partition"))
"""


def test_old_store_keeps_its_kafka_positions_and_the_next_ingest_adopts_them(
        tmp_path: Path) -> None:
    path = tmp_path / "old.duckdb"
    con = db.connect(path)
    con.execute(_OLD_OFFSETS)
    con.execute("INSERT INTO ingest_offsets (topic, \"partition\", next_offset) "
                "VALUES ('orders', 0, 42), ('orders', 1, 7)")
    con.close()
    with EventStore(path) as store:
        with store.reading() as cur:
            assert stored_positions(cur) == {("orders", 0): 42, ("orders", 1): 7}
            assert stored_positions(cur, broker="127.0.0.1:9092") == {
                ("orders", 0): 42, ("orders", 1): 7}
        with store.transaction() as cur:
            save_positions(cur, {("orders", 0): 50}, broker="127.0.0.1:9092")
        with store.reading() as cur:
            rows = db.rows(cur, 'SELECT broker, topic, "partition", next_offset FROM '
                                "ingest_offsets ORDER BY ALL")
    assert rows == [("", "orders", 1, 7), ("127.0.0.1:9092", "orders", 0, 50)]


def test_two_brokers_with_a_same_named_stream_never_mix(tmp_path: Path) -> None:
    with EventStore(tmp_path / "s.duckdb") as store:
        with store.transaction() as cur:
            save_positions(cur, {("orders", 0): 10}, source="rabbitmq", broker="a:5552/")
            save_positions(cur, {("orders", 0): 3}, source="rabbitmq", broker="b:5552/")
            save_positions(cur, {("orders", 0): 99}, broker="k:9092")
        with store.reading() as cur:
            assert stored_positions(cur, source="rabbitmq", broker="a:5552/") == {
                ("orders", 0): 10}
            assert stored_positions(cur, source="rabbitmq", broker="b:5552/") == {
                ("orders", 0): 3}
            assert stored_positions(cur, source="rabbitmq", broker="c:5552/") == {}
            assert stored_positions(cur, broker="k:9092") == {("orders", 0): 99}
