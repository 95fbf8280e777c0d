"""Framed records decoded in the Kafka reader process (`decode_table(defer=True)` with the
schemas the store and the folder hold, then `complete` in the ingesting process) come out as
`decode_table` of the raw batch in the ingesting process alone: same columns, same counts,
same schemas saved."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from process_support import readers_die_with_their_ingest

from eventlab.ingest import framed
from eventlab.ingest.kafka_ingest import ingest_kafka
from eventlab.kafka import reader_proc
from eventlab.kafka.reader_proc import ReaderProcess
from eventlab.schemas import avro
from eventlab.schemas.catalog import SchemaCatalog
from eventlab.schemas.folder import FolderSource
from eventlab.schemas.model import SchemaText, SchemaUnusable
from eventlab.schemas.wire import frame
from eventlab.store import db
from eventlab.store.eventstore import EventStore

FLAT = {"type": "record", "name": "Flat", "fields": [
    {"name": "id", "type": "string"}, {"name": "n", "type": "long"},
    {"name": "note", "type": ["null", "string"], "default": None}]}
NESTED = {"type": "record", "name": "Nested", "fields": [
    {"name": "id", "type": "string"},
    {"name": "data", "type": {"type": "record", "name": "Data", "fields": [
        {"name": "tags", "type": {"type": "array", "items": "string"}}]}}]}
ONLY_PARENT = 3
"""A schema id the reader is not given (a registry's, in a real run)."""
UNKNOWN = 4
"""A schema id nobody has."""


def _folder(path: Path) -> Path:
    path.mkdir()
    (path / "1.avsc").write_text(json.dumps(FLAT))
    (path / "2.avsc").write_text(json.dumps(NESTED))
    (path / f"{ONLY_PARENT}.avsc").write_text(json.dumps(FLAT))
    (path / "5.avsc").write_text(json.dumps(
        {"type": "record", "name": "Broken", "fields": [{"name": "x", "type": "nope"}]}))
    (path / "6.avsc").write_text('"string"')
    return path


def _batch(seed: int, n: int = 600, *, sendable: bool = False) -> pa.Table:
    """Values and keys of every kind: each schema, unknown ids, broken frames, bodies that do
    not match, plain JSON, tombstones."""
    rng = np.random.default_rng(seed)
    flat, nested = avro.parse(SchemaText(1, "AVRO", json.dumps(FLAT))), \
        avro.parse(SchemaText(2, "AVRO", json.dumps(NESTED)))
    key_schema = avro.parse(SchemaText(6, "AVRO", '"string"'))
    values, keys = [], []
    for i in range(n):
        good = avro.encode(flat, {"id": f"e{i}", "n": i, "note": None if i % 3 else "x"})
        kind = int(rng.integers(0, 11))
        values.append([
            frame(1, good), frame(2, avro.encode(nested, {"id": f"e{i}",
                                                          "data": {"tags": ["a", str(i)]}})),
            frame(ONLY_PARENT, good), frame(UNKNOWN, good), frame(5, good),
            b"\x00\x00\x01", frame(1, good[:-2]), frame(1, good + b"\x01"),
            b"\x00\xff\xff\xff\xff" + good, f'{{"id": "j{i}"}}'.encode(), None][kind])
        k = int(rng.integers(0, 4))
        if sendable and values[-1] is None:
            k = 1  # a tombstone needs a key to be sent
        keys.append([None, frame(6, avro.encode(key_schema, f"order-{i % 7}")),
                     frame(ONLY_PARENT if i % 2 else UNKNOWN, good), b"plain"][k])
    return pa.table({"key": pa.array(keys, pa.binary()), "value": pa.array(values, pa.binary()),
                     "offset": pa.array(range(n), pa.int64())})


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_decoded_in_the_reader_then_completed_equals_decoded_here(tmp_path: Path,
                                                                  seed: int) -> None:
    folder = _folder(tmp_path / "schemas")
    raw = _batch(seed)
    alone = SchemaCatalog(folder=FolderSource(folder))
    want = framed.decode_table(raw, alone)
    parent = SchemaCatalog(folder=FolderSource(folder))
    given = {s.id: s for s in parent.known() if s.id != ONLY_PARENT}
    reader = SchemaCatalog(schemas={i: SchemaText.from_row(*json.loads(json.dumps(s.to_row())))
                                    for i, s in given.items()})
    sent = framed.decode_table(raw, reader, defer=True)
    assert 0 < sum(sent[framed.DEFERRED].to_pylist()) < raw.num_rows
    got = framed.complete(sent, parent)
    assert got.column_names == want.column_names
    for name in want.column_names:
        assert got[name].to_pylist() == want[name].to_pylist(), name
    assert parent.records == alone.records
    with db.connect(":memory:") as a, db.connect(":memory:") as b:
        for cur in (a, b):
            cur.execute("CREATE TABLE schemas (id INTEGER PRIMARY KEY, schema_type VARCHAR, "
                        "subject VARCHAR, version INTEGER, text VARCHAR, \"references\" "
                        "VARCHAR, source VARCHAR)")
        alone.save_pending(a)
        parent.save_pending(b)
        assert db.rows(a, "SELECT * FROM schemas ORDER BY id") == \
            db.rows(b, "SELECT * FROM schemas ORDER BY id")


def test_a_batch_without_framed_records_comes_back_as_it_was(tmp_path: Path) -> None:
    raw = pa.table({"key": pa.array([b"k", None], pa.binary()),
                    "value": pa.array([b'{"a": 1}', None], pa.binary())})
    reader = SchemaCatalog(folder=FolderSource(_folder(tmp_path / "schemas")))
    assert framed.complete(framed.decode_table(raw, reader, defer=True), reader).equals(raw)


def test_known_prefers_the_store_and_leaves_out_failed_ids(tmp_path: Path,
                                                          store: EventStore) -> None:
    folder = _folder(tmp_path / "schemas")
    with store.transaction() as cur:
        cur.execute("INSERT INTO schemas (id, schema_type, subject, version, text, "
                    "\"references\", source) VALUES (2, 'AVRO', 's', 1, ?, NULL, 'store')",
                    [json.dumps(FLAT)])
    catalog = SchemaCatalog(store, folder=FolderSource(folder))
    with pytest.raises(SchemaUnusable, match="does not parse"):
        catalog.decoder(5)
    known = {s.id: s for s in catalog.known()}
    assert sorted(known) == [1, 2, 3, 6]
    assert known[2].source == "store" and known[2].text == json.dumps(FLAT)


def _publish(p: Any, topic: str, raw: pa.Table) -> None:
    """Send the batch's keys and values to `topic` as records, in order."""
    for k, v in zip(raw["key"].to_pylist(), raw["value"].to_pylist(), strict=True):
        p.send(topic, key=k, value=v)
    p.flush()


def test_the_reader_process_sends_batches_decoded(topic_factory, producer, kafka_config,
                                                  tmp_path: Path) -> None:
    topic = topic_factory(1)
    raw = _batch(7, n=200, sendable=True)
    _publish(producer(), topic, raw)
    folder = _folder(tmp_path / "schemas")
    schemas = [s for s in SchemaCatalog(folder=FolderSource(folder)).known()
               if s.id != ONLY_PARENT]
    child = ReaderProcess(kafka_config, [topic], start="earliest", until="end", resume={},
                          isolation_level="read_committed", batch_records=1000,
                          schemas=schemas)
    try:
        batches = [item[1] for item in child if item[0] == "batch"]
    finally:
        child.stop()
    assert sum(t.num_rows for t in batches) == 200
    assert all(framed.DEFERRED in t.column_names for t in batches)
    parent = SchemaCatalog(folder=FolderSource(folder))
    got = pa.concat_tables([framed.complete(t, parent) for t in batches])
    want = framed.decode_table(pa.table({"key": raw["key"], "value": raw["value"]}),
                               SchemaCatalog(folder=FolderSource(folder)))
    for name in framed.COLUMNS:
        assert got[name].to_pylist() == want[name].to_pylist(), name


def test_ingest_with_reader_decoding_stores_the_folder_schemas_it_used(
        topic_factory, producer, kafka_config, tmp_path: Path, store: EventStore) -> None:
    topic = topic_factory(1)
    raw = _batch(11, n=300, sendable=True)
    _publish(producer(), topic, raw)
    folder = _folder(tmp_path / "schemas")
    report = ingest_kafka(store, kafka_config, [topic],
                          schemas=SchemaCatalog(store, folder=FolderSource(folder)))
    assert report.records_read == 300, report.summary()
    with store.reading() as cur:
        saved = [r[0] for r in db.rows(cur, "SELECT id FROM schemas ORDER BY id")]
        reasons = dict(db.rows(cur, "SELECT reason, count(*) FROM quarantine GROUP BY ALL"))
    assert saved == [1, 2, 3, 6]
    assert reasons["unknown schema id"] > 0 and reasons["unusable schema"] > 0
    assert report.schema_records[ONLY_PARENT] > 0 and report.schema_records[1] > 0


def test_the_reader_decodes_with_schemas_sent_after_the_request(tmp_path: Path) -> None:
    """The child's `S` frames (a registry's schemas the parent fetched) reach its catalog."""
    folder = _folder(tmp_path / "schemas")
    flat = avro.parse(SchemaText(1, "AVRO", json.dumps(FLAT)))
    raw = pa.table({"key": pa.nulls(50, pa.binary()), "value": pa.array(
        [frame(1, avro.encode(flat, {"id": f"e{i}", "n": i, "note": None})) for i in range(50)],
        pa.binary())})
    read_end, write_end = os.pipe()
    with os.fdopen(read_end, "rb") as stdin, os.fdopen(write_end, "wb") as out:
        decode = reader_proc._decoder([], stdin)
        assert all(decode(raw)[framed.DEFERRED].to_pylist())
        schemas = SchemaCatalog(folder=FolderSource(folder)).known()
        reader_proc.write_frame(out, b"S", json.dumps([s.to_row() for s in schemas]).encode())
        deadline = time.monotonic() + 10
        while any(decode(raw)[framed.DEFERRED].to_pylist()) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not any(decode(raw)[framed.DEFERRED].to_pylist())


def test_schemas_fetched_mid_run_go_to_the_reader_process(
        topic_factory, producer, kafka_config, tmp_path: Path) -> None:
    """Started with no schemas, the child decodes every batch after the parent sent it
    the schemas (read ahead is bounded by the pipe: the batches in it stay deferred)."""
    topic = topic_factory(1)
    flat = avro.parse(SchemaText(1, "AVRO", json.dumps(FLAT)))
    p = producer(linger_ms=5)
    for i in range(4000):
        p.send(topic, value=frame(1, avro.encode(flat, {"id": f"e{i}" * 20, "n": i,
                                                        "note": None})))
    p.flush()
    child = ReaderProcess(kafka_config, [topic], start="earliest", until="end", resume={},
                          isolation_level="read_committed", batch_records=20)
    deferred = []
    try:
        for kind, table, _ in child:
            if kind != "batch":
                break
            if not deferred:
                child.send_schemas(SchemaCatalog(folder=FolderSource(
                    _folder(tmp_path / "schemas"))).known())
            deferred.append(all(table[framed.DEFERRED].to_pylist()))
    finally:
        child.stop()
    assert deferred[0] and not any(deferred[-10:]), deferred


def test_a_sigkilled_ingest_leaves_no_kafka_reader_process(
        topic_factory, producer, kafka_config, tmp_path: Path) -> None:
    """The reader's stdin stays open for schemas now: it still ends with its parent."""
    topic = topic_factory(1)
    producer().send(topic, value=b'{"event_id": "e1", "entity_id": "o-1"}').get(timeout=10)
    readers_die_with_their_ingest(
        [sys.executable, "-m", "eventlab", "ingest-kafka", "--db", str(tmp_path / "k.duckdb"),
         "--bootstrap", kafka_config.bootstrap, "--topic", topic, "--until", "follow",
         "--json"])
