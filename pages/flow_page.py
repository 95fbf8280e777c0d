"""Flow: what is flowing, what follows what, which variants, and one correlation chain."""

from __future__ import annotations

import streamlit as st

from eventlab import explore
from eventlab.ui import context, facts
from eventlab.ui import flow_widgets as w

st.title("Flow")
st.caption("Event rates by type, directly-follows transitions within each entity (as "
           "process-mining tools define them), the most common variants, and correlation "
           "chains across entities and topics. Computed inside DuckDB.")
facts.refresh("summaries", "follows")  # rates from the summaries; transitions, variants
cur = context.cursor()
facets = explore.facets(cur)
if not w.has_events(facets):
    st.stop()
scope = w.scope_panel(facets)
w.rates_section(cur, scope)
view = w.view_picker()
if view == "Transitions":
    w.transitions_section(cur, scope)
elif view == "Variants":
    w.variants_section(cur, scope)
elif view == "Chain":
    w.chain_section(cur)
else:
    w.topics_section(context.store())
