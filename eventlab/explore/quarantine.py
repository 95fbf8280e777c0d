"""The quarantine: input that could not become an event, counted by reason, and its rows with a
preview of the raw bytes.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from eventlab.store import db


def quarantine_summary(con: db.Connection) -> pa.Table:
    """Quarantined rows counted by reason and source."""
    return db.arrow(con, "SELECT reason, source, count(*) AS rows FROM quarantine "
                         "GROUP BY ALL ORDER BY rows DESC, reason")


def quarantine_rows(con: db.Connection, reason: str | None = None,
                    limit: int = 200) -> pa.Table:
    """Quarantined rows (newest first), with a text preview of the raw bytes."""
    where, params = ("WHERE reason = ?", [reason]) if reason else ("", [])
    return db.arrow(con, f"SELECT rowid AS row_id, reason, detail, source, topic, \"partition\", "
                         f"\"offset\", "
                         f"octet_length(raw) AS raw_bytes, "
                         f"left(coalesce(TRY(decode(raw)), hex(raw)), 300) AS raw_preview, "
                         f"quarantined_at FROM quarantine {where} "
                         f"ORDER BY quarantined_at DESC, source, \"offset\" LIMIT ?",
                    [*params, limit])


def quarantine_row(con: db.Connection, row_id: int) -> dict[str, Any] | None:
    """One quarantined row in full (raw bytes, key, headers), by its `row_id`; None if gone."""
    rows = db.arrow(con, "SELECT rowid AS row_id, * FROM quarantine WHERE rowid = ?",
                    [row_id]).to_pylist()
    return rows[0] if rows else None


def hex_dump(data: bytes | None, limit: int = 4096) -> str:
    """Bytes as a hex dump: offset, 16 bytes in hex, the printable ASCII; cut at `limit`."""
    if data is None:
        return "(null)"
    lines = []
    for at in range(0, min(len(data), limit), 16):
        chunk = data[at:at + 16]
        text = "".join(chr(b) if 32 <= b < 127 else "." for b in chunk)
        lines.append(f"{at:08x}  {chunk.hex(' '):<47}  {text}")
    if len(data) > limit:
        lines.append(f"… {len(data) - limit:,} more bytes ({len(data):,} in all)")
    return "\n".join(lines)
