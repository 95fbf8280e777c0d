"""EventLab: the Streamlit entry point. Page config, navigation and the shared sidebar only."""

from __future__ import annotations

import streamlit as st

from eventlab.ui import context

st.set_page_config(page_title="EventLab", page_icon="🔬", layout="wide")

pages = st.navigation([
    st.Page("pages/explore.py", title="Explore", icon="🔎", url_path="explore", default=True),
    st.Page("pages/sql_console.py", title="SQL console", icon="🧮", url_path="sql"),
    st.Page("pages/quarantine.py", title="Quarantine", icon="🧪", url_path="quarantine"),
])

with st.sidebar:
    st.caption(f"Database: `{context.db_path()}`")
    if context.read_only():
        st.caption("Read-only mode (EVENTLAB_READ_ONLY): write actions are disabled.")

pages.run()
