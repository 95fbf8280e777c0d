"""Reading a target back for one replay's provenance headers, and the producer's outcomes."""

from __future__ import annotations

from collections.abc import Callable

from eventlab.kafka.config import KafkaConfig
from eventlab.kafka.producer import ACKED, FAILED, UNKNOWN, RecordSender, delivery_state
from eventlab.kafka.provenance import find_replayed


def test_find_replayed_returns_only_that_replay_with_its_identity(
        kafka_config: KafkaConfig, topic_factory: Callable, raw_producer: Callable) -> None:
    topic = topic_factory(2)
    def rec(job: str, off: int) -> tuple:
        return (b"k", b"v", [("x", None), ("eventlab-replay-id", job.encode()),
                             ("eventlab-original-offset", str(off).encode())], None)
    raw_producer(topic, 0, [rec("A", 1), rec("B", 2), (b"k", b"v", [], None)])
    raw_producer(topic, 1, [rec("A", 3)])
    found = find_replayed(kafka_config, topic, "A", "eventlab-replay-id",
                          ["eventlab-original-offset", "missing"])
    assert sorted((f.identity, f.partition, f.offset) for f in found) == [
        (("1", None), 0, 0), (("3", None), 1, 0)]


def test_sender_outcomes_and_explicit_partition(kafka_config: KafkaConfig,
                                                topic_factory: Callable) -> None:
    topic = topic_factory(3)
    sender = RecordSender(kafka_config, topic, 3, enable_idempotence=True)
    try:
        sents = [sender.send(b"k", b"v", [("h", b"1")], None, partition=2),
                 sender.send(b"k", b"v", [("n", None)], None, partition=1)]  # the raw path
        assert sender.flush(10)
        assert [s.outcome()[:2] for s in sents] == [(ACKED, 2), (ACKED, 1)]
    finally:
        sender.close()


def test_only_a_refusal_is_failed() -> None:
    import kafka.errors as kerr

    assert delivery_state(kerr.MessageSizeTooLargeError()) == FAILED
    assert delivery_state(kerr.KafkaTimeoutError()) == UNKNOWN
    assert delivery_state(kerr.OutOfOrderSequenceNumberError()) == UNKNOWN
    assert delivery_state(ConnectionError()) == UNKNOWN
