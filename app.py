"""EventLab: the Streamlit entry point. Page config, navigation and the shared sidebar only."""

from __future__ import annotations

import streamlit as st

from eventlab.errors import EventLabError
from eventlab.ui import context, lag_sampler, links
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
    *[st.Page(p.file, title=p.title, icon=p.icon, url_path=p.url_path) for p in links.PAGES],
])

with st.sidebar:
    st.caption(f"Database: {inert(context.db_path())}")
    if context.read_only():
        st.caption("Read-only mode (EVENTLAB_READ_ONLY): write actions are disabled.")

lag_sampler.ensure_started()  # one per process: lag history records itself (issue 22)

try:
    pages.run()
except EventLabError as exc:  # a page's own errors are messages, whichever query raised them
    st.error(inert_lines(exc))
