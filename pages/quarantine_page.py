"""Quarantine: input that could not become an event, kept with its raw bytes and reason."""

from __future__ import annotations

import streamlit as st

from eventlab import explore
from eventlab.explore import export
from eventlab.republish.selection import Selection
from eventlab.ui import context, export_widgets, republish_widgets
from eventlab.ui import quarantine_widgets as w

st.title("Quarantine")
st.caption("Rows and records that could not be decoded or lack an entity id, event type or "
           "time. Nothing is dropped: each is kept here with its raw bytes and the reason.")
cur = context.cursor()
summary = explore.quarantine_summary(cur)
if summary.num_rows == 0:
    st.success("Nothing is quarantined.")
    st.stop()

st.subheader("By reason")
st.dataframe(summary.to_pandas(), hide_index=True, key="q_summary")
reasons = sorted(set(summary.column("reason").to_pylist()))
reason = st.selectbox("Show rows for", ["(all reasons)", *reasons], key="q_reason",
                      bind="query-params")
rows = explore.quarantine_rows(cur, None if reason.startswith("(") else reason)
st.subheader(f"Rows ({rows.num_rows:,} shown, newest first)")
st.caption("Select a row to see it in full: the reason, its raw bytes as text or hex, the key "
           "and the headers.")
picked = w.rows_table(rows)
export_widgets.download_buttons(
    cur, export.quarantine(None if reason.startswith("(") else reason), key="q_export")
republish_widgets.republish_button(
    Selection.quarantine(reason=None if reason.startswith("(") else reason,
                         label="quarantined records"), key="q_republish")
if picked is not None:
    row = explore.quarantine_row(cur, picked)
    st.divider()
    if row is None:
        st.warning("That row is no longer in the quarantine.")
    else:
        w.row_detail(row)
