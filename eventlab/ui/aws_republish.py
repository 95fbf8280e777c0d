"""SQS and SNS targets on the Republish page, offered when EVENTLAB_AWS_* is set: a dry run into
a queue or a topic (or, for a stored SQS dead-letter queue, back to its source queue); the job
panel then runs the job with the AWS settings (`republish/aws_target.py`; docs/aws.md
"Republish")."""

from __future__ import annotations

import streamlit as st

from eventlab import republish
from eventlab.aws.config import AwsConfig
from eventlab.errors import EventLabError
from eventlab.republish import guards
from eventlab.republish import plan as planning
from eventlab.republish.audit import rows as audit_rows
from eventlab.republish.aws_consent import RISK
from eventlab.republish.aws_readback import TAP_HINT
from eventlab.republish.aws_target import TAP_VERIFIED, redrive
from eventlab.republish.ledger import Counts
from eventlab.republish.plan import SNS, SQS, Plan, PlanOptions
from eventlab.republish.selection import Selection
from eventlab.store.eventstore import EventStore
from eventlab.ui import aws_widgets
from eventlab.ui.text import inert, inert_lines

_KINDS = {"SQS queue": SQS, "SNS topic": SNS}


def plan_section(store: EventStore, sel: Selection, read_only: bool) -> str | None:
    """The SQS/SNS dry-run form (nothing when AWS is not configured); the planned job's id."""
    config = aws_widgets.configured()
    if config is None:
        return None
    st.caption(f"Or into SNS/SQS: {inert(config.describe())}")
    with st.form("rp_aws_form"):
        c1, c2 = st.columns(2)
        kind = c1.radio("Target", list(_KINDS), key="rp_aws_kind", horizontal=True)
        name = c2.text_input("Queue (name or URL) or topic (ARN or name)", key="rp_aws_target")
        reason = st.text_input("Reason (sent as eventlab-reason)", key="rp_aws_reason")
        back = st.checkbox("Redrive: this stored SQS dead-letter queue back to its source queue "
                           "(the queue whose redrive policy names it)", key="rp_aws_redrive",
                           disabled=sel.kind != "dlq")
        clicked = st.form_submit_button("Dry run into SNS/SQS", key="rp_aws_dry",
                                        disabled=read_only)
    if not clicked:
        return None
    try:
        return _dry_run(store, config, sel, _KINDS[str(kind)], name.strip(), reason.strip(),
                        bool(back) and sel.kind == "dlq")
    except EventLabError as exc:
        st.error(inert_lines(exc))
        return None


def _dry_run(store: EventStore, config: AwsConfig, sel: Selection, kind: str, name: str,
             reason: str, back: bool) -> str:
    target = name.rstrip("/").rsplit("/", 1)[-1].rsplit(":", 1)[-1] or None
    connection: object = config
    if back:
        sel, connection, target = redrive(config, sel.topic or "", target)
        kind = SQS
    elif target is None:
        raise EventLabError("name the queue or topic to send to")
    options = PlanOptions(target=target, target_kind=kind, reason=reason,
                          create_topics=guards.create_topics())
    with st.spinner("Planning ..."):
        dry = republish.dry_run(store, connection, sel, options,  # type: ignore[arg-type]
                                actor=f"{guards.actor()} (app)")
    return dry.plan.job_id


def job_config(plan: Plan) -> AwsConfig | None:
    """The AWS settings a job into SQS/SNS runs with (None for other targets)."""
    if plan.target_kind not in (SQS, SNS):
        return None
    return aws_widgets.configured()


def done_text(plan: Plan, store: EventStore | None = None) -> str | None:
    """What 'done' says for an SQS/SNS job (read back through a tap, or not at all), None
    for other targets."""
    if plan.target_kind not in (planning.SQS, planning.SNS):
        return None
    if plan.target_kind == SNS and store is not None and _tap_verified(store, plan.job_id):
        return (f"Done: all {plan.count:,} records acknowledged by SNS and found in the "
                "topic's tap.")
    if plan.target_kind == SQS:
        return f"Done: all {plan.count:,} records acknowledged by SQS (a queue is not read back)."
    return (f"Done: all {plan.count:,} records acknowledged by SNS (not verifiable: a topic "
            f"is read back only through a tap made before the job's first send; next time, "
            f"{TAP_HINT}).")


def _tap_verified(store: EventStore, job_id: str) -> bool:
    """Did the job's last run end verified through its topics' taps (its audit note)?"""
    with store.reading() as cur:
        rows = audit_rows(cur, limit=1, job_id=job_id).column("detail").to_pylist()
    return bool(rows) and TAP_VERIFIED in (rows[0] or "")


def unknown_consent(plan: Plan, counts: Counts) -> bool:
    """For an SQS/SNS job with unknown records: the checkbox that sends them again on the
    next resume, naming the duplicate risk (`republish/aws_consent.py`); ticked or not."""
    if plan.target_kind not in (SQS, SNS) or not counts.unknown:
        return False
    st.warning(f"{counts.unknown:,} record(s) are unknown: the call went out and no answer "
               "was recorded. SQS/SNS cannot be read back here (a queue is never received "
               "from; a topic needs a tap made before the job's first send), so a resume "
               "leaves them unknown.")
    return bool(st.checkbox(f"Send the {counts.unknown:,} unknown record(s) again on resume: "
                            f"{RISK} (audited)", key="rp_aws_resend_unknown"))

