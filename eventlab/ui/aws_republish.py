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
from eventlab.republish.aws_target import redrive
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


def done_text(plan: Plan) -> str | None:
    """What 'done' says for an SQS/SNS job (nothing is read back), None for other targets."""
    if plan.target_kind not in (planning.SQS, planning.SNS):
        return None
    what = "SQS (a queue is not read back)" if plan.target_kind == SQS else (
        "SNS (a topic cannot be read back: not verifiable)")
    return f"Done: all {plan.count:,} records acknowledged by {what}."
