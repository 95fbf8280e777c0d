"""The dry run and the send of one hand-made message, with republish's guards
(docs/safety.md, items 21, 22, 29, 37): read-only mode refuses here, in the function; the
target must match the allow-list (EVENTLAB_REPUBLISH_TOPICS); a topic EventLab loaded from
needs its name typed back; every attempt (dry run, send, refusal) is an audit row, without
payloads. `send` writes exactly the plan's bytes (`kafka.producer.RecordSender`, acks=all),
and reports where the message landed. With a `RabbitConfig` the draft's target kind (a stream
or an exchange) is written through `produce/rabbitmq.py`; the guards, the dry run and the
audit rows are these same ones.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from eventlab import settings
from eventlab.errors import EventLabError, ReadOnlyError
from eventlab.kafka.config import KafkaConfig
from eventlab.produce.plan import Draft, MessagePlan, ProduceError, make_plan
from eventlab.rabbitmq.config import RabbitConfig
from eventlab.republish import audit
from eventlab.republish.plan import KAFKA, RABBITMQ_STREAM, allowed
from eventlab.republish.selection import stored_topics
from eventlab.store.eventstore import EventStore

DRY_RUN, SEND = "produce-dry-run", "produce"
"""The audit log's action names."""
ACKED = "acked"
"""A confirmed send (`kafka.producer.ACKED`, kept here so importing needs no Kafka client)."""


@dataclass(frozen=True)
class Produced:
    """Where the message landed (state `acked`), or why not (`failed`, `unknown`)."""

    state: str
    partition: int | None
    offset: int | None
    error: str | None = None


def _refuse(store: EventStore, actor: str, action: str, message: str, topic: str | None,
            produce_id: str | None = None, exc: EventLabError | None = None) -> EventLabError:
    if not store.read_only:
        with store.transaction() as cur:
            audit.append(cur, actor=actor, action=action, outcome="refused", job_id=produce_id,
                         target=topic, detail=message)
    return exc if exc is not None else ProduceError(message)


def _guard(store: EventStore, actor: str, action: str, topic: str,
           produce_id: str | None = None) -> None:
    g = settings.guards()
    if g.read_only:
        raise _refuse(store, actor, action, "read-only", topic, produce_id, ReadOnlyError(
            "EventLab runs read-only (EVENTLAB_READ_ONLY): producing is disabled. Restart "
            "without EVENTLAB_READ_ONLY to produce."))
    if g.problems:
        raise _refuse(store, actor, action, "producing is disabled until the setting is fixed "
                      "and EventLab restarted: " + "; ".join(g.problems), topic, produce_id)
    if not allowed(topic, g.republish_topics):
        raise _refuse(store, actor, action, f"topic {topic} is not allowed by "
                      f"{settings.REPUBLISH_TOPICS}={g.republish_topics!r}", topic, produce_id)


def _count(config: KafkaConfig | RabbitConfig, draft: Draft) -> int | None:
    """The target's partition count (RabbitMQ: 1), None when it does not exist."""
    if draft.target_kind == KAFKA:
        from eventlab.kafka import admin

        if not isinstance(config, KafkaConfig):
            raise ProduceError("a Kafka topic needs the Kafka connection")
        return admin.partition_counts(config, [draft.topic]).get(draft.topic)
    from eventlab.produce import rabbitmq

    if not isinstance(config, RabbitConfig):
        raise ProduceError(f"a {draft.target_kind} target needs the RabbitMQ connection "
                           "(EVENTLAB_RABBITMQ_*)")
    return 1 if rabbitmq.exists(config, draft.target_kind, draft.topic) else None


def dry_run(store: EventStore, config: KafkaConfig | RabbitConfig, draft: Draft, *,
            actor: str | None = None) -> MessagePlan:
    """Plan the message (the exact bytes) and audit it; sends nothing. `config` is the Kafka
    or RabbitMQ connection the draft's target kind needs."""
    actor = actor or settings.actor()
    _guard(store, actor, DRY_RUN, draft.topic)
    now = datetime.now(UTC)
    produce_id = f"{now:%Y%m%d%H%M%S}-{uuid.uuid4().hex[:6]}"
    try:
        count = _count(config, draft)
    except EventLabError as exc:
        raise _refuse(store, actor, DRY_RUN, str(exc), draft.topic, exc=exc) from None
    if count is None:
        what = {KAFKA: "topic", RABBITMQ_STREAM: "stream"}.get(draft.target_kind, "exchange")
        raise _refuse(store, actor, DRY_RUN, f"{what} {draft.topic} does not exist on "
                      f"{config.describe()}: create it first (a hand-made message never "
                      f"creates a {what})", draft.topic)
    with store.reading() as cur:
        sensitive = stored_topics(cur)
    try:
        plan = make_plan(draft, partitions=count, sensitive=sensitive, actor=actor,
                         produce_id=produce_id, now_ms=int(now.timestamp() * 1000))
    except ProduceError as exc:
        raise _refuse(store, actor, DRY_RUN, str(exc), draft.topic, exc=exc) from None
    with store.transaction() as cur:
        audit.append(cur, actor=actor, action=DRY_RUN, outcome="planned", job_id=produce_id,
                     target=plan.target(),
                     counts={"planned": 1, "sent": 0, "failed": 0, "unknown": 0, "unsent": 1},
                     detail=f"{plan.bytes} bytes; " + "; ".join(plan.notes))
    return plan


def send(store: EventStore, config: KafkaConfig | RabbitConfig, plan: MessagePlan, *,
         confirm: str | None = None, timeout_s: float = 30.0) -> Produced:
    """Send exactly `plan` (guards checked again, here), wait for the answer, audit it."""
    _guard(store, plan.actor, SEND, plan.topic, plan.produce_id)
    if plan.confirm and (confirm or "").strip() != plan.confirm:
        raise _refuse(store, plan.actor, SEND, f"sending into {plan.confirm}, a "
                      f"{'topic' if not plan.rabbitmq else 'stream'} EventLab loaded from, "
                      "needs its name typed back", plan.topic, plan.produce_id)
    if plan.rabbitmq:
        if not isinstance(config, RabbitConfig):
            raise _refuse(store, plan.actor, SEND, f"a {plan.target_kind} target needs the "
                          "RabbitMQ connection", plan.topic, plan.produce_id)
        from eventlab.produce import rabbitmq

        state, partition, offset, error = rabbitmq.send(config, plan, timeout_s)
    else:
        if not isinstance(config, KafkaConfig):
            raise _refuse(store, plan.actor, SEND, "a Kafka topic needs the Kafka connection",
                          plan.topic, plan.produce_id)
        state, partition, offset, error = _to_kafka(config, plan, timeout_s)
    with store.transaction() as cur:
        audit.append(cur, actor=plan.actor, action=SEND, outcome=state, job_id=plan.produce_id,
                     target=plan.target(),
                     counts={"planned": 1, "sent": int(state == ACKED),
                             "failed": int(state == "failed"),
                             "unknown": int(state not in (ACKED, "failed")), "unsent": 0},
                     detail=(f"offset {offset}" if offset is not None else "confirmed")
                     if state == ACKED else error)
    return Produced(state, partition, offset, error)


def _to_kafka(config: KafkaConfig, plan: MessagePlan, timeout_s: float
              ) -> tuple[str, int | None, int | None, str | None]:
    """Write the plan's record (acks=all) and wait for its answer."""
    from eventlab.kafka.producer import RecordSender

    sender = RecordSender(config, plan.topic, plan.partitions)
    try:
        sent = sender.send(plan.key, plan.value, list(plan.headers), plan.timestamp_ms,
                           partition=plan.partition)
        sent.wait(timeout_s)
        return sent.outcome()
    finally:
        sender.close()
