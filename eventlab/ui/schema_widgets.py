"""Schema-registry widgets: the registry panel of the Sources page (connection, the schemas
each topic used, records per schema id) and the schema line of an Explore event.

The registry's secrets (password, token) come from EVENTLAB_SCHEMA_REGISTRY_* or the
`[schema_registry]` section of the Streamlit secrets and are only shown as set / not set.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd
import streamlit as st

from eventlab.errors import EventLabError
from eventlab.schemas import overview
from eventlab.schemas.registry import RegistryClient, RegistryConfig
from eventlab.store import db
from eventlab.ui.text import inert, inert_lines


def _secrets_section() -> Mapping[str, Any]:
    try:
        section = st.secrets.get("schema_registry")
    except FileNotFoundError:  # no secrets.toml: only the environment counts
        return {}
    return dict(section) if section else {}


def registry_panel(cur: db.Connection) -> None:
    """The registry connection (with a check button), the schemas kept in the store, and
    per topic the schemas its records used with events and quarantined records per id."""
    st.subheader("Schema registry")
    try:
        config = RegistryConfig.from_env(secrets=_secrets_section())
    except EventLabError as exc:
        st.error(f"Schema registry settings: {inert_lines(exc)}")
        config = None
    if config is None:
        st.caption("No registry set (EVENTLAB_SCHEMA_REGISTRY_URL or the `[schema_registry]` "
                   "secrets). Avro, Protobuf and JSON Schema records decode with the schemas "
                   "kept in this store, or a folder (`eventlab ingest-kafka --schemas DIR`); "
                   "the others wait in the quarantine (`eventlab requeue-quarantine`).")
    else:
        secret = "set" if (config.password or config.token) else "not set"
        st.markdown(f"Registry: {inert(config.describe())} · secret: **{secret}** · timeout "
                    f"{config.timeout_s:g} s")
        if st.button("Check the registry", key="sr_check"):
            try:
                subjects = RegistryClient(config).check()
            except EventLabError as exc:
                st.error(inert_lines(exc))
            else:
                st.success(f"Connected: {subjects:,} subjects.")
    used = overview.topic_schemas(cur)
    if used:
        st.markdown("**Schemas used by each topic** (records per schema id)")
        st.dataframe(pd.DataFrame(used), hide_index=True, key="sr_topics")
    kept = overview.kept_schemas(cur)
    if kept:
        st.caption(f"{len(kept)} schema(s) kept in this store, so it decodes again with no "
                   "registry.")
        st.dataframe(pd.DataFrame(kept), hide_index=True, key="sr_kept")


def event_schema_caption(metadata: Any, cur: db.Connection | None = None) -> None:
    """One caption naming the schema an event was decoded with (nothing for plain JSON)."""
    found = overview.event_schema(metadata, cur)
    if found is not None:
        st.caption(f"Decoded from {inert(found.label())}")
