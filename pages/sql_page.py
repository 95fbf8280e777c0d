"""SQL console: one read-only SELECT over the store, sandboxed, time-limited, capped."""

from __future__ import annotations

import streamlit as st

from eventlab.store import sandbox, schema
from eventlab.ui import context
from eventlab.ui import sql_widgets as w

st.title("SQL console")
st.caption(
    f"One read-only SELECT over the tables {', '.join(f'`{t}`' for t in schema.table_names())}. "
    f"No file access, no settings; stopped after the time limit; at most "
    f"{sandbox.DEFAULT_MAX_ROWS:,} rows are shown. Ctrl+Enter runs the query; `event_id` and "
    f"`entity_id` columns link to Explore and Time travel.")

query, timeout, run = w.query_form()
if run:
    w.result(context.cursor(), query, timeout)
