"""Which events are duplicated: the one definition every page and check uses.

An event id is duplicated when it is stored more than once (at different source positions).
The copies are *identical* when their payloads are equal (a retry, a file copy beside a Kafka
copy) and *conflicting* when they differ (two different events under one id).
"""

from __future__ import annotations

from eventlab.store import db, summaries

COPY = "copy"
"""Stored more than once, every copy with the same payload."""
CONFLICT = "conflict"
"""Stored more than once, with payloads that differ."""

LABELS = {COPY: "= copy", CONFLICT: "⚠ conflict"}
"""How a duplicated event is marked where it is listed (Explore's table, What if's picker).
Only characters the fonts of a plain Debian Chromium draw (DejaVu Sans): no missing-glyph
boxes."""
LEGEND = f"Event id stored more than once: {LABELS[COPY]} (identical copies), " \
         f"{LABELS[CONFLICT]} (payloads differ)"
"""The one-line key to LABELS, for a column's help."""

DUPLICATED_IDS_SQL = ("SELECT event_id FROM events GROUP BY event_id "
                      "HAVING count(*) > 1")
"""The event ids stored more than once (a subquery for `event_id IN (...)`)."""


DUPLICATES_SQL = (
    "WITH d AS (SELECT event_id, count(*) AS copies FROM events GROUP BY event_id "
    "HAVING count(*) > 1) SELECT e.event_id, any_value(d.copies) AS copies, "
    "count(DISTINCT coalesce(e.payload::VARCHAR, '<null>')) AS payloads, "
    "min(e.entity_id) AS entity_id FROM events e JOIN d USING (event_id) GROUP BY e.event_id")
"""Every duplicated event id with its number of copies and of distinct payloads (1 = identical
copies). Payloads are compared only for the duplicated ids: the whole-table pass is a count."""


def duplicate_map(con: db.Connection) -> dict[str, str]:
    """Every duplicated event id of the store -> COPY or CONFLICT. One pass over the table
    (about a second at 5M events): pages cache it per `data_version` and look ids up in it,
    rather than scanning the id column for each page of rows. Read from the store's
    summaries (`store.summaries`) when they are fresh."""
    if summaries.fresh(con):
        return {eid: (CONFLICT if payloads > 1 else COPY)
                for eid, payloads in summaries.duplicates(con)}
    return {eid: (CONFLICT if payloads > 1 else COPY)
            for eid, payloads in db.rows(con, f"SELECT event_id, payloads FROM ({DUPLICATES_SQL})")}
