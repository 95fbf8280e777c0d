"""Widgets of the Quarantine page: the rows table and one row in full."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pyarrow as pa
import streamlit as st

from eventlab import explore
from eventlab.ui.text import inert, inert_lines


def rows_table(rows: pa.Table) -> int | None:
    """The quarantined rows; returns the `row_id` of the selected one, if any."""
    df = rows.to_pandas()
    event = st.dataframe(df, hide_index=True, key="q_rows", on_select="rerun",
                         selection_mode="single-row", column_config={
                             "row_id": None,
                             "raw_preview": st.column_config.TextColumn(
                                 "raw (text, or hex if not UTF-8)", width="large")})
    selected = event.selection.rows if event and hasattr(event, "selection") else []
    return int(df.iloc[selected[0]]["row_id"]) if selected else None


def _bytes_view(label: str, data: bytes | None, key: str) -> None:
    size = "null" if data is None else f"{len(data):,} bytes"
    st.markdown(f"**{label}** ({size})")
    if data is None:
        return
    text = explore.show_bytes(data, limit=20_000)
    as_hex = st.toggle("hex", key=f"{key}_hex", value=text is not None and text.startswith("0x"))
    if as_hex:
        st.code(explore.hex_dump(data), language=None)
    else:
        st.code(text, language="json" if text and text.lstrip().startswith("{") else None)


def row_detail(row: dict[str, Any]) -> None:
    """One quarantined row: the full reason, where it came from, raw bytes, key and headers."""
    where = (f"{row['topic']} / partition {row['partition']} / offset {row['offset']}"
             if row.get("topic") else f"{row['source']} row {row['offset']}")
    st.subheader(f"{inert(row['reason'])} · {inert(where)}", anchor=False)
    st.error(inert_lines(row.get("detail") or row["reason"]))
    st.caption(f"quarantined at {row['quarantined_at']:%Y-%m-%d %H:%M:%S} UTC · source "
               f"{inert(row['source'])}")
    c1, c2 = st.columns([3, 2])
    with c1:
        _bytes_view("Raw value", row.get("raw"), "q_raw")
    with c2:
        _bytes_view("Key", row.get("key"), "q_key")
        st.markdown("**Kafka headers**")
        headers = explore.headers_for_display(row.get("headers"))
        if headers:
            st.dataframe(pd.DataFrame(headers, columns=["key", "value"]), hide_index=True,
                         key="q_headers")
        else:
            st.caption("none")
