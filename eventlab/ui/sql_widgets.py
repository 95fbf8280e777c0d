"""Widgets of the SQL console: the query form, and the result with its ids linked.

The query box sits in a form, so Ctrl+Enter (Cmd+Enter) in it submits the form, like the Run
button (Streamlit submits a form on Ctrl+Enter in its text area; a text area outside a form
only commits its text). The text is bound to the URL (`/sql?sql=...`): a link with a query
restores it and runs it. A result column named `event_id` links each value to Explore, one
named `entity_id` to Time travel (at the row's `seq` when the result has one).
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from eventlab.errors import EventLabError
from eventlab.explore import export
from eventlab.republish.selection import Selection
from eventlab.store import sandbox
from eventlab.ui import export_widgets, links, republish_widgets
from eventlab.ui.text import inert_lines

DEFAULT_QUERY = ("SELECT event_type, count(*) AS events\nFROM events\n"
                 "GROUP BY ALL\nORDER BY events DESC")


def query_form() -> tuple[str, float, bool]:
    """The query, the time limit, and whether to run it now: on Run or Ctrl+Enter, when the
    URL brought this text (a link), or again on a rerun after it ran."""
    with st.form("sql_form", border=False):
        query = st.text_area("Query", key="sql", height=160, bind="query-params",
                             value=DEFAULT_QUERY,
                             help="Ctrl+Enter (Cmd+Enter) runs it, like the Run button.")
        left, right = st.columns([1, 3], vertical_alignment="bottom")
        timeout = left.number_input("Time limit (seconds)", min_value=0.5, max_value=60.0,
                                    value=sandbox.DEFAULT_TIMEOUT_S, step=0.5,
                                    key="sql_timeout")
        submitted = right.form_submit_button("Run", type="primary", key="sql_run",
                                             icon=":material/play_arrow:")
    linked = st.query_params.get("sql") == query  # restored from the URL (or just run)
    again = st.session_state.get("sql_last") == query
    return query, float(timeout), bool(submitted or linked or again)


SHOWN_NAMES = {"count_star()": "count(*)"}
"""DuckDB's names for unnamed result columns, as the query wrote them."""


def linked_frame(frame: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The result with `event_id` values as links to Explore and `entity_id` values as links
    to Time travel (built per row of the small, capped result), and the column config that
    shows them as links labelled with the id."""
    names = {str(c).lower(): c for c in frame.columns}
    config: dict[str, Any] = {}
    out = frame
    event_col, entity_col, seq_col = names.get("event_id"), names.get("entity_id"), \
        names.get("seq")
    if event_col is not None:
        out = out.copy()
        out[event_col] = [None if pd.isna(v) else links.explore_event(str(v)).url
                          for v in frame[event_col]]
        config[event_col] = st.column_config.LinkColumn(
            str(event_col), display_text=r"\?event_id=(.*)$",
            help="Opens the event in Explore")
    if entity_col is not None:
        out = out.copy() if out is frame else out
        seqs = frame[seq_col] if seq_col is not None else [None] * len(frame)
        out[entity_col] = [
            None if pd.isna(v) else
            links.time_travel(str(v)).url if s is None or pd.isna(s) else
            links.time_travel(str(v), seq=int(s)).url
            for v, s in zip(frame[entity_col], seqs, strict=True)]
        config[entity_col] = st.column_config.LinkColumn(
            str(entity_col), display_text=r"\?entity_id=([^&]*)",
            help="Opens the entity in Time travel")
    return out, config


def result(cur: Any, query: str, timeout: float) -> None:
    """Run the query in the sandbox and show the result (or what went wrong)."""
    try:
        res = sandbox.run_sql(cur, query, timeout_s=timeout)
    except EventLabError as exc:
        st.error(inert_lines(exc))
        return
    st.session_state["sql_last"] = query
    st.caption(f"{res.table.num_rows:,} row(s) in {res.elapsed_ms:.0f} ms")
    if res.truncated:
        st.warning(inert_lines(res.notice))
    frame, config = linked_frame(res.table.to_pandas().rename(columns=SHOWN_NAMES))
    st.dataframe(frame, hide_index=True, key="sql_result", column_config=config)
    export_widgets.download_buttons(cur, export.sql_result(query), key="sql_export")
    cols = set(res.table.column_names)
    if "event_id" in cols or {"topic", "partition", "offset"} <= cols:
        republish_widgets.republish_button(Selection.query(query, label="SQL console result"),
                                           key="sql_republish")
