"""Republish: re-send chosen events to Kafka or RabbitMQ, dry run first, exactly once, audited."""

from __future__ import annotations

import streamlit as st

from eventlab.ui import republish_widgets

st.title("Republish")
st.caption("Re-send stored events byte for byte (key, value, headers) with provenance headers. "
           "A dry run lists exactly what would be sent; Execute sends that plan as a "
           "server-side job, each record acknowledged once; an interrupted job resumes. "
           "Every attempt is in the audit log.")
republish_widgets.page()
