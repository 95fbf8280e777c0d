"""Which Kafka cluster a page uses: one rule for Sources, Consumers, Flow and Republish.

The Sources page's last successful connection (kept in the session under `CONNECTED`) wins;
otherwise the configured one (EVENTLAB_KAFKA_* and the `[kafka]` section of the Streamlit
secrets)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

import streamlit as st

from eventlab.kafka import config_sources
from eventlab.kafka.admin import TopicInfo
from eventlab.kafka.config import KafkaConfig

CONNECTED = "k_connected"
"""The session key of the Sources page's connection (a `Connected`)."""
SOURCES = "the Sources page's connection"


@dataclass(frozen=True)
class Connected:
    """A listed cluster: the connection used and its topics at that moment."""

    config: KafkaConfig
    topics: list[TopicInfo]
    listed_at: datetime


def secrets_section() -> Mapping[str, object]:
    """The `[kafka]` section of the Streamlit secrets ({} without a secrets file)."""
    try:
        section = st.secrets.get("kafka")
    except FileNotFoundError:  # no secrets.toml at all: only the environment counts
        return {}
    return dict(section) if section else {}


def configured() -> KafkaConfig:
    """The configured cluster (raises EventLabError on bad settings)."""
    return config_sources.base_config(secrets_section())


def connected() -> Connected | None:
    """The Sources page's last successful connection in this session, if any."""
    found = st.session_state.get(CONNECTED)
    return found if isinstance(found, Connected) else None


def remember(conn: Connected | None) -> None:
    """Keep (or forget, with None) the Sources page's connection."""
    if conn is None:
        st.session_state.pop(CONNECTED, None)
    else:
        st.session_state[CONNECTED] = conn


def cluster() -> tuple[KafkaConfig, str]:
    """The cluster a page uses and where it came from (raises EventLabError on bad
    settings when there is no connection)."""
    conn = connected()
    if conn is not None:
        return conn.config, SOURCES
    return configured(), configured_origin()


def chosen() -> bool:
    """True when someone chose a cluster (the Sources page's connection, EVENTLAB_KAFKA_BOOTSTRAP
    or the [kafka] secrets); False when only the built-in default would be used."""
    return (connected() is not None or bool(os.environ.get("EVENTLAB_KAFKA_BOOTSTRAP"))
            or bool(secrets_section().get("bootstrap")))


def configured_origin() -> str:
    """Where the configured cluster's address comes from, as set (never naming a variable
    that is not set)."""
    if os.environ.get("EVENTLAB_KAFKA_BOOTSTRAP"):
        return "EVENTLAB_KAFKA_BOOTSTRAP"
    if secrets_section().get("bootstrap"):
        return "the [kafka] secrets"
    return "EventLab's built-in default; set EVENTLAB_KAFKA_BOOTSTRAP to change it"
