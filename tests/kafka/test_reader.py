"""KafkaRawReader against the real local broker: exact bytes, bounds, resume, faults."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka_fixtures import delete_topic

from eventlab.errors import (
    BrokerUnavailable,
    OffsetOutOfRange,
    RecordTooLarge,
    SourceError,
    TopicGone,
)
from eventlab.kafka.admin import list_topics
from eventlab.kafka.broker import BrokerHandle, free_port, start_broker
from eventlab.kafka.config import KafkaConfig, Secret
from eventlab.kafka.reader import RAW_SCHEMA, KafkaRawReader, offset_out_of_range

Producer = Callable[..., KafkaProducer]


def read_all(reader: KafkaRawReader, max_records: int = 10_000) -> pa.Table:
    """Every batch until the reader finishes, as one table."""
    tables = []
    while (table := reader.next_batch(max_records=max_records, timeout_ms=500)) is not None:
        assert table.schema == RAW_SCHEMA
        tables.append(table)
    return pa.concat_tables(tables) if tables else RAW_SCHEMA.empty_table()


def positions_of(table: pa.Table) -> dict[tuple[str, int], int]:
    """Next offset per partition implied by the rows of `table`."""
    out: dict[tuple[str, int], int] = {}
    for row in table.select(["topic", "partition", "offset"]).to_pylist():
        key = (row["topic"], row["partition"])
        out[key] = max(out.get(key, 0), row["offset"] + 1)
    return out


def send_each(prod: KafkaProducer, topic: str, n: int, partitions: int = 1) -> None:
    """n records, one request each (so ListOffsets is exact on Tansu too)."""
    for i in range(n):
        prod.send(topic, key=b"k%d" % i, value=b"v%d" % i, partition=i % partitions).get()


def test_every_record_once_with_exact_bytes(
        kafka_config: KafkaConfig, new_topic: str, producer: Producer,
        raw_producer: Callable[..., int]) -> None:
    binary = bytes(range(256))
    expected: dict[tuple[int, int], tuple] = {}
    raw = [
        (None, b'{"a": 1}', [], 1_700_000_000_000),
        (b"\xff\xfe", binary, [("h", None), ("bin", b"\x00\xff"), ("h", b"dup")],
         1_700_000_000_001),
        (b"gone", None, [("why", b"tombstone")], 1_700_000_000_002),
    ]
    for partition in range(3):
        for key, value, headers, ts in raw:
            offset = raw_producer(new_topic, partition, [(key, value, headers, ts)])
            expected[(partition, offset)] = (key, value, headers, ts)
    prod = producer()
    for partition in range(3):
        meta = prod.send(new_topic, key=b"k", value=b"plain", partition=partition,
                         headers=[("ce_type", b"OrderPlaced")]).get()
        expected[(partition, meta.offset)] = (b"k", b"plain", [("ce_type", b"OrderPlaced")], None)

    with KafkaRawReader(kafka_config, [new_topic]) as reader:
        assert reader.isolation_level == "read_committed"
        table = read_all(reader)
        assert reader.stopped_because == "end reached"
        assert reader.positions() == {(new_topic, p): 4 for p in range(3)}

    rows = table.to_pylist()
    assert sorted((r["partition"], r["offset"]) for r in rows) == sorted(expected)
    for r in rows:
        key, value, headers, ts = expected[(r["partition"], r["offset"])]
        assert r["topic"] == new_topic
        assert (r["key"], r["value"]) == (key, value)
        assert [(h["key"], h["value"]) for h in r["headers"]] == headers
        assert r["timestamp_type"] == 0
        if ts is not None:
            assert r["timestamp_ms"] == ts
        assert r["serialized_value_size"] == (-1 if value is None else len(value))


@pytest.mark.parametrize("codec", ["gzip", "snappy", "lz4", "zstd"])
def test_compressed_topics_are_read(kafka_config: KafkaConfig, new_topic: str,
                                    producer: Producer, codec: str) -> None:
    prod = producer(compression_type=codec, linger_ms=20)
    values = [b"v%d-" % i + bytes(range(256)) * (i % 3) for i in range(300)]
    for i, value in enumerate(values):
        prod.send(new_topic, key=b"k%d" % i, value=value, headers=[("h", b"\x00%d" % i)])
    prod.flush()
    with KafkaRawReader(kafka_config, [new_topic], until=300) as reader:
        table = read_all(reader, max_records=64)
    got = {int(r["key"][1:]): (r["value"], r["headers"][0]["value"])
           for r in table.to_pylist()}
    assert got == {i: (value, b"\x00%d" % i) for i, value in enumerate(values)}


def test_multi_record_batches_are_read_to_their_true_end(
        kafka_config: KafkaConfig, topic_factory: Callable[..., str],
        raw_producer: Callable[..., int]) -> None:
    """Tansu lists "last batch base + 1" as the end; the reader still gets every record."""
    topic = topic_factory(1)
    raw_producer(topic, 0, [(b"k", b"a%d" % i, [], None) for i in range(10)])
    raw_producer(topic, 0, [(b"k", b"b%d" % i, [], None) for i in range(5)])
    assert list_topics(kafka_config)  # smoke: listing works with the same correction
    info = next(t for t in list_topics(kafka_config) if t.name == topic)
    assert info.end_offsets == {0: 15} and info.earliest == {0: 0} and info.records == 15
    with KafkaRawReader(kafka_config, [topic]) as reader:
        assert reader.end_offsets == {(topic, 0): 15}
        assert read_all(reader, max_records=4).column("offset").to_pylist() == list(range(15))
        assert reader.positions() == {(topic, 0): 15}
    with KafkaRawReader(kafka_config, [topic], resume={(topic, 0): 12}) as reader:
        assert read_all(reader).column("value").to_pylist() == [b"b2", b"b3", b"b4"]


def test_until_end_stops_at_the_end_taken_at_start_while_producing(
        kafka_config: KafkaConfig, topic_factory: Callable[..., str],
        producer: Producer) -> None:
    topic = topic_factory(2)
    prod = producer()
    send_each(prod, topic, 40, partitions=2)
    stop = threading.Event()

    def keep_producing() -> None:
        while not stop.is_set():
            prod.send(topic, value=b"late").get()

    thread = threading.Thread(target=keep_producing)
    thread.start()
    try:
        time.sleep(0.2)
        with KafkaRawReader(kafka_config, [topic]) as reader:
            ends = dict(reader.end_offsets)
            table = read_all(reader, max_records=7)
            time.sleep(0.2)
    finally:
        stop.set()
        thread.join()
    assert sum(ends.values()) >= 40
    for (_, p), end in ends.items():
        got = table.filter(pc.equal(table["partition"], p))["offset"].to_pylist()
        assert got == list(range(end)), f"partition {p}"
    after = {(t.name, p): e for t in list_topics(kafka_config) if t.name == topic
             for p, e in t.end_offsets.items()}
    assert sum(after.values()) > sum(ends.values())  # the producer kept going meanwhile


def test_transaction_markers_do_not_hold_up_the_end(
        kafka_config: KafkaConfig, topic_factory: Callable[..., str],
        producer: Producer) -> None:
    """Committed transactions leave control records: offsets that return nothing."""
    topic = topic_factory(1)
    prod = producer(transactional_id=f"tx-{topic}")
    prod.init_transactions()
    for values in ([b"c1", b"c2"], [b"c3"]):
        prod.begin_transaction()
        for value in values:
            prod.send(topic, value=value)
        prod.commit_transaction()
    with KafkaRawReader(kafka_config, [topic]) as reader:
        assert reader.end_offsets == {(topic, 0): 5}  # 3 records + 2 commit markers
        table = read_all(reader)
        assert reader.stopped_because == "end reached"
        assert reader.positions() == {(topic, 0): 5}
    assert table.column("value").to_pylist() == [b"c1", b"c2", b"c3"]
    assert table.column("offset").to_pylist() == [0, 1, 3]


def test_record_cap(kafka_config: KafkaConfig, new_topic: str, producer: Producer) -> None:
    send_each(producer(), new_topic, 30, partitions=3)
    with KafkaRawReader(kafka_config, [new_topic], until=7) as reader:
        assert reader.next_batch(max_records=5).num_rows == 5
        assert reader.next_batch(max_records=5).num_rows == 2
        assert reader.finished and reader.stopped_because == "record cap"
        assert reader.next_batch() is None
        assert sum(v for v in reader.positions().values()) == 7


def test_batches_hold_back_what_does_not_fit_and_positions_follow_what_was_handed_over(
        kafka_config: KafkaConfig, topic_factory: Callable[..., str],
        raw_producer: Callable[..., int]) -> None:
    """A fetch arrives whole (one chunk per partition); `max_records` still holds per batch,
    and after every batch the positions cover exactly the rows handed over."""
    topic = topic_factory(2)
    for part in range(2):
        raw_producer(topic, part, [(b"k", b"p%d-%d" % (part, i), [], None) for i in range(40)])
    handed: list[pa.Table] = []
    with KafkaRawReader(kafka_config, [topic]) as reader:
        while (table := reader.next_batch(max_records=7, timeout_ms=500)) is not None:
            assert table.num_rows <= 7
            handed.append(table)
            so_far = positions_of(pa.concat_tables(handed))
            assert {tp: n for tp, n in reader.positions().items() if n} == so_far
    rows = pa.concat_tables(handed)
    assert rows.num_rows == 80
    for part in range(2):
        mine = rows.filter(pc.equal(rows.column("partition"), part))
        assert mine.column("offset").to_pylist() == list(range(40))


def test_transactions_read_as_kafka_python_reads_them(
        kafka_config: KafkaConfig, topic_factory: Callable[..., str],
        producer: Producer) -> None:
    """Committed and aborted transactions: the same records as a stock kafka-python consumer
    at each isolation level. (Tansu does not report aborted transactions in fetch responses,
    so both return them here; tests/kafka/test_columnar.py covers the skipping itself.)"""
    topic = topic_factory(1)
    prod = producer(transactional_id=f"tx-{topic}")
    prod.init_transactions()
    for values, commit in (([b"c1"], True), ([b"a1", b"a2"], False), ([b"c2"], True)):
        prod.begin_transaction()
        for value in values:
            prod.send(topic, value=value)
        prod.flush()
        if commit:
            prod.commit_transaction()
        else:
            prod.abort_transaction()
    for level in ("read_committed", "read_uncommitted"):
        with KafkaRawReader(kafka_config, [topic], isolation_level=level) as reader:
            ours = read_all(reader).select(["offset", "value"]).to_pylist()
            assert reader.positions() == {(topic, 0): reader.end_offsets[(topic, 0)]}
        stock = KafkaConsumer(bootstrap_servers=kafka_config.bootstrap, isolation_level=level,
                              auto_offset_reset="earliest", enable_auto_commit=False)
        stock.assign([TopicPartition(topic, 0)])
        theirs: list[dict] = []
        deadline = time.monotonic() + 10
        while len(theirs) < len(ours) and time.monotonic() < deadline:
            for records in stock.poll(timeout_ms=200).values():
                theirs += [{"offset": r.offset, "value": r.value} for r in records]
        stock.close()
        assert ours == theirs and {r["value"] for r in ours} >= {b"c1", b"c2"}


def test_resume_continues_with_no_gap_and_no_duplicate(
        kafka_config: KafkaConfig, new_topic: str, producer: Producer) -> None:
    send_each(producer(), new_topic, 60, partitions=3)
    with KafkaRawReader(kafka_config, [new_topic], until=25) as first:
        head = read_all(first, max_records=10)
        saved = first.positions()
    assert head.num_rows == 25 and saved == positions_of(head)
    with KafkaRawReader(kafka_config, [new_topic], resume=saved) as second:
        tail = read_all(second)
    seen = [(r["partition"], r["offset"]) for r in pa.concat_tables([head, tail]).to_pylist()]
    assert len(seen) == len(set(seen)) == 60
    # resume wins over start for the partitions it covers; the others follow start
    with KafkaRawReader(kafka_config, [new_topic], start="latest",
                        resume={(new_topic, 0): 17}) as third:
        assert positions_of(read_all(third)) == {(new_topic, 0): 20}


def test_start_latest_reads_only_new_records_and_cancel_stops(
        kafka_config: KafkaConfig, new_topic: str, producer: Producer) -> None:
    prod = producer()
    send_each(prod, new_topic, 6, partitions=3)
    with KafkaRawReader(kafka_config, [new_topic], start="latest", until="follow") as reader:
        assert reader.next_batch(timeout_ms=200).num_rows == 0
        for i in range(3):
            prod.send(new_topic, value=b"new%d" % i, partition=i).get()
        got: list[bytes] = []
        deadline = time.monotonic() + 10
        while len(got) < 3 and time.monotonic() < deadline:
            got += reader.next_batch(timeout_ms=200).column("value").to_pylist()
        assert sorted(got) == [b"new0", b"new1", b"new2"]
        reader.cancel()
        assert reader.next_batch() is None
        assert reader.stopped_because == "cancelled"


def test_cancel_from_another_thread_ends_a_waiting_batch(
        kafka_config: KafkaConfig, new_topic: str) -> None:
    with KafkaRawReader(kafka_config, [new_topic], until="follow") as reader:
        threading.Timer(0.3, reader.cancel).start()
        started = time.monotonic()
        assert reader.next_batch(timeout_ms=10_000).num_rows == 0
        assert time.monotonic() - started < 2
        assert reader.next_batch() is None and reader.stopped_because == "cancelled"


def test_start_at_a_time(kafka_config: KafkaConfig, topic_factory: Callable[..., str],
                         producer: Producer) -> None:
    topic = topic_factory(1)
    prod = producer()
    t0 = 1_750_000_000_000
    for i in range(10):
        prod.send(topic, value=b"%d" % i, timestamp_ms=t0 + i * 1000).get()
    start = datetime.fromtimestamp((t0 + 4500) / 1000, tz=UTC)
    with KafkaRawReader(kafka_config, [topic], start=start) as reader:
        assert read_all(reader).column("offset").to_pylist() == [5, 6, 7, 8, 9]
    naive = start.replace(tzinfo=None)  # taken as UTC
    with KafkaRawReader(kafka_config, [topic], start=naive) as reader:
        assert read_all(reader).column("offset").to_pylist() == [5, 6, 7, 8, 9]
    with KafkaRawReader(kafka_config, [topic], start={(topic, 0): 8}) as reader:
        assert read_all(reader).column("offset").to_pylist() == [8, 9]


def test_a_one_megabyte_record_is_read(kafka_config: KafkaConfig,
                                       topic_factory: Callable[..., str],
                                       producer: Producer) -> None:
    topic = topic_factory(1)
    big = bytes(range(256)) * 4096  # 1 MiB
    producer(max_request_size=4 * 1024 * 1024).send(topic, key=b"big", value=big).get()
    with KafkaRawReader(kafka_config, [topic]) as reader:
        table = read_all(reader)
    assert table.column("value").to_pylist() == [big]
    assert table.column("serialized_value_size").to_pylist() == [len(big)]


def test_a_record_bigger_than_the_client_accepts_is_reported_by_offset(
        kafka_config: KafkaConfig, topic_factory: Callable[..., str],
        producer: Producer) -> None:
    topic = topic_factory(1)
    prod = producer(max_request_size=4 * 1024 * 1024)
    prod.send(topic, value=b"small").get()
    prod.send(topic, value=b"x" * 1_000_000).get()
    tight = {"fetch_max_bytes": 65536, "receive_message_max_bytes": 200_000}
    started = time.monotonic()
    with KafkaRawReader(kafka_config, [topic], max_partition_fetch_bytes=65536,
                        idle_check_s=0.3, stall_timeout_s=1.5,
                        consumer_overrides=tight) as reader, \
            pytest.raises(RecordTooLarge, match=rf"topic {topic} partition 0: no progress at "
                                                r"offset \d"):
        read_all(reader)
    assert time.monotonic() - started < 10
    assert reader.finished


def test_unreachable_bootstrap_fails_fast_without_secrets(
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)  # kafka-python logs its whole configuration at DEBUG
    port = free_port()
    config = KafkaConfig(bootstrap=f"127.0.0.1:{port}", security_protocol="SASL_PLAINTEXT",
                         sasl_mechanism="PLAIN", sasl_username="alice",
                         sasl_password=Secret("hunter2-secret"), timeout_s=3.0)
    started = time.monotonic()
    with pytest.raises(BrokerUnavailable) as caught:
        KafkaRawReader(config, ["orders"])
    assert time.monotonic() - started < 10
    assert f"127.0.0.1:{port}" in str(caught.value)
    assert "hunter2" not in str(caught.value) and "hunter2" not in repr(config)
    # A refused port fails before any client starts (so nothing is logged at all); a secret
    # never reaches a log either way.
    assert "hunter2" not in caplog.text


def test_config_from_env_keeps_secrets_out_of_text() -> None:
    config = KafkaConfig.from_env({
        "EVENTLAB_KAFKA_BOOTSTRAP": "kafka-1:9093,kafka-2:9093",
        "EVENTLAB_KAFKA_SECURITY_PROTOCOL": "sasl_ssl",
        "EVENTLAB_KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
        "EVENTLAB_KAFKA_SASL_USERNAME": "alice",
        "EVENTLAB_KAFKA_SASL_PASSWORD": "s3cr3t pw",
        "EVENTLAB_KAFKA_SSL_CHECK_HOSTNAME": "false",
        "EVENTLAB_KAFKA_TIMEOUT_S": "4",
    })
    assert config.security_protocol == "SASL_SSL" and config.timeout_s == 4.0
    assert config.describe() == "kafka-1:9093,kafka-2:9093 (SASL_SSL, SCRAM-SHA-512 as alice)"
    kwargs = config.client_kwargs()
    assert kwargs["bootstrap_servers"] == ["kafka-1:9093", "kafka-2:9093"]
    assert kwargs["sasl_plain_password"] == "s3cr3t pw"  # the client gets the real one
    assert kwargs["ssl_check_hostname"] is False and kwargs["bootstrap_timeout_ms"] == 4000
    for text in (repr(config), str(config), repr(kwargs), str(kwargs), config.describe()):
        assert "s3cr3t" not in text
    assert KafkaConfig().client_kwargs()["bootstrap_timeout_ms"] <= 10_000
    with pytest.raises(SourceError, match="EVENTLAB_KAFKA_SASL_USERNAME"):
        KafkaConfig.from_env({"EVENTLAB_KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT",
                              "EVENTLAB_KAFKA_SASL_MECHANISM": "PLAIN"})


def test_missing_topic_is_named(kafka_config: KafkaConfig) -> None:
    with pytest.raises(TopicGone, match="topic no-such-topic-x does not exist"):
        KafkaRawReader(kafka_config, ["no-such-topic-x"])


def test_topic_deleted_mid_read(kafka_config: KafkaConfig, new_topic: str,
                                producer: Producer) -> None:
    send_each(producer(), new_topic, 9, partitions=3)
    with KafkaRawReader(kafka_config, [new_topic], until="follow", idle_check_s=0.3) as reader:
        batches = [reader.next_batch(timeout_ms=2000)]
        while sum(b.num_rows for b in batches) < 9:
            batches.append(reader.next_batch(timeout_ms=2000))
        got = pa.concat_tables(batches)
        assert got.num_rows == 9 and reader.positions() == positions_of(got)
        delete_topic(kafka_config, new_topic)
        with pytest.raises(TopicGone, match=f"topic {new_topic} was deleted") as caught:
            for _ in range(40):
                reader.next_batch(timeout_ms=100)
        assert f"{new_topic}[0]=3" in str(caught.value)
        assert reader.positions() == positions_of(got)
        assert reader.next_batch() is None


@pytest.fixture
def own_broker() -> Iterator[BrokerHandle]:
    """A broker of this test alone (it gets killed)."""
    with start_broker() as broker:
        yield broker


def test_broker_killed_mid_read_keeps_positions(
        own_broker: BrokerHandle, topic_factory: Callable[..., str],
        producer: Producer) -> None:
    config = own_broker.config(timeout_s=2.0)
    topic = topic_factory(2, config=config)
    prod = producer(config=config, linger_ms=5)
    for i in range(400):
        prod.send(topic, value=b"r%d" % i, partition=i % 2)
    prod.flush()
    returned = []
    with KafkaRawReader(config, [topic], until="follow", idle_check_s=0.3) as reader:
        while sum(t.num_rows for t in returned) < 100:
            returned.append(reader.next_batch(max_records=50))
        own_broker.process.kill()
        own_broker.process.wait()
        started = time.monotonic()
        with pytest.raises(SourceError) as caught:
            while True:
                returned.append(reader.next_batch(max_records=50, timeout_ms=200))
                assert time.monotonic() - started < 15
        assert isinstance(caught.value, BrokerUnavailable)
        assert own_broker.bootstrap in str(caught.value)
        assert "Next offset to read" in str(caught.value)
        table = pa.concat_tables(returned)
        assert reader.positions() == positions_of(table)
        assert table.num_rows == sum(reader.positions().values()) >= 100  # no gap, no repeat


def test_offset_out_of_range_is_never_reset(kafka_config: KafkaConfig, new_topic: str,
                                            producer: Producer) -> None:
    send_each(producer(), new_topic, 6, partitions=3)
    with pytest.raises(OffsetOutOfRange, match=rf"topic {new_topic} partition 1: requested "
                                               r"offset 500 is past the end .*next offset 2"):
        KafkaRawReader(kafka_config, [new_topic], resume={(new_topic, 1): 500})


def test_expired_offset_message() -> None:
    """Tansu cannot delete records (DeleteRecords is unimplemented), so the message is built
    directly; the reader raises it for a start below earliest and for the fetch error."""
    error = offset_out_of_range(("orders", 2), requested=100, earliest=250, end=900)
    assert str(error).startswith(
        "topic orders partition 2: requested offset 100, earliest available 250, "
        "150 records expired")
    assert (error.topic, error.partition, error.requested, error.earliest) == ("orders", 2, 100,
                                                                                250)
