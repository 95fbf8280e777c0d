"""Consumers: Kafka consumer groups, their lag in records and seconds, verdicts and history."""

from __future__ import annotations

import streamlit as st

from eventlab.ui import aws_widgets, context, rabbitmq_widgets
from eventlab.ui import consumers_widgets as w

st.title("Consumers")
st.caption("Who reads the events and how far behind they are: Kafka consumer groups (committed "
           "and end offsets, lag in records and in seconds, the age of the oldest unconsumed "
           "record, consumption rate, time to catch up, Burrow's verdict over the last "
           "samples), and RabbitMQ stream consumers and queues or SQS queues when configured.")
rabbit = rabbitmq_widgets.configured()
aws = aws_widgets.configured()
if w.kafka_wanted(others=rabbit is not None or aws is not None):
    config = w.cluster_config()
    if config is not None:
        w.live(config, context.store(), read_only=context.read_only())
if rabbit is not None:
    rabbitmq_widgets.section(rabbit, context.store(), read_only=context.read_only())
if aws is not None:
    aws_widgets.section(aws, context.store(), read_only=context.read_only())
