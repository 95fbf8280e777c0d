"""What a flow question covers: an entity type and a time range. Pure: the WHERE clause with
bound parameters, and the metadata fields that carry correlation and causation ids."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from eventlab.store.schema import CAUSATION_KEYS, CORRELATION_KEYS, metadata_text

CORRELATION_SQL = metadata_text(CORRELATION_KEYS)
CAUSATION_SQL = metadata_text(CAUSATION_KEYS)


@dataclass(frozen=True)
class Scope:
    """The events a flow query looks at: one entity type (None: all) and `start <= ts <= end`
    (None: open). Transitions and variants are formed from the events inside the scope."""

    entity_type: str | None = None
    start: datetime | None = None
    end: datetime | None = None


def where(scope: Scope) -> tuple[str, list[Any]]:
    """` WHERE ...` (or "") and its parameters, values always bound."""
    clauses: list[str] = []
    params: list[Any] = []
    if scope.entity_type is not None:
        clauses.append("entity_type = ?")
        params.append(scope.entity_type)
    if scope.start is not None:
        clauses.append("ts >= ?")
        params.append(scope.start)
    if scope.end is not None:
        clauses.append("ts <= ?")
        params.append(scope.end)
    return ((" WHERE " + " AND ".join(clauses)) if clauses else ""), params
