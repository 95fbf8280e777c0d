"""The Consumers page's rewind panel: plan a reset of the chosen group on one topic (a dry run,
audited), show per partition the current and new offset and the lag left, then apply it with the
group name typed back and a reason, and undo the last reset. Every guard is checked again inside
`eventlab.rewind.run.execute`; the buttons only spare a useless click (docs/lag-reset.md)."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import streamlit as st

from eventlab.errors import EventLabError
from eventlab.kafka.config import KafkaConfig
from eventlab.lag.arith import lag_duration
from eventlab.lag.snapshot import GroupLag
from eventlab.rewind import run
from eventlab.rewind.plan import KINDS, RewindPlan, Target
from eventlab.store.eventstore import EventStore
from eventlab.ui.text import inert, inert_lines

CHOICES = [k for k in KINDS if k != "undo"]
HINTS = {"to-datetime": "an ISO time, e.g. 2026-12-07T14:03 (UTC when no zone)",
         "to-offset": "PARTITION:OFFSET,..., e.g. 0:120,1:95", "by": "records, -100 rewinds",
         "to-event": "a stored event id (its partition moves)"}
PLAN, DONE = "rw_plan_obj", "rw_done"


def plan_rows(plan: RewindPlan) -> pd.DataFrame:
    """The plan as shown: one row per partition."""
    return pd.DataFrame([{
        "partition": f"{plan.topic}/{m.partition}",
        "current": "no commit" if m.current is None else f"{m.current:,}",
        "new": f"{m.new:,}", "lag after (records)": m.lag_after,
        "lag after": "—" if m.lag_seconds_after is None else lag_duration(m.lag_seconds_after),
        "note": m.note or ("" if m.changes else "unchanged")} for m in plan.moves])


def panel(config: KafkaConfig, store: EventStore, group: GroupLag, *, read_only: bool) -> None:
    """The rewind expander for `group`."""
    with st.expander(f"Rewind group {inert(group.group)} (reset offsets)"):
        if read_only:
            st.caption("Read-only mode (EVENTLAB_READ_ONLY): resetting offsets is disabled.")
            return
        st.caption("Dry run first; the group must have no active members, be allowed by "
                   "EVENTLAB_RESET_GROUPS, and its name typed back. Audited, and undoable.")
        topics = sorted({p.topic for p in group.partitions})
        c1, c2, c3 = st.columns([2, 1, 2])
        topic = c1.selectbox("Topic", topics, key="rw_topic")
        how = c2.selectbox("To", CHOICES, key="rw_how")
        value = c3.text_input("Value", key="rw_value", help=HINTS.get(how),
                              disabled=how in ("to-earliest", "to-latest"))
        if st.button("Dry run", key="rw_dry") and topic:
            _plan(lambda: run.plan_reset(config, group.group, topic,
                                         Target(how, "" if how in ("to-earliest", "to-latest")
                                                else value.strip()), store), store)
        plan = st.session_state.get(PLAN)
        if isinstance(plan, RewindPlan) and plan.group == group.group:
            _confirm(config, store, plan)
        done = st.session_state.get(DONE)
        if done and done[0] == group.group:
            st.success(f"Reset {done[1]} applied and read back.")
            if st.button("Undo this reset", key="rw_undo"):
                _plan(lambda: run.plan_undo(config, store, done[1]), store)
                st.rerun()


def _plan(make: Callable[[], RewindPlan], store: EventStore) -> None:
    """Plan, audit the dry run, keep it in the session (or say why not)."""
    try:
        plan = make()
        run.dry_run(store, plan)
    except EventLabError as exc:
        st.error(f"Not planned: {inert_lines(exc)}")
        return
    st.session_state[PLAN] = plan


def _confirm(config: KafkaConfig, store: EventStore, plan: RewindPlan) -> None:
    st.markdown(f"Plan for **{inert(plan.group)}** on {inert(plan.topic)} "
                f"({inert(plan.target.describe())}):")
    st.dataframe(plan_rows(plan), hide_index=True, key="rw_table")
    c1, c2 = st.columns(2)
    confirm = c1.text_input("Type the group name to confirm", key="rw_confirm")
    reason = c2.text_input("Why (audited)", key="rw_reason")
    ready = confirm == plan.group and bool(reason.strip())
    if st.button("Reset offsets", key="rw_execute", type="primary", disabled=not ready):
        try:
            reset_id = run.execute(config, store, plan, confirm=confirm, reason=reason)
        except EventLabError as exc:
            st.error(f"Not reset: {inert_lines(exc)}")
            return
        st.session_state.pop(PLAN, None)
        st.session_state[DONE] = (plan.group, reset_id)
        st.rerun()
