"""Divergence: a consumer's read model against the rebuilt states, and the events it missed."""

from __future__ import annotations

import streamlit as st

from eventlab.ui import diverge_widgets as w

st.title("Divergence")
st.caption("Load a read model (a CSV, JSON lines or Parquet file with one row per entity) and "
           "compare every row with the entity's state rebuilt from the events, field by field: "
           "inside DuckDB with the merge reducer, through the fold with rules or a Python "
           "reducer. Each differing field names the event that last changed it.")
loaded = w.read_model_input()
if loaded is None:
    st.stop()
spec, entity_type = w.settings(loaded)
choice, max_events = w.reducer_bar()
report = w.compare(loaded, spec, entity_type, choice, max_events)
if report is None:
    st.stop()
w.summary(report)
w.differences(report)
w.missing_and_extra(report)
