"""One hand-made message into an SQS queue or an SNS topic, with the guards, dry run and audit
of `produce/send.py` (read-only refused here, the allow-list matched against the queue or topic
name, a name EventLab loaded from typed back) and AWS's calls (`aws/publish.py`).

SQS and SNS have no partitions and set their own time: a partition is refused and a timestamp
is not sent (the dry run says so). The body must be text SQS/SNS accept (`publish.text_of`);
headers become message attributes, the composed-by-hand provenance after them
(`publish.attributes_for`). A FIFO target (name ending `.fifo`) gets the key as the message
group (else `eventlab`) and the produce id's hash as the deduplication id.
"""

from __future__ import annotations

import dataclasses
import hashlib
import uuid
from datetime import UTC, datetime

from eventlab import settings
from eventlab.aws import publish
from eventlab.aws.config import AwsConfig
from eventlab.errors import EventLabError
from eventlab.produce.plan import Draft, MessagePlan, ProduceError, make_plan
from eventlab.produce.send import DRY_RUN, SEND, Produced, _guard, _refuse
from eventlab.republish import audit
from eventlab.republish.selection import stored_topics
from eventlab.store.eventstore import EventStore


def _fifo(name: str) -> bool:
    return name.endswith(".fifo")


def dry_run(store: EventStore, config: AwsConfig, draft: Draft, kind: str, *,
            actor: str | None = None) -> MessagePlan:
    """Plan the message for queue (`kind='sqs'`) or topic (`'sns'`) `draft.topic` and audit
    it; sends nothing."""
    actor = actor or settings.actor()
    _guard(store, actor, DRY_RUN, draft.topic)
    what = "queue" if kind == "sqs" else "topic"
    if draft.partition is not None:
        raise _refuse(store, actor, DRY_RUN, f"an SQS/SNS {what} has no partitions: leave the "
                      "partition out", draft.topic)
    now = datetime.now(UTC)
    produce_id = f"{now:%Y%m%d%H%M%S}-{uuid.uuid4().hex[:6]}"
    try:
        exists = publish.Publisher(config, kind).address(draft.topic) is not None
    except EventLabError as exc:
        raise _refuse(store, actor, DRY_RUN, str(exc), draft.topic) from None
    if not exists:
        raise _refuse(store, actor, DRY_RUN, f"{kind.upper()} {what} {draft.topic} does not "
                      f"exist on {config.describe()}: create it first (a hand-made message "
                      "never creates one)", draft.topic)
    with store.reading() as cur:
        sensitive = stored_topics(cur)
    try:
        plan = make_plan(draft, partitions=1, sensitive=sensitive, actor=actor,
                         produce_id=produce_id, now_ms=int(now.timestamp() * 1000))
    except ProduceError as exc:
        raise _refuse(store, actor, DRY_RUN, str(exc), draft.topic, exc=exc) from None
    _, why = publish.text_of(plan.value)
    if why is not None:
        raise _refuse(store, actor, DRY_RUN, why, draft.topic)
    notes = [n for n in plan.notes if "partition" not in n]
    if plan.timestamp_ms is not None:
        notes.append("SQS/SNS set their own time: the timestamp is not sent")
    if _fifo(plan.topic):
        notes.append(f"FIFO: message group {_group(plan)!r}, deduplication id from the "
                     "produce id")
    elif plan.key is not None:
        notes.append("SQS/SNS have no key: it is not sent (a FIFO target uses it as the group)")
    plan = dataclasses.replace(plan, notes=tuple(notes))
    with store.transaction() as cur:
        audit.append(cur, actor=actor, action=DRY_RUN, outcome="planned", job_id=produce_id,
                     target=f"{kind}:{plan.topic}",
                     counts={"planned": 1, "sent": 0, "failed": 0, "unknown": 0, "unsent": 1},
                     detail=f"{plan.bytes} bytes; " + "; ".join(plan.notes))
    return plan


def _group(plan: MessagePlan) -> str:
    return publish.group_id_for(plan.key.decode("utf-8", "replace") if plan.key else "eventlab")


def entry(plan: MessagePlan) -> publish.Entry:
    """The SQS/SNS message of a plan."""
    body, why = publish.text_of(plan.value)
    if body is None:
        raise ProduceError(why or "the body cannot be sent")
    original = [(k, v) for k, v in plan.headers if not k.startswith("eventlab-")]
    prov = [(k, v) for k, v in plan.headers if k.startswith("eventlab-")]
    fifo = _fifo(plan.topic)
    return publish.Entry("0", body, publish.attributes_for(original, prov),
                         _group(plan) if fifo else None,
                         hashlib.sha256(plan.produce_id.encode()).hexdigest() if fifo else None)


def send(store: EventStore, config: AwsConfig, plan: MessagePlan, kind: str, *,
         confirm: str | None = None) -> Produced:
    """Send exactly `plan` (guards checked again, here) and audit AWS's answer."""
    _guard(store, plan.actor, SEND, plan.topic, plan.produce_id)
    if plan.confirm and (confirm or "").strip() != plan.confirm:
        raise _refuse(store, plan.actor, SEND, f"sending into {plan.confirm}, a queue or topic "
                      "EventLab loaded from, needs its name typed back", plan.topic,
                      plan.produce_id)
    try:
        result = publish.Publisher(config, kind).send(plan.topic, [entry(plan)])[0]
        state = "acked" if result.ok else "failed"
        error = None if result.ok else f"{result.code}: {result.detail}"
    except publish.NoAnswer as exc:  # the call may have gone through
        state, error = "unknown", str(exc)
    except EventLabError as exc:  # never sent (no connection, no such queue, denied)
        state, error = "failed", str(exc)
    with store.transaction() as cur:
        audit.append(cur, actor=plan.actor, action=SEND, outcome=state, job_id=plan.produce_id,
                     target=f"{kind}:{plan.topic}",
                     counts={"planned": 1, "sent": int(state == "acked"),
                             "failed": int(state == "failed"),
                             "unknown": int(state == "unknown"), "unsent": 0},
                     detail=f"message id {result.message_id}" if state == "acked" else error)
    return Produced(state, None, None, error)
