"""Consumers: Kafka consumer groups, their lag in records and seconds, verdicts and history."""

from __future__ import annotations

import streamlit as st

from eventlab.ui import aws_widgets, context, rabbitmq_widgets
from eventlab.ui import consumers_widgets as w

st.title("Consumers")
st.caption("Consumer groups of a Kafka cluster: committed and end offsets, lag in records and "
           "in seconds (the age of the oldest unconsumed record), consumption rate, time to "
           "catch up, and Burrow's verdict over the last samples.")
config = w.cluster_config()
if config is not None:
    w.live(config, context.store(), read_only=context.read_only())
rabbit = rabbitmq_widgets.configured()
if rabbit is not None:
    rabbitmq_widgets.section(rabbit, context.store(), read_only=context.read_only())
aws = aws_widgets.configured()
if aws is not None:
    aws_widgets.section(aws, context.store(), read_only=context.read_only())
