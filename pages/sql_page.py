"""SQL console: one read-only SELECT over the store, sandboxed, time-limited, capped."""

from __future__ import annotations

import streamlit as st

from eventlab.errors import EventLabError
from eventlab.store import sandbox
from eventlab.ui import context

st.title("SQL console")
st.caption(
    f"One read-only SELECT over the tables `events`, `quarantine`, `ingest_offsets` and "
    f"`ingested_files`. No file access, no settings; stopped after the time limit; at most "
    f"{sandbox.DEFAULT_MAX_ROWS:,} rows are shown.")

query = st.text_area("Query", key="sql", height=160, bind="query-params",
                     value="SELECT event_type, count(*) AS events\nFROM events\n"
                           "GROUP BY ALL\nORDER BY events DESC")
timeout = st.number_input("Time limit (seconds)", min_value=0.5, max_value=60.0,
                          value=sandbox.DEFAULT_TIMEOUT_S, step=0.5, key="sql_timeout")

if st.button("Run", type="primary", key="sql_run") or st.session_state.get("sql_last") == query:
    try:
        result = sandbox.run_sql(context.cursor(), query, timeout_s=float(timeout))
    except EventLabError as exc:
        st.error(f"{exc}")
    else:
        st.session_state["sql_last"] = query
        st.caption(f"{result.table.num_rows:,} row(s) in {result.elapsed_ms:.0f} ms")
        if result.truncated:
            st.warning(f"Truncated: only the first {result.max_rows:,} rows are shown. "
                       "Add a LIMIT or aggregate.")
        st.dataframe(result.table.to_pandas(), hide_index=True, key="sql_result")
