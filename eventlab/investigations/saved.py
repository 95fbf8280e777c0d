"""Investigations in the store: save, list, open. Saving is a write action (refused in
read-only mode, in the function)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson

from eventlab import settings
from eventlab.errors import ReadOnlyError
from eventlab.investigations.model import Investigation, InvestigationError
from eventlab.store import db
from eventlab.store.eventstore import EventStore


def default_author(env: dict[str, str] | None = None) -> str:
    """Who is saving (`eventlab.settings.actor`: EVENTLAB_ACTOR, else the system user)."""
    return settings.actor(env)


def now() -> datetime:
    """The time stamps investigations get (UTC)."""
    return datetime.now(UTC)


def save(store: EventStore, inv: Investigation) -> Investigation:
    """Insert or update an investigation (its id decides)."""
    if settings.read_only():
        raise ReadOnlyError("read-only mode (EVENTLAB_READ_ONLY): investigations are not saved")
    with store.transaction() as cur:
        cur.execute("INSERT OR REPLACE INTO investigations (id, name, author, created_at, "
                    "updated_at, doc) VALUES (?, ?, ?, ?, ?, ?)",
                    [inv.id, inv.name, inv.author, inv.created_at, inv.updated_at,
                     orjson.dumps(inv.doc()).decode()])
    return inv


def _from_row(row: dict[str, Any]) -> Investigation:
    doc = orjson.loads(row["doc"]) if row["doc"] else {}
    base = Investigation(row["id"], row["name"], row["author"], row["created_at"],
                         row["updated_at"])
    return base.with_doc(doc, row["updated_at"])


def load(con: db.Connection, investigation_id: str) -> Investigation:
    """One investigation by id (or by its exact name)."""
    rows = db.arrow(con, "SELECT * FROM investigations WHERE id = ? OR name = ? "
                         "ORDER BY id = ? DESC LIMIT 1",
                    [investigation_id, investigation_id, investigation_id]).to_pylist()
    if not rows:
        raise InvestigationError(f"no investigation {investigation_id!r} in this database "
                                 "(`eventlab bundle` lists the saved ones when given none)")
    return _from_row(rows[0])


def listing(con: db.Connection) -> list[Investigation]:
    """Every investigation, the most recently changed first."""
    rows = db.arrow(con, "SELECT * FROM investigations ORDER BY updated_at DESC, id").to_pylist()
    return [_from_row(r) for r in rows]
