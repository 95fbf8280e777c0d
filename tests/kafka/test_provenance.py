"""Reading a target back for one replay's provenance headers, and the producer's outcomes."""

from __future__ import annotations

from collections.abc import Callable

from eventlab.kafka.config import KafkaConfig
from eventlab.kafka.producer import (
    ACKED,
    FAILED,
    PENDING,
    UNKNOWN,
    Outcomes,
    RecordSender,
    Sent,
    delivery_state,
)
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


def test_outcomes_sweep_takes_answers_in_send_order_and_lets_them_go() -> None:
    """`Outcomes.sweep` takes the answered records at the front, stops at the first without
    an answer (so the columns stay in send order) and holds no `Sent` it has taken."""
    import kafka.errors as kerr
    from kafka.future import Future
    from kafka.producer.future import RecordMetadata

    def meta(p: int, o: int) -> RecordMetadata:
        return RecordMetadata("t", p, ("t", p), o, 0, None, 1, 1, 1)

    futures = [Future() for _ in range(4)]
    outcomes = Outcomes()
    for f in futures:
        outcomes.add(Sent(f))
    outcomes.add(Sent(position=(2, 7)))  # the raw path: answered when handed over
    futures[0].success(meta(0, 10))
    futures[2].success(meta(1, 11))
    outcomes.sweep()
    assert outcomes.held == 4 and outcomes.states == [ACKED]
    futures[1].failure(kerr.MessageSizeTooLargeError())
    outcomes.sweep()
    assert outcomes.held == 2 and outcomes.states == [ACKED, FAILED, ACKED]
    states, parts, offsets, errors = outcomes.finish(0.0)
    assert outcomes.held == 0
    assert states == [ACKED, FAILED, ACKED, PENDING, ACKED]
    assert parts == [0, None, 1, None, 2] and offsets == [10, None, 11, None, 7]
    assert errors[1].startswith("MessageSizeTooLargeError") and errors[3] is None
