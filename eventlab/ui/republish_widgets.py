"""Widgets of the Republish page: selection, summary, dry run, confirmation, progress, jobs, audit.

Other pages send a selection here with `republish_button(selection, key)`: it puts the
selection into session state and switches to this page. The page also takes
`/republish?entity_id=X&from_seq=A&to_seq=B` and `/republish?dlq=TOPIC`.

The target is a Kafka topic or, when EVENTLAB_RABBITMQ_* is set, a RabbitMQ stream or an
exchange with a routing key: the page only picks the connection (`Connections`); the plan,
dry run, confirmation, guards, progress, ledger, verify and audit are `eventlab.republish`'s,
the same for every target.

Nothing here sends anything by itself: the dry run writes the plan (`republish.dry_run`),
Execute starts a server-side job (`republish.start_republish`) with this session's
idempotency token, and both refuse inside, in read-only mode or outside the allow-list.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

import streamlit as st

from eventlab import republish
from eventlab.aws.config import AwsConfig
from eventlab.errors import EventLabError
from eventlab.jobs import JobManager
from eventlab.kafka.config import KafkaConfig
from eventlab.rabbitmq.config import RabbitConfig
from eventlab.republish import guards, ledger
from eventlab.republish import plan as planning
from eventlab.republish.aws_consent import resend_unknown
from eventlab.republish.selection import Selection
from eventlab.store.eventstore import EventStore
from eventlab.ui import aws_republish, aws_widgets, context, kafka_cluster, links, rabbitmq_widgets
from eventlab.ui.text import inert, inert_join, inert_lines

PAGE = links.page("republish").file
SELECTION = "rp_selection"
JOB = "rp_job"
TARGETS = {"Kafka topic": planning.KAFKA, "RabbitMQ stream": planning.RABBITMQ_STREAM,
           "RabbitMQ exchange + routing key": planning.RABBITMQ_EXCHANGE,
           "RabbitMQ queues (dead-letter redrive)": planning.RABBITMQ_QUEUE}
"""The target kinds the page offers (RabbitMQ ones only when EVENTLAB_RABBITMQ_* is set, the
queues only for a dead-letter selection)."""
KINDS = {"One entity (seq range)": "entity", "Event ids": "ids", "SQL query": "sql",
         "Dead-letter topic (redrive)": "dlq", "Quarantine": "quarantine"}


def republish_button(selection: Selection, key: str, label: str = "Republish…") -> None:
    """A button that opens the Republish page with `selection` (for other pages)."""
    if st.button(label, key=key, help="Plan a republish of these records: a dry run comes "
                                      "first, nothing is sent without confirmation."):
        st.session_state[SELECTION] = selection
        st.session_state.pop(JOB, None)
        # query_params={}: a page whose widgets are bound to the URL cannot have its query
        # parameters cleared (Streamlit refuses), but they can be replaced.
        st.switch_page(PAGE, query_params={})




def kafka_config() -> KafkaConfig | None:
    """The Sources page's connection if made, else EVENTLAB_KAFKA_* / secrets."""
    try:
        return kafka_cluster.cluster()[0]
    except EventLabError as exc:
        st.error(f"Kafka settings: {inert_lines(exc)}")
        return None


class Connections:
    """The brokers this page may write into: Kafka (the Sources page's cluster or
    EVENTLAB_KAFKA_*) and RabbitMQ (EVENTLAB_RABBITMQ_*), each None when not configured.
    The page picks the target object here; `republish.dry_run` / `execute` do the rest."""

    def __init__(self, kafka: KafkaConfig | None, rabbit: RabbitConfig | None,
                 aws: AwsConfig | None = None) -> None:
        self.kafka = kafka
        self.rabbit = rabbit
        self.aws = aws

    def kinds(self, selection_kind: str | None = None) -> dict[str, str]:
        """The target kinds offered for a selection of `selection_kind`, label -> kind."""
        return {label: kind for label, kind in TARGETS.items()
                if (self.kafka if kind == planning.KAFKA else self.rabbit) is not None
                and (kind != planning.RABBITMQ_QUEUE or selection_kind == "dlq")}

    def for_kind(self, kind: str) -> Any:
        """The connection a target of `kind` writes through (None: not configured)."""
        if kind in (planning.SQS, planning.SNS):
            return self.aws
        return self.kafka if kind == planning.KAFKA else self.rabbit

    def describe(self) -> str:
        """Where each configured broker is (no secret)."""
        return " · ".join(x.describe() for x in (self.kafka, self.rabbit) if x is not None)


def connections() -> Connections:
    """Kafka (always: its settings have defaults), RabbitMQ when any EVENTLAB_RABBITMQ_* is
    set, SNS/SQS when any EVENTLAB_AWS_* is set (its own plan section: `ui/aws_republish.py`)."""
    return Connections(kafka_config(), rabbitmq_widgets.configured(), aws_widgets.configured())


def selection_from_url(params: Mapping[str, str]) -> Selection | None:
    """`?entity_id=&from_seq=&to_seq=` or `?dlq=TOPIC`."""
    def num(name: str) -> int | None:
        raw = (params.get(name) or "").strip()
        return int(raw) if raw.lstrip("-").isdigit() else None

    if params.get("entity_id"):
        return Selection.entity(params["entity_id"], num("from_seq"), num("to_seq"),
                                label="link")
    if params.get("dlq"):
        return Selection.dlq(params["dlq"], label="link")
    return None


def selection_form() -> Selection | None:
    """Choose what to republish here (when no other page sent a selection)."""
    kind = KINDS[st.radio("Select", list(KINDS), key="rp_kind", horizontal=True)]
    if kind == "entity":
        c1, c2, c3 = st.columns([3, 1, 1])
        entity = c1.text_input("Entity id", key="rp_entity")
        lo = c2.number_input("From seq", min_value=0, value=None, step=1, key="rp_from")
        hi = c3.number_input("To seq", min_value=0, value=None, step=1, key="rp_to")
        return Selection.entity(entity.strip(), lo, hi, label="Republish page") \
            if entity.strip() else None
    if kind == "ids":
        text = st.text_area("Event ids, one per line", key="rp_ids")
        ids = [t for t in text.splitlines() if t.strip()]
        return Selection.ids(ids, label="Republish page") if ids else None
    if kind == "sql":
        sql = st.text_area("A read-only query returning event_id, or topic, partition, offset",
                           key="rp_sql", placeholder="SELECT event_id FROM events WHERE ...")
        return Selection.query(sql, label="Republish page") if sql.strip() else None
    if kind == "dlq":
        topic = st.text_input("Dead-letter topic (loaded into the database)", key="rp_dlq")
        return Selection.dlq(topic.strip(), label="Republish page") if topic.strip() else None
    reason = st.text_input("Only this quarantine reason (empty: every row)", key="rp_qreason")
    return Selection.quarantine(reason=reason.strip() or None, label="Republish page")


def dlq_header(kind: str) -> str:
    """The header naming a dead letter's destination: RabbitMQ's `x-first-death-queue` for a
    queue redrive, else EVENTLAB_REPUBLISH_DLQ_HEADER (Spring Kafka's by default)."""
    return planning.RABBITMQ_DLQ_HEADER if kind == planning.RABBITMQ_QUEUE else guards.dlq_header()


def choose_target(conns: Connections, sel: Selection) -> str | None:
    """The target kind (a choice only when there is one to make); None when none is
    configured."""
    offered = conns.kinds(sel.kind)
    if not offered:
        return None
    if len(offered) == 1:
        return next(iter(offered.values()))
    return offered[st.radio("Target", list(offered), key="rp_target_kind", horizontal=True)]


def summary(store: EventStore, sel: Selection, kind: str | None = None
            ) -> republish.Summary | None:
    """The selection's count, bytes, topics, partitions and offset ranges (a dead-letter
    selection's destinations by the header of the target `kind`)."""
    st.markdown(f"**Selection** · {inert(sel.text())}")
    try:
        with store.reading() as cur:
            s = republish.summarize(cur, sel, dlq_header=dlq_header(kind or planning.KAFKA))
    except EventLabError as exc:
        st.error(inert_lines(exc))
        return None
    c = st.columns(5)
    c[0].metric("Records", f"{s.count:,}")
    c[1].metric("Bytes", f"{s.bytes:,}")
    c[2].metric("Source topics", f"{len(s.topics)}")
    c[3].metric("Tombstones", f"{s.tombstones:,}")
    c[4].metric("From files", f"{s.from_files:,}")
    if s.ranges:
        st.dataframe([{"topic": r.topic or "(files)", "partition": r.partition,
                       "records": r.count, "bytes": r.bytes, "first offset": r.first_offset,
                       "last offset": r.last_offset} for r in s.ranges],
                     hide_index=True, key="rp_ranges")
    if s.destinations or s.no_destination:
        st.caption("Redrive destinations: " + ", ".join(
            f"{inert(d)} ({n:,})" for d, n in s.destinations.items())
            + (f" · {s.no_destination:,} without a destination header" if s.no_destination
               else ""))
    return s


def plan_form(store: EventStore, conns: Connections, kind: str, sel: Selection,
              read_only: bool) -> None:
    """Target (of `kind`: Kafka, or RabbitMQ when configured), partitioning, timestamp,
    reason; the Dry run button plans into it."""
    kafka = kind == planning.KAFKA
    with st.form("rp_plan_form"):
        c1, c2 = st.columns(2)
        target = c1.text_input(
            "Target topic (empty: a new `<topic>.replay.<job>` per source topic)" if kafka else
            "Target stream (empty: a new `<stream>.replay.<job>`, created)"
            if kind == planning.RABBITMQ_STREAM else "Exchange (it must exist)"
            if kind == planning.RABBITMQ_EXCHANGE else "One queue for every record (empty: the "
            "queue each record's x-first-death-queue names)", key="rp_target")
        reason = c2.text_input("Reason (sent as eventlab-reason, kept in the audit log)",
                               key="rp_reason")
        routing = (st.text_input("Routing key (empty: each record's stored x-routing-key)",
                                 key="rp_routing_key")
                   if kind == planning.RABBITMQ_EXCHANGE else "")
        c3, c4, c5 = st.columns(3)
        part = c3.radio("Partitioning", ["by original key", "original partition number"],
                        key="rp_partitioning", disabled=not kafka)
        ts = c4.radio("Timestamp", ["original", "now"], key="rp_timestamp")
        drop = c5.checkbox("Drop the dead-letter headers (kafka_dlt-*, x-death)", key="rp_drop",
                           disabled=sel.kind != "dlq")
        clicked = st.form_submit_button("Dry run", type="primary", key="rp_dry",
                                        disabled=read_only)
    if not clicked:
        return
    options = planning.PlanOptions(
        target=target.strip() or None, timestamp=ts, reason=reason.strip(),
        partitioning=planning.BY_KEY if part.startswith("by") else planning.BY_PARTITION,
        drop_dlq_headers=bool(drop), dlq_header=dlq_header(kind),
        create_topics=guards.create_topics(), target_kind=kind,
        routing_key=routing.strip() or None if kind == planning.RABBITMQ_EXCHANGE else None)
    try:
        with st.spinner("Planning ..."):
            dry = republish.dry_run(store, conns.for_kind(kind), sel, options, actor=_actor())
    except EventLabError as exc:
        st.error(inert_lines(exc))
        return
    st.session_state[JOB] = dry.plan.job_id
    st.session_state.pop("rp_confirm", None)


_KIND_NAMES = {planning.KAFKA: "Kafka topic", planning.RABBITMQ_STREAM: "RabbitMQ stream",
               planning.RABBITMQ_EXCHANGE: "RabbitMQ exchange",
               planning.RABBITMQ_QUEUE: "RabbitMQ queue(s)"}


def _actor() -> str:
    return f"{guards.actor()} (app)"


def _counts_row(c: ledger.Counts) -> None:
    cols = st.columns(6)
    for col, (label, value) in zip(cols, [("Planned", c.planned), ("Sent", c.sent),
                                          ("Failed", c.failed), ("Unknown", c.unknown),
                                          ("Unsent", c.unsent), ("Lost", c.lost)],
                                   strict=True):
        col.metric(label, f"{value:,}")


def job_panel(store: EventStore, conns: Connections, manager: JobManager, job_id: str,
              read_only: bool) -> None:
    """The plan (dry run) of a job, its confirmation step, progress and actions; the job
    writes through the connection of its plan's target kind."""
    with store.reading() as cur:
        row = ledger.job(cur, job_id)
    if row is None:
        st.warning(f"Job {inert(job_id)} is not in this database.")
        return
    plan = row.plan
    config = conns.for_kind(plan.target_kind)
    if config is None:
        st.warning(f"Job {inert(job_id)} writes into {inert(plan.target_kind)}, which is not "
                   "configured here: set its EVENTLAB_RABBITMQ_* or EVENTLAB_AWS_* settings and "
                   "restart to resume it.")
        return
    live = [v for v in manager.jobs(republish.KIND) if v.params.get("job_id") == job_id]
    running = bool(live and live[0].running)
    st.subheader(f"Job {inert(job_id)}", anchor=False)
    kafka = plan.target_kind == planning.KAFKA
    where = ", ".join(
        f"{inert(t)} ({n} partition(s){', created' if t in plan.create else ''})" if kafka
        else f"{inert(t)}{' (created)' if t in plan.create else ''}"
        for t, n in sorted(plan.target_partitions.items()))
    routing = ("" if plan.target_kind != planning.RABBITMQ_EXCHANGE else
               f" · routing key {inert(plan.routing_key)}" if plan.routing_key is not None
               else " · routing key: each record's x-routing-key")
    st.markdown(f"**Target** {_KIND_NAMES.get(plan.target_kind, plan.target_kind)} {where}"
                + routing
                + (f" · partitioning by {plan.partitioning}" if kafka else "")
                + f" · timestamp {plan.timestamp} · "
                f"status **{row.status}**"
                + (" (running)" if running else
                   " (interrupted: resume it)" if row.status == "running" else ""))
    st.markdown(f"**Dry run** · {plan.count:,} record(s) · {plan.bytes:,} bytes · "
                f"{plan.tombstones:,} tombstone(s)"
                + (f" · {plan.skipped:,} not sendable (no destination header)"
                   if plan.skipped else "") + f" · reason: {inert(plan.reason or '(none)')}")
    if row.status == "planned":  # what the plan will do; afterwards the Target line says it
        for w in plan.warnings:
            st.warning(inert_lines(w))
    elif kept := [w for w in plan.warnings if not w.startswith("will be created")]:
        st.caption("Planned with: " + inert_join(kept, "; "))
    with store.reading() as cur:
        st.dataframe(ledger.by_target(cur, job_id).to_pandas(), hide_index=True,
                     key="rp_by_target")

    def progress() -> None:
        if running and not any(v.running for v in manager.jobs(republish.KIND)
                               if v.params.get("job_id") == job_id):
            st.rerun(scope="app")  # finished meanwhile: redraw the actions too
        with store.reading() as cur:
            c = ledger.counts(cur, job_id)
        _counts_row(c)
        if c.planned:
            st.progress(c.sent / c.planned, text=f"{c.sent:,} of {c.planned:,} acknowledged")
        if live and live[0].error:
            st.error(inert_lines(live[0].error))

    if running:
        st.fragment(run_every="1s")(progress)()
    else:
        progress()
    with st.expander("Every record: source position, target partition, outcome",
                     expanded=row.status == "planned"), store.reading() as cur:
        st.dataframe(ledger.records(cur, job_id).to_pandas(), hide_index=True,
                     key="rp_records")
    if read_only:
        return
    with store.reading() as cur:
        c = ledger.counts(cur, job_id)
    if running:
        if st.button("Cancel", key="rp_cancel"):
            manager.cancel(live[0].id)
            st.rerun()
        return
    lost = row.status == "lost"
    if lost:
        st.error(f"The target lost {c.lost:,} acknowledged record(s): they were not found when "
                 "the target was read back (deleted, re-created or truncated). Nothing more is "
                 "sent by this job; send the selection again as a new job.")
    elif c.sent == c.planned:
        st.success(aws_republish.done_text(plan, store) or f"Done: all {c.planned:,} records "
                   "acknowledged and verified in the target.")
    if lost or c.sent == c.planned:
        if st.button("Send again (a new job with a new replay id)", key="rp_again"):
            try:
                again = republish.send_again(store, job_id, actor=_actor())
            except EventLabError as exc:
                st.error(inert_lines(exc))
            else:
                st.session_state[JOB] = again.job_id
                st.rerun()
        return
    typed = None
    if plan.confirm:
        st.error(f"The target is a source topic: {inert_join(plan.confirm)}. Type its name "
                 "to confirm.")
        typed = st.text_input("Topic name(s), comma-separated", key="rp_confirm")
    ok = planning.confirmed(plan, typed)
    rate = st.number_input("Rate limit (records/s, 0: none)", min_value=0, value=0, step=100,
                           key="rp_rate")
    label = "Execute" if row.status == "planned" else "Resume"
    consent = aws_republish.unknown_consent(plan, c)
    if st.button(label, type="primary", key="rp_execute", disabled=not ok):
        token = st.session_state.setdefault("rp_token", uuid.uuid4().hex)
        try:
            if consent:
                resend_unknown(store, job_id, actor=_actor())
            republish.start_republish(manager, store, config, job_id, actor=_actor(),
                                      confirm=typed, rate=float(rate) or None,
                                      action="execute" if label == "Execute" else "resume",
                                      token=f"{token}:{job_id}:{c.sent}:{c.unsent}")
        except EventLabError as exc:
            st.error(inert_lines(exc))
        else:
            st.rerun()


def jobs_table(store: EventStore) -> str | None:
    """Every job of this database; returns a job picked to show."""
    with store.reading() as cur:
        table = ledger.jobs(cur)
    if table.num_rows == 0:
        st.caption("No republish jobs yet.")
        return None
    st.dataframe(table.to_pandas(), hide_index=True, key="rp_jobs")
    ids = table.column("job_id").to_pylist()
    pick = st.selectbox("Show job", ["(none)", *ids], key="rp_pick")
    return None if pick == "(none)" else pick


def audit_table(store: EventStore) -> None:
    """The audit log, newest first (dry runs, executes, resumes, refusals)."""
    with store.reading() as cur:
        table = republish.audit_rows(cur)
    if table.num_rows == 0:
        st.caption("The audit log is empty.")
    else:
        st.dataframe(table.to_pandas(), hide_index=True, key="rp_audit")


def page() -> None:
    """The whole Republish page."""
    store = context.store()
    manager = context.job_manager()
    read_only = context.read_only()
    if read_only:
        st.warning("Read-only mode (EVENTLAB_READ_ONLY): republishing is disabled, here and "
                   "in the republish function itself. Restart without EVENTLAB_READ_ONLY to "
                   "republish.")
    sel = st.session_state.get(SELECTION) or selection_from_url(st.query_params)
    if sel is not None and st.button("Choose another selection", key="rp_clear"):
        st.session_state.pop(SELECTION, None)
        st.session_state.pop(JOB, None)
        st.query_params.clear()
        st.rerun()
    if sel is None:
        sel = selection_form()
    conns = connections()
    if sel is not None:
        kind = choose_target(conns, sel)
        s = summary(store, sel, kind)
        if s is not None and s.count and kind is not None:
            st.caption(inert(conns.describe()))
            plan_form(store, conns, kind, sel, read_only)
        if s is not None and s.count and (aws_job := aws_republish.plan_section(
                store, sel, read_only)):
            st.session_state[JOB] = aws_job
    picked = st.session_state.get("rp_pick")
    job_id = picked if picked and picked != "(none)" else st.session_state.get(JOB)
    if job_id:
        job_panel(store, conns, manager, job_id, read_only)
    st.divider()
    st.subheader("Jobs")
    jobs_table(store)
    st.subheader("Audit log")
    audit_table(store)
