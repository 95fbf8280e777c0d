"""EventLab: the Streamlit entry point. Page config, navigation and the shared sidebar only."""

from __future__ import annotations

import streamlit as st

from eventlab.errors import EventLabError
from eventlab.ui import context
from eventlab.ui.text import inert, inert_lines

# An emoji icon: Streamlit draws it as a data: URL; a :material/...: one is fetched from
# fonts.gstatic.com, and the app must work offline (docs/safety.md, item 30).
st.set_page_config(page_title="EventLab", page_icon="🧪", layout="wide")

# Page files are named unlike their URL paths on purpose: with a pages/ folder, Streamlit's
# legacy router would otherwise run a deep-linked page file without this frame on first contact.
# The default page answers at "/" only: Streamlit does not serve it under its own url_path, so
# "/" is a hidden page that opens Explore, and /explore?... deep links work (issue 9).
pages = st.navigation([
    st.Page(context.open_explore, title="EventLab", url_path="start", default=True,
            visibility="hidden"),
    st.Page("pages/explore_page.py", title="Explore", icon=":material/search:", url_path="explore"),
    st.Page("pages/timetravel_page.py", title="Time travel", icon=":material/history:",
            url_path="time-travel"),
    st.Page("pages/asof_page.py", title="As of", icon=":material/calendar_month:",
            url_path="as-of"),
    st.Page("pages/flow_page.py", title="Flow", icon=":material/account_tree:", url_path="flow"),
    st.Page("pages/sql_page.py", title="SQL console", icon=":material/terminal:", url_path="sql"),
    st.Page("pages/quarantine_page.py", title="Quarantine", icon=":material/report:",
            url_path="quarantine"),
    st.Page("pages/quality_page.py", title="Quality", icon=":material/fact_check:",
            url_path="quality"),
    st.Page("pages/sources_page.py", title="Sources", icon=":material/cable:",
            url_path="sources"),
    st.Page("pages/consumers_page.py", title="Consumers", icon=":material/speed:",
            url_path="consumers"),
    st.Page("pages/republish_page.py", title="Republish", icon=":material/replay:",
            url_path="republish"),
    st.Page("pages/investigations_page.py", title="Investigations", icon=":material/folder_open:",
            url_path="investigations"),
    st.Page("pages/tour_page.py", title="Tour", icon=":material/school:", url_path="tour"),
])

with st.sidebar:
    st.caption(f"Database: {inert(context.db_path())}")
    if context.read_only():
        st.caption("Read-only mode (EVENTLAB_READ_ONLY): write actions are disabled.")

try:
    pages.run()
except EventLabError as exc:  # a page's own errors are messages, whichever query raised them
    st.error(inert_lines(exc))
