"""Investigations: save what you found, come back to it by its address, hand over a bundle."""

from __future__ import annotations

import streamlit as st

from eventlab import investigations
from eventlab.errors import EventLabError
from eventlab.ui import context
from eventlab.ui import investigations_widgets as w
from eventlab.ui.text import inert_lines

st.title("Investigations")
st.caption("A named investigation keeps filters, entities and a position, bookmarked events, "
           "the findings that matter and notes, in this database. Add events to one from "
           "Explore and Time travel; its address restores it; the bundle is what you attach "
           "to the incident.")
if context.read_only():
    st.info("Read-only mode (EVENTLAB_READ_ONLY): investigations can be opened and bundled, "
            "not saved.")
cur = context.cursor()
made = w.new_form()
if made is not None:
    st.query_params["id"] = made.id
wanted = st.query_params.get("id")
if wanted:
    try:
        inv = investigations.load(cur, wanted)
    except EventLabError as exc:
        st.error(inert_lines(exc))
    else:
        inv = w.editor(inv)
        w.scenarios(inv)
        w.bundle(inv)
    st.divider()
st.subheader("Saved investigations")
w.listing(investigations.listing(cur))
