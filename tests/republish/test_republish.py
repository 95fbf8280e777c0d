"""Republish against the real local broker: byte-exact records with exactly the provenance
headers, per-key order, dry run sends nothing, a job runs once, Parquet archives replay as
canonical JSON, DLQ redrive, quarantine, guards and the audit log."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from republish_support import load, provenance_of, read_all, records

from eventlab import republish, settings
from eventlab.errors import ReadOnlyError
from eventlab.ingest.file_ingest import ingest_paths
from eventlab.kafka import admin
from eventlab.kafka.config import KafkaConfig
from eventlab.kafka.partitioner import partition_for
from eventlab.republish import PlanOptions, RepublishRefused, Selection
from eventlab.republish.plan import PROVENANCE
from eventlab.store import db
from eventlab.store.eventstore import EventStore

ACTOR = "tester"


def keyed_load(store: EventStore, config: KafkaConfig, topic: str, raw_producer: Callable,
               recs: list, partitions: int) -> None:
    """Each record to its key's partition (as a keyed producer would), one batch each."""
    for rec in recs:
        raw_producer(topic, partition_for(rec[0], partitions), [rec])
    from eventlab.ingest.kafka_ingest import ingest_kafka

    assert ingest_kafka(store, config, [topic]).rows_stored == len(recs)


def audit(store: EventStore) -> list[tuple]:
    with store.reading() as cur:
        return db.rows(cur, "SELECT action, outcome, job_id, target, planned, sent, detail "
                            "FROM audit_log ORDER BY logged_at")


def test_records_are_byte_exact_with_exactly_the_provenance_headers(
        store: EventStore, kafka_config: KafkaConfig, topic_factory: Callable,
        raw_producer: Callable) -> None:
    src = topic_factory(3)
    recs = records(40)
    keyed_load(store, kafka_config, src, raw_producer, recs, 3)
    dry = republish.dry_run(store, kafka_config, Selection.query(
        "SELECT event_id FROM events WHERE topic = ?", [src]),
        PlanOptions(reason="incident 42"), actor=ACTOR)
    assert dry.plan.count == 40 and dry.plan.confirm == ()
    target = f"{src}.replay.{dry.plan.job_id}"
    assert dry.plan.target_topics == [target]
    result = republish.execute(store, kafka_config, dry.plan.job_id, actor=ACTOR)
    assert (result.status, result.counts.sent, result.counts.failed) == ("done", 40, 0)

    got = read_all(kafka_config, target)
    assert len(got) == 40
    by_ts = {rec[3]: rec for rec in recs}
    for row in got:
        key, value, headers, ts = by_ts[row["timestamp_ms"]]
        assert (row["key"], row["value"]) == (key, value)
        assert row["headers"][:len(headers)] == headers  # binary, repeated, empty, null
        extra = row["headers"][len(headers):]
        assert [k for k, _ in extra] == list(PROVENANCE)
        prov = provenance_of(row)
        i = ts - 1_700_000_000_000
        assert prov["eventlab-original-topic"] == src
        assert prov["eventlab-original-partition"] == str(partition_for(key, 3))
        assert prov["eventlab-original-timestamp"] == str(ts)
        assert prov["eventlab-original-event-id"] == f"ev-{i}"
        assert prov["eventlab-replay-id"] == dry.plan.job_id
        assert prov["eventlab-replayed-by"] == "tester"
        assert prov["eventlab-reason"] == "incident 42"
        assert int(prov["eventlab-replayed-at"]) > 1_700_000_000_000
        assert row["partition"] == partition_for(key, 3)
    assert sum(1 for row in got if ("null", None) in row["headers"]) == \
        sum(1 for r in recs if ("null", None) in r[2])


def test_per_key_order_is_kept(store: EventStore, kafka_config: KafkaConfig,
                               topic_factory: Callable, raw_producer: Callable) -> None:
    src = topic_factory(2)
    recs = records(60, entities=6)
    keyed_load(store, kafka_config, src, raw_producer, recs, 2)
    dry = republish.dry_run(store, kafka_config, Selection.query(
        "SELECT topic, \"partition\", \"offset\" FROM events WHERE topic = ?", [src]),
        PlanOptions(target=None), actor=ACTOR)
    republish.execute(store, kafka_config, dry.plan.job_id, actor=ACTOR)
    got = read_all(kafka_config, dry.plan.target_topics[0])
    per_key: dict[bytes, list[int]] = {}
    for row in got:  # sorted by (partition, offset): a key's records in target order
        per_key.setdefault(row["key"], []).append(row["timestamp_ms"])
    expected: dict[bytes, list[int]] = {}
    for key, _, _, ts in recs:
        expected.setdefault(key, []).append(ts)
    assert per_key == expected


def test_dry_run_produces_nothing_and_a_job_sends_once(
        store: EventStore, kafka_config: KafkaConfig, topic_factory: Callable,
        raw_producer: Callable) -> None:
    src = topic_factory(1)
    load(store, kafka_config, src, raw_producer, records(12))
    before = {t.name: t.end_offsets for t in admin.list_topics(kafka_config)}
    dry = republish.dry_run(store, kafka_config, Selection.entity("order-2"), actor=ACTOR)
    assert dry.plan.count == 2 and dry.records.num_rows == 2
    assert dry.records.column("src_offset").to_pylist() == [2, 7]
    assert dry.to_dict()["unsent"] == 2 and dry.to_dict()["dry_run"] is True
    after = {t.name: t.end_offsets for t in admin.list_topics(kafka_config)}
    assert after == before  # nothing produced, no topic created
    target = dry.plan.target_topics[0]
    assert target not in after

    first = republish.execute(store, kafka_config, dry.plan.job_id, actor=ACTOR)
    second = republish.execute(store, kafka_config, dry.plan.job_id, actor=ACTOR, action="resume")
    assert (first.sent_now, second.sent_now) == (2, 0)
    assert second.status == "done" and "nothing to send" in second.notes[0]
    assert len(read_all(kafka_config, target)) == 2

    again = republish.send_again(store, dry.plan.job_id, actor=ACTOR)  # explicit: a new replay id
    third = republish.execute(store, kafka_config, again.job_id, actor=ACTOR)
    assert third.counts.sent == 2
    got = read_all(kafka_config, target)
    assert sorted(provenance_of(r)["eventlab-replay-id"] for r in got) == sorted(
        [dry.plan.job_id] * 2 + [again.job_id] * 2)
    actions = [(a, o) for a, o, *_ in audit(store)]
    assert actions == [("dry-run", "planned"), ("execute", "done"), ("resume", "done"),
                       ("send-again", "planned"), ("execute", "done")]


def test_a_parquet_archive_replays_as_canonical_json(
        store: EventStore, kafka_config: KafkaConfig, tmp_path: Path) -> None:
    path = tmp_path / "archive.parquet"
    pq.write_table(pa.table({
        "id": ["a-1", "a-2", "b-1"], "type": ["Opened", "Closed", "Opened"],
        "aggregateType": ["account"] * 3, "aggregateId": ["acc-1", "acc-1", "acc-2"],
        "version": [1, 2, 1],
        "timestamp": ["2025-03-05T14:03:00Z", "2025-03-05T14:04:00.250Z", "2025-03-05T14:00:00Z"],
        "data": ['{"balance": 10}', '{"closed": true}', '{"balance": 5}']}), path)
    assert ingest_paths(store, [str(path)]).rows_stored == 3
    dry = republish.dry_run(store, kafka_config, Selection.ids(["a-1", "a-2", "b-1"]), actor=ACTOR)
    assert dry.plan.target_topics == [f"events.replay.{dry.plan.job_id}"]
    republish.execute(store, kafka_config, dry.plan.job_id, actor=ACTOR)
    got = read_all(kafka_config, dry.plan.target_topics[0])
    assert [r["key"] for r in got] == [b"acc-1", b"acc-1", b"acc-2"]  # by entity, then seq
    docs = [orjson.loads(r["value"]) for r in got]
    assert list(docs[0]) == ["event_id", "entity_type", "entity_id", "event_type",
                             "event_version", "seq", "ts", "payload", "metadata", "is_delete"]
    assert docs[1]["event_id"] == "a-2" and docs[1]["seq"] == 2
    assert docs[1]["ts"] == "2025-03-05T14:04:00.250000Z"
    assert docs[1]["payload"] == {"closed": True} and docs[1]["is_delete"] is False
    assert got[1]["value"] == orjson.dumps(docs[1])  # compact
    assert got[1]["timestamp_ms"] == 1741183440250  # the event time
    prov = provenance_of(got[1])
    assert (prov["eventlab-original-topic"], prov["eventlab-original-partition"]) == ("", "")
    assert [k for k, _ in got[1]["headers"]] == list(PROVENANCE)


def test_dlq_redrive_to_two_original_topics(
        store: EventStore, kafka_config: KafkaConfig, topic_factory: Callable,
        raw_producer: Callable) -> None:
    orders, payments, dlq = topic_factory(2), topic_factory(1), topic_factory(1)
    recs = []
    for i, dest in enumerate([orders, payments, orders, None, payments, orders]):
        key, value, headers, ts = records(1, first=i)[0]
        dlt = [] if dest is None else [("kafka_dlt-original-topic", dest.encode()),
                                        ("kafka_dlt-exception-message", b"boom")]
        recs.append((key, value, [("trace", b"t"), *dlt], ts))
    load(store, kafka_config, dlq, raw_producer, recs)
    dry = republish.dry_run(store, kafka_config, Selection.dlq(dlq),
                            PlanOptions(drop_dlq_headers=True), actor=ACTOR)
    assert dry.plan.targets == {orders: orders, payments: payments}
    assert dry.plan.skipped == 1 and dry.plan.count == 5
    assert dry.plan.confirm == tuple(sorted([orders, payments]))  # back into source topics
    with pytest.raises(RepublishRefused, match="typed"):
        republish.execute(store, kafka_config, dry.plan.job_id, actor=ACTOR, confirm=orders)
    done = republish.execute(store, kafka_config, dry.plan.job_id, actor=ACTOR,
                             confirm=f"{payments}, {orders}")
    assert done.counts.sent == 5
    got_orders, got_payments = read_all(kafka_config, orders), read_all(kafka_config, payments)
    assert sorted(r["timestamp_ms"] - 1_700_000_000_000 for r in got_orders) == [0, 2, 5]
    assert sorted(r["timestamp_ms"] - 1_700_000_000_000 for r in got_payments) == [1, 4]
    for r in got_orders + got_payments:
        assert [k for k, _ in r["headers"]] == ["trace", *PROVENANCE]  # dead-letter ones gone
        assert provenance_of(r)["eventlab-original-topic"] == dlq


def test_quarantined_records_go_out_as_their_raw_bytes(
        store: EventStore, kafka_config: KafkaConfig, topic_factory: Callable,
        raw_producer: Callable) -> None:
    src = topic_factory(1)
    raw_producer(src, 0, [(b"k", b"\xffnot json", [("h", b"\x00")], 1_700_000_000_000)])
    from eventlab.ingest.kafka_ingest import ingest_kafka

    assert ingest_kafka(store, kafka_config, [src]).rows_quarantined == 1
    dry = republish.dry_run(store, kafka_config, Selection.quarantine(), actor=ACTOR)
    assert dry.summary.quarantined == 1
    republish.execute(store, kafka_config, dry.plan.job_id, actor=ACTOR)
    (row,) = read_all(kafka_config, dry.plan.target_topics[0])
    assert (row["key"], row["value"]) == (b"k", b"\xffnot json")
    assert row["headers"][0] == ("h", b"\x00")
    assert provenance_of(row)["eventlab-original-offset"] == "0"


def test_read_only_allow_list_cap_and_confirmation_refuse_and_are_audited(
        store: EventStore, kafka_config: KafkaConfig, topic_factory: Callable,
        raw_producer: Callable, monkeypatch: pytest.MonkeyPatch) -> None:
    src = topic_factory(1)
    load(store, kafka_config, src, raw_producer, records(6))
    sel = Selection.entity("order-1")

    def process(**env: str) -> None:  # as if the process had started with `env`
        monkeypatch.setattr(settings, "_GUARDS", settings.Guards.from_env(env))

    process(EVENTLAB_READ_ONLY="1")
    with pytest.raises(ReadOnlyError):
        republish.dry_run(store, kafka_config, sel, actor=ACTOR)
    process(EVENTLAB_REPUBLISH_TOPICS=r"sandbox\..*")
    with pytest.raises(RepublishRefused, match="EVENTLAB_REPUBLISH_TOPICS"):
        republish.dry_run(store, kafka_config, sel, actor=ACTOR)
    process(EVENTLAB_REPUBLISH_MAX_RECORDS="5")
    with pytest.raises(RepublishRefused, match="cap"):
        republish.dry_run(store, kafka_config, Selection.query("SELECT event_id FROM events"),
                          actor=ACTOR)
    process()
    into_source = republish.dry_run(store, kafka_config, sel, PlanOptions(target=src), actor=ACTOR)
    assert into_source.plan.confirm == (src,)
    with pytest.raises(RepublishRefused, match="typed back"):
        republish.execute(store, kafka_config, into_source.plan.job_id, actor=ACTOR)
    process(EVENTLAB_READ_ONLY="1")
    with pytest.raises(ReadOnlyError):  # refused inside execute itself, too
        republish.execute(store, kafka_config, into_source.plan.job_id, confirm=src,
                          actor=ACTOR)
    assert len(read_all(kafka_config, src)) == 6  # nothing was sent
    process()
    done = republish.execute(store, kafka_config, into_source.plan.job_id, confirm=src, actor=ACTOR)
    assert done.counts.sent == 1 and len(read_all(kafka_config, src)) == 7
    rows = audit(store)
    assert [(a, o) for a, o, *_ in rows] == [
        ("dry-run", "refused"), ("dry-run", "refused"), ("dry-run", "refused"),
        ("dry-run", "planned"), ("execute", "refused"), ("execute", "refused"),
        ("execute", "done")]
    assert "EVENTLAB_READ_ONLY" in rows[0][6] and "EVENTLAB_REPUBLISH_TOPICS" in rows[1][6]
    assert rows[-1][4:6] == (1, 1)
    with store.reading() as cur:  # no payloads in the audit log
        text = " ".join(str(v) for r in db.rows(cur, "SELECT * FROM audit_log") for v in r)
    assert "OrderPaid" not in text and '"n":' not in text


def test_cancel_stops_a_rate_limited_job_and_resume_finishes_it(
        store: EventStore, kafka_config: KafkaConfig, topic_factory: Callable,
        raw_producer: Callable) -> None:
    import threading

    src = topic_factory(1)
    raw_producer(src, 0, records(200))
    from eventlab.ingest.kafka_ingest import ingest_kafka

    assert ingest_kafka(store, kafka_config, [src]).rows_stored == 200
    dry = republish.dry_run(store, kafka_config, Selection.query(
        "SELECT event_id FROM events"), actor=ACTOR)
    cancel = threading.Event()
    threading.Timer(0.6, cancel.set).start()
    first = republish.execute(store, kafka_config, dry.plan.job_id, actor=ACTOR, rate=100,
                              cancel=cancel)
    c = first.counts
    assert first.status == "cancelled" and first.error is None
    assert 20 <= c.sent < 200 and c.unknown == 0 and c.failed == 0 and c.sent + c.unsent == 200
    assert len(read_all(kafka_config, dry.plan.target_topics[0])) == c.sent
    second = republish.execute(store, kafka_config, dry.plan.job_id, actor=ACTOR, action="resume")
    assert second.status == "done" and second.sent_now == 200 - c.sent
    offsets = sorted(int(provenance_of(r)["eventlab-original-offset"])
                     for r in read_all(kafka_config, dry.plan.target_topics[0]))
    assert offsets == list(range(200))


def test_a_send_freezes_the_heap_it_found_and_hands_it_back(
        store: EventStore, kafka_config: KafkaConfig, topic_factory: Callable,
        raw_producer: Callable) -> None:
    """Collections during a send walk only the job's own objects (docs/speed.md, Republish):
    the heap found at the start is frozen while records go out, and unfrozen after."""
    import gc

    src = topic_factory(1)
    load(store, kafka_config, src, raw_producer, records(12))
    dry = republish.dry_run(store, kafka_config, Selection.query(
        "SELECT event_id FROM events WHERE topic = ?", [src]), actor=ACTOR)
    frozen: list[int] = []
    assert gc.get_freeze_count() == 0
    done = republish.execute(store, kafka_config, dry.plan.job_id, actor=ACTOR,
                             progress=lambda counts: frozen.append(gc.get_freeze_count()))
    assert done.counts.sent == 12
    assert frozen and min(frozen) > 0  # progress is reported from inside the send
    assert gc.get_freeze_count() == 0
