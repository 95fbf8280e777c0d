"""The append-only audit log of republish attempts (docs/safety.md, item 29).

Every attempt is a row: dry runs, executes, resumes, refusals and cancels, with who, when,
the selection (described, never payloads), the target, the counts and the outcome. EventLab
only ever INSERTs into `audit_log`; nothing here updates or deletes.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import pyarrow as pa

from eventlab.store import db

COLUMNS = ("logged_at", "actor", "action", "outcome", "job_id", "selection", "target",
           "planned", "sent", "failed", "unknown", "unsent", "detail")


def append(cur: db.Connection, *, actor: str, action: str, outcome: str,
           job_id: str | None = None, selection: Mapping[str, Any] | None = None,
           target: str | None = None, counts: Mapping[str, int] | None = None,
           detail: str | None = None) -> None:
    """Add one row (the caller's transaction, or autocommit)."""
    c = counts or {}
    cur.execute(
        "INSERT INTO audit_log (actor, action, outcome, job_id, selection, target, planned, "
        "sent, failed, unknown, unsent, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [actor, action, outcome, job_id,
         None if selection is None else json.dumps(selection, default=str), target,
         c.get("planned"), c.get("sent"), c.get("failed"), c.get("unknown"), c.get("unsent"),
         detail])


def rows(cur: db.Connection, limit: int = 200, job_id: str | None = None) -> pa.Table:
    """The newest rows first."""
    where, params = ("WHERE job_id = ?", [job_id]) if job_id else ("", [])
    return db.arrow(cur, f"SELECT {', '.join(COLUMNS)} FROM audit_log {where} "
                         "ORDER BY logged_at DESC LIMIT ?", [*params, limit])
