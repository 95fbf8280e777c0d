"""Rewinding a group, with I/O: plan from the cluster, execute exactly the plan behind every
guard, verify, audit, and undo from the audit row (docs/lag-reset.md; docs/safety.md, item 32).

Guards, checked inside `execute` (item 37: process settings, no argument turns them off):
read-only mode, a guard setting that cannot be read, the allow-list EVENTLAB_RESET_GROUPS (unset:
no group may be rewound), the group name typed back, a reason, no active members (named when the
broker describes them; the broker's own refusal otherwise), and offsets unchanged since the plan.
Every attempt is a row of the append-only audit log: dry runs, refusals and applied resets
(with the offsets before, which `plan_undo` restores).
"""

from __future__ import annotations

import json
import re
import time
import uuid
from typing import Any

from eventlab import settings
from eventlab.errors import EventLabError, ReadOnlyError
from eventlab.kafka import group_commit
from eventlab.kafka.admin import offset_bounds, partition_counts
from eventlab.kafka.config import KafkaConfig
from eventlab.kafka.groups import group_offsets, read_records_at
from eventlab.republish import audit
from eventlab.rewind.by_time import offsets_at_time
from eventlab.rewind.plan import PlanError, RewindPlan, Target, build, parse_time, resolve
from eventlab.store import db
from eventlab.store.eventstore import EventStore

ACTION = "reset-offsets"
UNDO = "reset-undo"


class ResetRefused(EventLabError):
    """A reset was refused by a guard; the refusal is audited."""


def plan_reset(config: KafkaConfig, group: str, topic: str, target: Target,
               store: EventStore | None = None, *,
               found: dict[int, int | None] | None = None) -> RewindPlan:
    """Read the group's offsets and the topic's bounds, and plan `target` (reads only)."""
    count = partition_counts(config, [topic]).get(topic)
    if count is None:
        raise PlanError(f"topic {topic} does not exist on {config.bootstrap}")
    bounds = offset_bounds(config, [(topic, p) for p in range(count)], "read_uncommitted")
    partitions = {p: bounds[(topic, p)] for p in range(count)}
    committed = group_commit.committed_offsets(config, group, topic)
    notes: dict[int, str] = {}
    if target.kind == "to-datetime":
        at = parse_time(target.value)
        found, notes = offsets_at_time(config, topic, partitions, int(at.timestamp() * 1000))
    elif target.kind == "to-event":
        found = {**_event_position(store, topic, target.value)}
    wanted = resolve(target, partitions, committed, found=found)
    clamped = {p: min(max(o, partitions[p][0]), partitions[p][1]) for p, o in wanted.items()}
    read = read_records_at(config, {(topic, p): [o] for p, o in clamped.items()
                                    if o < partitions[p][1]})
    stamps = {p: read.found[((topic, p), o)].timestamp_ms / 1000
              for p, o in clamped.items() if ((topic, p), o) in read.found}
    return build(group, topic, target, partitions, committed, wanted, stamps, time.time(),
                 notes)


def _event_position(store: EventStore | None, topic: str, event_id: str) -> dict[int, int]:
    if store is None:
        raise PlanError("--to-event needs the database that holds the event (--db)")
    with store.reading() as cur:
        found = db.rows(cur, 'SELECT topic, "partition", "offset" FROM events WHERE event_id = ? '
                             "AND source = 'kafka' ORDER BY \"offset\" LIMIT 2", [event_id])
    if not found:
        raise PlanError(f"no event {event_id!r} loaded from Kafka is in the database")
    t, p, o = found[0]
    if t != topic:
        raise PlanError(f"event {event_id!r} is on topic {t}, not {topic}")
    return {int(p): int(o)}


def plan_undo(config: KafkaConfig, store: EventStore, reset_id: str) -> RewindPlan:
    """A plan that restores the offsets an applied reset found (partitions that had no commit
    before cannot be un-committed and are left out, said in the error when none is left)."""
    with store.reading() as cur:
        found = db.rows(cur, "SELECT selection FROM audit_log WHERE job_id = ? AND action IN "
                             "(?, ?) AND outcome = 'applied' LIMIT 1", [reset_id, ACTION, UNDO])
    if not found:
        raise PlanError(f"no applied reset {reset_id!r} in the audit log")
    sel = json.loads(found[0][0])
    before = {int(m["partition"]): m["current"] for m in sel["moves"]
              if m["current"] is not None and m["current"] != m["new"]}
    if not before:
        raise PlanError(f"reset {reset_id} changed no partition that had a commit: nothing to undo")
    return plan_reset(config, sel["group"], sel["topic"], Target("undo", reset_id), store,
                      found=before)


def dry_run(store: EventStore, plan: RewindPlan) -> None:
    """Audit the plan as shown (a dry run changes nothing else)."""
    _audit(store, ACTION if plan.target.kind != "undo" else UNDO, "dry-run", plan, None)


def execute(config: KafkaConfig, store: EventStore, plan: RewindPlan, *, confirm: str,
            reason: str) -> str:
    """Commit exactly the plan's offsets for its group, after every guard; verify and audit.
    The reset id (the audit row's job id, for undo)."""
    action = ACTION if plan.target.kind != "undo" else UNDO
    g = settings.guards()
    if g.read_only:
        raise _refuse(store, action, plan, ReadOnlyError(
            "EventLab runs read-only (EVENTLAB_READ_ONLY): resetting offsets is disabled."))
    if g.problems:
        raise _refuse(store, action, plan, ResetRefused(
            "resetting offsets is disabled until the setting is fixed: " + "; ".join(g.problems)))
    if g.reset_groups is None or not re.fullmatch(g.reset_groups, plan.group):
        allowed = ("no group may be reset: set EVENTLAB_RESET_GROUPS to a regular expression "
                   "of the groups that may" if g.reset_groups is None else
                   f"group {plan.group} is outside EVENTLAB_RESET_GROUPS ({g.reset_groups})")
        raise _refuse(store, action, plan, ResetRefused(allowed))
    if confirm != plan.group:
        raise _refuse(store, action, plan, ResetRefused(
            f"type the group name {plan.group} to confirm the reset"))
    if not reason.strip():
        raise _refuse(store, action, plan, ResetRefused("say why (a reason is audited)"))
    members = active_members(config, plan.group)
    if members:
        raise _refuse(store, action, plan, ResetRefused(
            f"group {plan.group} has active members: {', '.join(members)}. Stop its "
            "consumers, then plan again."), reason)
    now = group_commit.committed_offsets(config, plan.group, plan.topic)
    moved = [p for p, before in plan.before().items() if now.get(p) != before]
    if moved:
        raise _refuse(store, action, plan, ResetRefused(
            f"the group's offsets on partition(s) {', '.join(map(str, moved))} moved since "
            "the plan: plan again"), reason)
    try:
        group_commit.commit_group_offsets(config, plan.group, plan.topic, plan.new_offsets())
    except group_commit.GroupActive as exc:
        raise _refuse(store, action, plan, exc, reason) from None
    after = group_commit.committed_offsets(config, plan.group, plan.topic)
    wrong = {p: after.get(p) for p, o in plan.new_offsets().items() if after.get(p) != o}
    reset_id = uuid.uuid4().hex[:12]
    outcome = "applied" if not wrong else "unverified"
    _audit(store, action, outcome, plan, reason, reset_id,
           None if not wrong else f"read back {wrong}")
    if wrong:
        raise EventLabError(f"reset {reset_id} committed, but the group reads back {wrong}")
    return reset_id


def active_members(config: KafkaConfig, group: str) -> list[str]:
    """Members the broker describes for `group` (client id @ host); [] when none or when the
    broker cannot describe it (then its own refusal of the commit is the guard)."""
    info = group_offsets(config, [group]).groups[0]
    return [f"{m.client_id}@{m.host} ({m.member_id})" for m in info.members or ()]


def _audit(store: EventStore, action: str, outcome: str, plan: RewindPlan, reason: str | None,
           job_id: str | None = None, detail: str | None = None) -> None:
    if store.read_only:
        return
    selection: dict[str, Any] = plan.to_dict()
    with store.transaction() as cur:
        audit.append(cur, actor=settings.actor(), action=action, outcome=outcome,
                     job_id=job_id, selection=selection, target=f"group {plan.group}",
                     counts={"planned": sum(m.changes for m in plan.moves)},
                     detail="; ".join(x for x in (reason, detail) if x) or None)


def _refuse(store: EventStore, action: str, plan: RewindPlan, exc: EventLabError,
            reason: str | None = None) -> EventLabError:
    """Audit a refusal (when the store can be written) and return the error to raise."""
    _audit(store, action, "refused", plan, reason, detail=str(exc))
    return exc
