"""The quarantine: input that could not become an event, counted by reason, and its rows with a
preview of the raw bytes.
"""

from __future__ import annotations

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
    return db.arrow(con, f"SELECT reason, detail, source, topic, \"partition\", \"offset\", "
                         f"octet_length(raw) AS raw_bytes, "
                         f"left(coalesce(TRY(decode(raw)), hex(raw)), 300) AS raw_preview, "
                         f"quarantined_at FROM quarantine {where} "
                         f"ORDER BY quarantined_at DESC, source, \"offset\" LIMIT ?",
                    [*params, limit])
