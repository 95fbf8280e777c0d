"""Quality: what is wrong with the stream, found for you, with exact counts and examples."""

from __future__ import annotations

import streamlit as st

from eventlab.ui import facts, invariants_widgets
from eventlab.ui import quality_widgets as w

st.title("Quality")
st.caption("Duplicates, sequence gaps and regressions, out-of-order times, event types the "
           "rules reducer does not know, schema drift between versions, late events and the "
           "quarantine: every check runs over the whole store inside DuckDB. Each finding links "
           "to its events.")
facts.refresh("summaries", "follows", "payload shapes")  # what the checks read when fresh
rep = w.report()
if rep is None:
    st.stop()
w.summary(rep)
for f in rep["findings"]:
    w.finding(f)
invariants_widgets.section()
