"""What a flow question covers: an entity type and a time range. Pure: the WHERE clause with
bound parameters, and the metadata fields that carry correlation and causation ids."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from eventlab.explore.filters import Filters, scope_where, where_sql
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
    """` WHERE ...` (or "") and its parameters, values always bound: Explore's clauses for
    the scope's entity type and time range, within which its `follows` filter pairs events,
    so a transition's Explore link selects what the transition counted."""
    clauses, params = scope_where(Filters(start=scope.start, end=scope.end,
                                          entity_type=scope.entity_type))
    return where_sql(clauses), params
