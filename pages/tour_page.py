"""Tour: event sourcing explained on the live data, step by step, each opening the real view."""

from __future__ import annotations

import os

import streamlit as st

from eventlab import tour
from eventlab.errors import EventLabError
from eventlab.ui import context
from eventlab.ui import tour_widgets as w
from eventlab.ui.text import inert, inert_lines

st.title("Tour")
st.caption("Event sourcing on this data, for a class or a first visit: each step opens the "
           "real page in the right state and says what to look at. No terminal needed.")
try:
    steps = tour.load_steps(broker=tour.broker_in(os.environ))
except EventLabError as exc:
    st.error(inert_lines(exc))
    st.stop()
n = w.pick(steps)
w.show(tour.fill(context.cursor(), steps[n], escape=inert), n + 1, len(steps))
