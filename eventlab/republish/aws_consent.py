"""Sending a job's `unknown` SQS/SNS records again, only with the user's explicit consent.

An `unknown` record (the call went out, no answer was recorded) may already be in the target.
Into an SQS queue, or an SNS topic without a trusted tap, EventLab cannot find out: a queue is
never received from (that hides messages from its owner's consumers and counts towards their
`maxReceiveCount`) and a topic cannot be read. Inside the five-minute deduplication window a
FIFO target drops a repeat, so a resume sends such a record again by itself; beyond it, or
into a standard target, a repeat would be a second copy. So the record stays unknown until
the user says to send it again knowing each may then be in the target twice
(`eventlab republish --resume JOB --resend-unknown --execute`, or the Republish page's
confirmation). That consent passes the same guards as every republish (read-only mode, the
target allow-list) and is written to the audit log with how many records it covered.
"""

from __future__ import annotations

from eventlab.errors import EventLabError
from eventlab.republish import audit, guards, ledger
from eventlab.republish.plan import SNS, SQS
from eventlab.republish.run import _check_targets, _guarded_job, _refuse
from eventlab.store.eventstore import EventStore

ACTION = "resend-unknown"
RISK = ("each may already be in the target (its answer was lost), so it may then be there "
        "twice: SQS/SNS cannot be read back to tell")


def resend_unknown(store: EventStore, job_id: str, *, actor: str | None = None) -> int:
    """Mark the job's unknown records unsent, so the next resume sends them (see the
    module); how many. Refused (and audited) in read-only mode, for a target not allowed,
    and for a job that is not into SQS or SNS (those targets settle by reading back)."""
    actor = actor or guards.actor()
    row = _guarded_job(store, actor, ACTION, job_id)
    plan = row.plan
    if plan.target_kind not in (SQS, SNS):
        raise _refuse(store, actor, ACTION, f"job {job_id} writes to {plan.target_kind}: its "
                      "unknown records are settled by reading the target on resume",
                      job_id=job_id, error=EventLabError)
    _check_targets(store, actor, ACTION, plan, row.selection)
    with store.transaction() as cur:
        n = ledger.counts(cur, job_id).unknown
        cur.execute("UPDATE republish_log SET status = 'unsent', error = ?, updated_at = now() "
                    "WHERE job_id = ? AND status = 'unknown'",
                    ["was unknown; sent again with the user's consent to the duplicate risk",
                     job_id])
        audit.append(cur, actor=actor, action=ACTION, outcome="consented", job_id=job_id,
                     selection=row.selection, target=", ".join(plan.target_topics),
                     counts={"planned": plan.count, "unknown": n},
                     detail=f"{n:,} unknown record(s) marked to send again: {RISK}")
    return n
