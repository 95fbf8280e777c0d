"""What a flow question covers: an entity type and a time range. Pure: the WHERE clause with
bound parameters, and the metadata fields that carry correlation and causation ids."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

CORRELATION_KEYS = ("correlation_id", "correlationId", "correlationid")
"""Where a correlation id lives in `metadata`: envelope / flat exports write `correlation_id`
(the demo does), camelCase producers `correlationId`, CloudEvents extensions `correlationid`."""
CAUSATION_KEYS = ("causation_id", "causationId", "causationid")
"""The same for the causation id (the id of the event that caused this one)."""


def metadata_sql(keys: tuple[str, ...]) -> str:
    """The first of `keys` present in `metadata`, as text (the keys are our constants)."""
    return "coalesce(" + ", ".join(f"metadata->>'$.{k}'" for k in keys) + ")"


CORRELATION_SQL = metadata_sql(CORRELATION_KEYS)
CAUSATION_SQL = metadata_sql(CAUSATION_KEYS)


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
