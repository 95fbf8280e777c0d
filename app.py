"""EventLab: the Streamlit entry point. Page config, navigation and the shared sidebar only."""

from __future__ import annotations

import streamlit as st

from eventlab.ui import context

# An emoji icon: Streamlit draws it as a data: URL; a :material/...: one is fetched from
# fonts.gstatic.com, and the app must work offline (docs/safety.md, item 30).
st.set_page_config(page_title="EventLab", page_icon="🧪", layout="wide")

# Page files are named unlike their URL paths on purpose: with a pages/ folder, Streamlit's
# legacy router would otherwise run a deep-linked page file without this frame on first contact.
pages = st.navigation([
    st.Page("pages/explore_page.py", title="Explore", icon=":material/search:", url_path="explore",
            default=True),
    st.Page("pages/timetravel_page.py", title="Time travel", icon=":material/history:",
            url_path="time-travel"),
    st.Page("pages/asof_page.py", title="As of", icon=":material/calendar_month:",
            url_path="as-of"),
    st.Page("pages/sql_page.py", title="SQL console", icon=":material/terminal:", url_path="sql"),
    st.Page("pages/quarantine_page.py", title="Quarantine", icon=":material/report:",
            url_path="quarantine"),
    st.Page("pages/sources_page.py", title="Sources", icon=":material/cable:",
            url_path="sources"),
    st.Page("pages/republish_page.py", title="Republish", icon=":material/replay:",
            url_path="republish"),
])

with st.sidebar:
    st.caption(f"Database: `{context.db_path()}`")
    if context.read_only():
        st.caption("Read-only mode (EVENTLAB_READ_ONLY): write actions are disabled.")

pages.run()
