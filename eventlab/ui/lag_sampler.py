"""The app's one background lag sampler per process (not per browser session): started by
`ensure_started()` from the app's frame on the first page view, kept by `st.cache_resource`.

It samples the configured cluster (EVENTLAB_KAFKA_* / the `[kafka]` secrets), not a session's
Sources connection: a process has no session. Off when EVENTLAB_LAG_SAMPLE_S is 0, in
read-only mode, or without a configured bootstrap (`eventlab.lag.background`).
"""

from __future__ import annotations

import streamlit as st

from eventlab.errors import EventLabError
from eventlab.kafka.config import KafkaConfig
from eventlab.lag import settings
from eventlab.lag.background import BackgroundSampler
from eventlab.ui import context, kafka_cluster

CONFIGURED = ("EVENTLAB_KAFKA_BOOTSTRAP", "the [kafka] secrets")
"""Origins of a cluster someone chose: the built-in default 127.0.0.1:9092 is not sampled."""


@st.cache_resource(show_spinner=False)
def _sampler(db_path: str, config: KafkaConfig, interval_s: float,
             retention_days: float) -> BackgroundSampler:
    return BackgroundSampler(config, context.store(), interval_s, retention_days).start()


def ensure_started() -> BackgroundSampler | None:
    """The process's sampler, started on first call; None when sampling is off (and why is
    `off_reason()`)."""
    if off_reason() is not None:
        return None
    return _sampler(context.db_path(), kafka_cluster.configured(),
                    settings.sample_interval_s(), settings.retention_days())


def off_reason() -> str | None:
    """Why the background sampler does not run, or None when it does (starting with
    "sampling is off" when no sample is written at all, the page's included)."""
    if context.read_only():
        return "sampling is off in read-only mode: the app writes nothing, lag samples included"
    try:
        if settings.sample_interval_s() == 0:
            return f"sampling is off ({settings.SAMPLE_INTERVAL}=0)"
        settings.retention_days()
        config = kafka_cluster.configured()
    except EventLabError as exc:
        return f"a setting cannot be used: {exc}"
    if kafka_cluster.configured_origin() not in CONFIGURED:
        return "no Kafka cluster is configured (set EVENTLAB_KAFKA_BOOTSTRAP)"
    return None if config.bootstrap else "the configured bootstrap is empty"
