"""Download buttons for what a page shows: CSV, JSON lines or Parquet, written on demand.

`download_buttons(cur, source, key=...)` draws a format choice, **Prepare file** and, once the
file is written, **Download**. Nothing is written on an ordinary rerun: only the Prepare click
writes (into a private temporary folder, through `eventlab.explore.export`, at most
`BROWSER_MAX_ROWS` rows, with a notice when the result was longer). The browser fetches the
file only when Download is clicked (Streamlit's deferred download data), so a large file is
not held in the session's memory on every rerun. A prepared file is dropped (and deleted) as
soon as the source (filters, query, entity) or the format changes.

The sources come from `eventlab.explore.export`: `filtered_events(filters)`,
`sql_result(sql)`, `entity_events(entity_id)`, `state_history(fold, entity_id)`,
`quarantine(reason)`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import streamlit as st

from eventlab.errors import EventLabError
from eventlab.explore import export
from eventlab.store import db
from eventlab.ui.text import inert, inert_lines

LABELS = {"csv": "CSV", "jsonl": "JSON lines", "parquet": "Parquet"}
DEFAULT_TIMEOUT_S = 120.0


@dataclass(frozen=True)
class Prepared:
    """A file written for one source and format (kept in the session until it is stale)."""

    signature: tuple[Any, ...]
    result: export.WriteResult


def _size(n: int) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:,} {unit}" if unit == "bytes" else f"{n:,.1f} {unit}"
        n /= 1024  # type: ignore[assignment]
    return f"{n} bytes"


def _reader(path: str) -> Callable[[], bytes]:
    return lambda: Path(path).read_bytes()


def prepared(key: str) -> Prepared | None:
    """The file prepared under `key` in this session, if any."""
    return st.session_state.get(f"{key}__prepared")


def _drop(key: str) -> None:
    old = st.session_state.pop(f"{key}__prepared", None)
    if old is not None:
        export.discard(old.result)


def download_buttons(cur: db.Connection, source: export.ExportQuery | export.TableSource, *,
                     key: str, label: str = "Export", max_rows: int | None = None,
                     timeout_s: float | None = DEFAULT_TIMEOUT_S) -> None:
    """Format choice, Prepare file, Download, and the cap notice, for one export source."""
    cap = export.BROWSER_MAX_ROWS if max_rows is None else max_rows
    with st.container(key=f"{key}_box"):
        # Formats and the button on one row, the note or the download below: nothing cut in
        # a narrow column (Explore's, beside its other actions, at 1400 px).
        c1, c2 = st.columns([3, 1.3], vertical_alignment="bottom")
        c3 = st.container()
        fmt = c1.segmented_control(label, list(export.FORMATS), format_func=LABELS.get,
                                   default="csv", key=f"{key}_fmt") or "csv"
        signature = (source.signature, fmt, cap)
        ready = prepared(key)
        if ready is not None and (ready.signature != signature
                                  or not Path(ready.result.path).exists()):
            _drop(key)
            ready = None
        if c2.button("Prepare file", key=f"{key}_prepare",
                     help=f"Write the {LABELS[fmt]} file on the server (up to {cap:,} rows), "
                          "then download it."):
            _drop(key)
            try:
                with st.spinner(f"Writing {LABELS[fmt]} ..."):
                    result = export.export_to_temp(cur, source, fmt, max_rows=cap,
                                                   timeout_s=timeout_s)
            except EventLabError as exc:
                st.error(inert_lines(exc))
                return
            ready = Prepared(signature, result)
            st.session_state[f"{key}__prepared"] = ready
        if ready is None:
            c3.caption(f"Prepare the file, then download it (at most {cap:,} rows; raw "
                       "bytes as hex in CSV and JSON lines, binary in Parquet).")
            return
        r = ready.result
        name = Path(r.path).name
        c3.download_button(f"Download {name}", data=_reader(r.path), file_name=name,
                           mime=export.MIME[fmt], key=f"{key}_download", on_click="ignore",
                           type="primary")
        if r.truncated:
            st.warning(f"Capped: {inert(name)} holds the first {r.max_rows:,} rows of a longer "
                       f"result ({_size(r.bytes)}). Narrow the selection, or write all of it "
                       "with `eventlab export`.", icon="✂️")
        else:
            st.caption(f"{inert(name)}: {r.rows:,} rows, {_size(r.bytes)}.")
