"""Sources: connect to Kafka or point at exports, and load them as background jobs."""

from __future__ import annotations

import streamlit as st

from eventlab.ingest import offsets
from eventlab.ui import (
    aws_sources,
    context,
    peek_widgets,
    produce_widgets,
    rabbitmq_sources,
    rabbitmq_widgets,
    schema_widgets,
    tail_widgets,
)
from eventlab.ui import sources_widgets as w

st.title("Sources")
st.caption("Load Kafka topics, RabbitMQ streams or Parquet/JSONL/CSV exports into the "
           "database. Loads run on the server as jobs: they keep going when you leave the "
           "page, and every session sees them.")
store = context.store()
manager = context.job_manager()
read_only = context.read_only()
if read_only:
    st.info("Read-only mode (EVENTLAB_READ_ONLY): loading is disabled. You can still connect "
            "and look at topics.")

produce_widgets.link_notice()
w.jobs_panel(manager)
w.live_tail(manager, context.cursor)

kafka_tab, tail_tab, produce_tab, files_tab, rabbitmq_tab, *aws_tab = st.tabs(
    ["Kafka", "Tail", "Produce", "Files", "RabbitMQ", *(["AWS"] if aws_sources.configured()
                                                       else [])], key="src_tab")
with kafka_tab:
    conn = w.kafka_connection()
    if conn is not None:
        w.topic_table(conn, offsets.stored_positions(context.cursor()))
        w.kafka_ingest_form(conn, manager, store, read_only=read_only)
        peek_widgets.peek_panel(conn, manager, store, read_only=read_only)
    schema_widgets.registry_panel(context.cursor())
with tail_tab:
    if conn is None:
        st.info("Connect to a cluster on the Kafka tab to tail its topics.")
    else:
        tail_widgets.tail_panel(conn, manager, store, read_only=read_only)
with produce_tab:
    produce_widgets.produce_panel(conn, store, read_only=read_only,
                                  rabbit=rabbitmq_widgets.configured())
with files_tab:
    w.path_ingest_form(manager, store, read_only=read_only)
    w.upload_form(manager, store, read_only=read_only)
with rabbitmq_tab:
    rabbitmq_sources.rabbitmq_section(manager, store, context.cursor(), read_only=read_only)
for tab in aws_tab:
    with tab:
        aws_sources.aws_section(manager, store, read_only=read_only)
