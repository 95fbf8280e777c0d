"""Plan (the dry run), execute, resume and send again: the republish actions with their guards.

Every entry point checks, itself, read-only mode and the target allow-list and audits a
refusal (docs/safety.md, items 21, 29). `dry_run` resolves the selection, decides the plan,
writes the job and its planned records to the ledger and lists them; it produces nothing.
`execute` sends exactly that plan; it is also resume: it first settles every `unknown`
record by reading the target for its provenance headers (found: acked, else unsent), then
sends only what is not acknowledged. A finished job sends nothing again; `send_again` makes
a new job (a new replay id) of the same records.

Before a resume touches the target, and before a job is called `done`, the acknowledged
records are read back (`republish/verify.py`): a target deleted, re-created or truncated
since makes the job `lost` ("target lost N acknowledged records"), and it stops there
(docs/safety.md, item 38). `done` means every acknowledged record was seen in the target.

The target's own steps (create, settle, send, verify) are behind `republish/target.py`:
Kafka (`kafka_target.py`, sending in `send.py`) and RabbitMQ (`rabbitmq_target.py`).
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa

from eventlab.errors import EventLabError
from eventlab.kafka.config import KafkaConfig
from eventlab.kafka.partitioner import partition_for
from eventlab.rabbitmq.config import RabbitConfig
from eventlab.republish import audit, guards, ledger, verify
from eventlab.republish import plan as planning
from eventlab.republish import selection as selecting
from eventlab.republish.guards import RepublishRefused
from eventlab.republish.ledger import Counts
from eventlab.republish.plan import Plan, PlanOptions
from eventlab.republish.selection import Selection, SelectionError, Summary
from eventlab.republish.send import DELIVERY_TIMEOUT_S
from eventlab.republish.target import Target, target_for
from eventlab.store import db
from eventlab.store.eventstore import EventStore


@dataclass(frozen=True)
class DryRun:
    """What execute would send (nothing was produced)."""

    plan: Plan
    summary: Summary
    per_target: pa.Table
    records: pa.Table

    def to_dict(self, with_records: bool = True) -> dict[str, Any]:
        """The CLI's --json object."""
        p = self.plan
        out: dict[str, Any] = {
            "job_id": p.job_id, "dry_run": True, "target_topic": ", ".join(p.target_topics),
            "targets": p.targets, "planned": p.count, "bytes": p.bytes,
            "tombstones": p.tombstones, "skipped": p.skipped, "sent": 0, "failed": 0,
            "unknown": 0, "unsent": p.count, "create": list(p.create),
            "target_partitions": p.target_partitions, "partitioning": p.partitioning,
            "timestamp": p.timestamp, "confirm": list(p.confirm),
            "warnings": list(p.warnings), "selection": self.summary.to_dict(),
            "per_target_partition": self.per_target.to_pylist()}
        if with_records:
            out["records"] = self.records.to_pylist()
        return out


@dataclass(frozen=True)
class JobReport:
    """What a run of a job did and where the job stands."""

    job_id: str
    status: str
    targets: tuple[str, ...]
    counts: Counts
    seconds: float = 0.0
    sent_now: int = 0
    settled_found: int = 0
    settled_missing: int = 0
    extra_copies: int = 0
    error: str | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def rate(self) -> float:
        """Records sent per second in this run."""
        return self.sent_now / self.seconds if self.seconds else 0.0

    def to_dict(self) -> dict[str, Any]:
        """The CLI's --json object."""
        return {"job_id": self.job_id, "dry_run": False, "status": self.status,
                "target_topic": ", ".join(self.targets), **self.counts.to_dict(),
                "sent_now": self.sent_now, "seconds": round(self.seconds, 3),
                "settled_found": self.settled_found, "settled_missing": self.settled_missing,
                "extra_copies": self.extra_copies, "error": self.error, "notes": list(self.notes)}


def _refuse(store: EventStore, actor: str, action: str, message: str, *,
            selection: Mapping[str, Any] | None = None, job_id: str | None = None,
            target: str | None = None, error: type[EventLabError] = RepublishRefused,
            exc: EventLabError | None = None) -> EventLabError:
    """Audit a refusal (when the store can be written) and return the error to raise."""
    if not store.read_only:
        with store.transaction() as cur:
            audit.append(cur, actor=actor, action=action, outcome="refused", job_id=job_id,
                         selection=selection, target=target, detail=message)
    else:
        message += " (not audited: the database is open read-only)"
    return exc if exc is not None else error(message)


def _guard(store: EventStore, actor: str, action: str, *,
           selection: Mapping[str, Any] | None = None, job_id: str | None = None) -> None:
    refusal = guards.read_only_refusal()
    if refusal is not None:
        raise _refuse(store, actor, action, str(refusal), selection=selection, job_id=job_id,
                      exc=refusal)


def _guarded_job(store: EventStore, actor: str, action: str, job_id: str) -> ledger.JobRow:
    """Refuse (audited) in read-only mode, then the stored job, refused (audited) if unknown."""
    _guard(store, actor, action, job_id=job_id)
    with store.reading() as cur:
        row = ledger.job(cur, job_id)
    if row is None:
        raise _refuse(store, actor, action, f"no republish job {job_id} in this database",
                      job_id=job_id)
    return row


def _check_targets(store: EventStore, actor: str, action: str, plan: Plan,
                   selection: Mapping[str, Any] | None) -> None:
    pattern = guards.topic_pattern()
    denied = [t for t in plan.target_topics if not planning.allowed(t, pattern)]
    if denied:
        raise _refuse(store, actor, action,
                      f"target topic(s) {', '.join(denied)} not allowed by "
                      f"{guards.TOPICS}={pattern!r}", selection=selection, job_id=plan.job_id,
                      target=", ".join(plan.target_topics))


# -- the dry run (plans the job) --------------------------------------------------------------

def _key_partitions(cur: db.Connection, rows_sql: str, params: Sequence[Any],
                    counts: set[int]) -> pa.Table:
    keys = db.arrow(cur, f"SELECT DISTINCT key FROM ({rows_sql}) WHERE key IS NOT NULL",
                    params).column("key").to_pylist()
    out_k, out_n, out_p = [], [], []
    for n in sorted(counts):
        for k in keys:
            out_k.append(k)
            out_n.append(n)
            out_p.append(partition_for(k, n))
    return pa.table({"key": pa.array(out_k, pa.binary()), "partitions": pa.array(out_n, pa.int32()),
                     "partition": pa.array(out_p, pa.int32())})


def dry_run(store: EventStore, config: KafkaConfig | RabbitConfig | Target, sel: Selection,
            options: PlanOptions | None = None, *, actor: str | None = None,
            preview: int = 10_000) -> DryRun:
    """Plan a job and list exactly what it would send; writes the ledger and an audit row,
    produces nothing. Refusals (read-only, allow-list, cap, nothing selected) are audited.
    The guards are the process's (`eventlab.settings.guards`): options can narrow them (no
    topic creation), never widen them. `config` says where: a Kafka cluster, a RabbitMQ server
    (with `options.target_kind` a stream, an exchange or queues) or a `Target`."""
    actor = actor or guards.actor()
    options = options or PlanOptions(dlq_header=guards.dlq_header())
    target = target_for(config, options.target_kind)
    options = replace(options, target_kind=target.kind)
    options = replace(options, create_topics=options.create_topics and guards.create_topics())
    described = sel.describe()
    _guard(store, actor, "dry-run", selection=described)
    problems = options.check()
    if problems:
        raise _refuse(store, actor, "dry-run", "; ".join(problems), selection=described)
    cap = guards.max_records()
    job_id = planning.job_id_for(datetime.now(UTC), uuid.uuid4().hex)
    dlq = sel.kind == "dlq"
    try:
        with store.reading() as cur:
            by = selecting.prepare(cur, sel, cap + 1)
            try:
                rows_sql, params = selecting.source_sql(sel, by, options.dlq_header)
                summary = selecting.summary_of(cur, rows_sql, params, dlq)
                stored = selecting.stored_topics(cur)
            finally:
                if by is not None:
                    selecting.release(cur)
    except SelectionError as exc:
        raise _refuse(store, actor, "dry-run", str(exc), selection=described) from None
    skipped = summary.no_destination if dlq else 0
    sendable = summary.count - skipped
    if sendable == 0:
        raise _refuse(store, actor, "dry-run", "nothing to send: the selection is empty"
                      + (f" ({skipped:,} record(s) lack the {options.dlq_header} header)"
                         if skipped else ""), selection=described)
    if sendable > cap:
        raise _refuse(store, actor, "dry-run",
                      f"{sendable:,} records selected, more than the cap of {cap:,} per job: "
                      f"narrow the selection or raise {guards.MAX_RECORDS}", selection=described)
    targets = planning.targets_for([r.topic for r in summary.ranges], summary.destinations,
                                   options, job_id, dlq)
    src_topics = sorted({r.topic for r in summary.ranges if r.topic} | (
        set(summary.destinations) if dlq else set()))
    try:
        listed = target.partition_counts(sorted(set(src_topics) | set(targets.values())))
    except EventLabError as exc:  # the attempt is audited, then the error shown
        with store.transaction() as cur:
            audit.append(cur, actor=actor, action="dry-run", outcome="error",
                         selection=described, detail=str(exc))
        raise
    from_store: dict[str, int] = {}
    for r in summary.ranges:
        if r.topic and r.partition is not None:
            from_store[r.topic] = max(from_store.get(r.topic, 0), r.partition + 1)
    source_partitions: dict[str, int] = {"": 1}
    for key in targets:
        topic = (sel.topic or "") if dlq else key
        n = listed.get(topic) if topic else None
        source_partitions[key] = n or from_store.get(topic, 1)
    sensitive = set(src_topics) | stored | ({sel.topic} if sel.topic else set())
    sensitive |= set(getattr(target, "sensitive", ()))  # e.g. an SQS redrive's source queue
    the_plan = planning.make_plan(
        job_id=job_id, actor=actor, kind=sel.kind, options=options, targets=targets,
        source_partitions=source_partitions,
        existing={t: listed.get(t) for t in targets.values()}, sensitive=sensitive,
        count=sendable, bytes_=summary.bytes, tombstones=summary.tombstones, skipped=skipped)
    if hasattr(target, "plan_warnings"):  # what the target can check afterwards (AWS)
        the_plan = replace(the_plan, warnings=(*the_plan.warnings,
                                               *target.plan_warnings(the_plan)))
    _check_targets(store, actor, "dry-run", the_plan, described)
    if the_plan.create and not target.creates:
        raise _refuse(store, actor, "dry-run", f"target(s) missing on {target.describe()}: "
                      f"{', '.join(the_plan.create)}; declare them first (a {target.kind} "
                      "target is never created by EventLab)", selection=described,
                      job_id=job_id)
    if the_plan.create and not options.create_topics:
        raise _refuse(store, actor, "dry-run", "target topic(s) do not exist and creation is "
                      f"off ({guards.CREATE_TOPICS}=0): {', '.join(the_plan.create)}",
                      selection=described, job_id=job_id)
    with store.transaction() as cur:
        by = selecting.prepare(cur, sel, cap + 1)
        try:
            rows_sql, params = selecting.source_sql(sel, by, options.dlq_header)
            keys = _key_partitions(cur, rows_sql, params, set(the_plan.target_partitions.values()))
            written = ledger.insert_job(cur, the_plan, described, rows_sql, params, keys, dlq)
        finally:
            if by is not None:
                selecting.release(cur)
        if written != sendable:
            raise SelectionError(f"the selection changed while it was planned ({sendable:,} "
                                 f"then {written:,} records): plan again")
        audit.append(cur, actor=actor, action="dry-run", outcome="planned", job_id=job_id,
                     selection=described, target=", ".join(the_plan.target_topics),
                     counts={"planned": sendable, "sent": 0, "failed": 0, "unknown": 0,
                             "unsent": sendable},
                     detail="; ".join(the_plan.warnings) or None)
        per_target = ledger.by_target(cur, job_id)
        records = ledger.records(cur, job_id, limit=preview)
    return DryRun(the_plan, summary, per_target, records)


def send_again(store: EventStore, job_id: str, *, actor: str | None = None) -> Plan:
    """Plan a new job sending the same records as `job_id` again (a new replay id)."""
    actor = actor or guards.actor()
    _guard(store, actor, "send-again", job_id=job_id)
    with store.reading() as cur:
        old = ledger.job(cur, job_id)
    if old is None:
        raise RepublishRefused(f"no republish job {job_id} in this database")
    new_id = planning.job_id_for(datetime.now(UTC), uuid.uuid4().hex)
    plan = replace(old.plan, job_id=new_id, actor=actor,
                   warnings=(*old.plan.warnings, f"sends the records of job {job_id} again"))
    _check_targets(store, actor, "send-again", plan, old.selection)
    with store.transaction() as cur:
        ledger.copy_job(cur, job_id, plan, {**old.selection, "send_again_of": job_id})
        audit.append(cur, actor=actor, action="send-again", outcome="planned", job_id=new_id,
                     selection=old.selection, target=", ".join(plan.target_topics),
                     counts={"planned": plan.count}, detail=f"copy of job {job_id}")
    return plan


# -- settling unknown records -----------------------------------------------------------------

def settle(store: EventStore, config: KafkaConfig | Target, job_id: str
           ) -> tuple[int, int, int]:
    """Read the targets for the job's unknown records: (found, missing, extra copies)."""
    return target_for(config).settle(store, job_id)


# -- execute / resume -------------------------------------------------------------------------

def execute(store: EventStore, config: KafkaConfig | RabbitConfig | Target, job_id: str, *,
            actor: str | None = None,
            confirm: str | None = None, rate: float | None = None,
            cancel: threading.Event | None = None,
            progress: Callable[[Counts], None] | None = None,
            delivery_timeout_s: float = DELIVERY_TIMEOUT_S,
            action: str = "execute", starting: Callable[[], None] | None = None) -> JobReport:
    """Send the job's plan (or the rest of it: resume). See the module.

    `starting` is called once every guard has passed, just before the job touches the
    target: a caller says "sending" there, never before a refusal."""
    actor = actor or guards.actor()
    started = time.monotonic()
    row = _guarded_job(store, actor, action, job_id)
    plan, described = row.plan, row.selection
    targets = ", ".join(plan.target_topics)
    target = target_for(config, plan.target_kind)
    if target.kind != plan.target_kind:
        raise _refuse(store, actor, action, f"job {job_id} writes to {plan.target_kind}, not "
                      f"{target.kind}: give that connection", job_id=job_id, target=targets)
    _check_targets(store, actor, action, plan, described)
    cap = guards.max_records()
    if plan.count > cap:
        raise _refuse(store, actor, action, f"the job plans {plan.count:,} records, more than "
                      f"the cap of {cap:,} ({guards.MAX_RECORDS})", selection=described,
                      job_id=job_id, target=targets)
    if not planning.confirmed(plan, confirm):
        raise _refuse(store, actor, action, "sending into a source topic needs its name typed "
                      f"back: {', '.join(plan.confirm)}", selection=described, job_id=job_id,
                      target=targets)
    if starting is not None:
        starting()
    cancel = cancel or threading.Event()
    notes: list[str] = []
    error: str | None = None
    sent_now = found = missing = extra = 0
    verified = False
    try:
        error = _lost(store, target, job_id)  # before anything re-creates a target
        if error is None:
            target.ensure(plan)
            found, missing, extra = target.settle(store, job_id)
            if found or missing:
                notes.append(target.settle_note(found, missing) if hasattr(
                    target, "settle_note") else f"settled {found + missing:,} unknown "
                    f"record(s) by reading the target: {found:,} found, {missing:,} not found")
            notes += getattr(target, "settle_notes", ())  # unknown records left unknown
            if extra:
                notes.append(f"{extra:,} extra copies of this job's records found in the target")
            with store.transaction() as cur:
                before = ledger.counts(cur, job_id)
                if before.unsent or before.failed:
                    ledger.set_status(cur, job_id, "running")
            if not (before.unsent or before.failed):
                notes.append("nothing to send: every record is acknowledged")
            else:
                sent_now, error = target.send(store, plan, rate, cancel, progress,
                                              delivery_timeout_s)
            with store.reading() as cur:
                complete = ledger.counts(cur, job_id).sent == plan.count
            if error is None and complete:  # done only when every ack is seen in the target
                error = _lost(store, target, job_id) if sent_now else None
                verified = error is None
                if verified:
                    notes.append(getattr(target, "unverifiable", None)
                                 or "every acknowledged record verified in the target")
    except EventLabError as exc:
        error = str(exc)
    with store.transaction() as cur:
        final = ledger.counts(cur, job_id)
        if final.lost:
            status = "lost"
        elif final.sent == final.planned and verified:
            status = "done"
        elif cancel.is_set() and error is None:
            status = "cancelled"
        else:
            status = "partial"
        ledger.set_status(cur, job_id, status)
        audit.append(cur, actor=actor, action=action, outcome=status, job_id=job_id,
                     selection=described, target=targets, counts=final.to_dict(),
                     detail="; ".join([*notes, *([error] if error else [])]) or None)
    return JobReport(job_id, status, tuple(plan.target_topics), final,
                     time.monotonic() - started, sent_now, found, missing, extra, error,
                     tuple(notes))


def _lost(store: EventStore, target: Target, job_id: str) -> str | None:
    """Read the job's acknowledged records back; None when all are where they were
    acknowledged, else the 'target lost N acknowledged records' message (they are marked
    lost). A job with records lost earlier stays lost: sending again is a new job."""
    with store.reading() as cur:
        earlier = ledger.counts(cur, job_id).lost
    check = target.verify(store, job_id)
    verify.mark_lost(store, job_id, check)
    if check.lost:
        return check.message()
    if earlier:
        return verify.lost_message(earlier, "found when the target was read back before; "
                                            "see the job's records")
    return None


def report(store: EventStore, job_id: str) -> JobReport | None:
    """Where a job stands (from the ledger), None when unknown."""
    with store.reading() as cur:
        row = ledger.job(cur, job_id)
        if row is None:
            return None
        c = ledger.counts(cur, job_id)
    return JobReport(job_id, row.status, tuple(row.plan.target_topics), c)
