"""What checking invariants finds, as frozen records (the same from both paths)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from eventlab.invariants.spec import Invariant


@dataclass(frozen=True)
class Violation:
    """One entity that breaks an invariant: its first violating event, how many of its
    positions violate, and whether its last position keeps the invariant again."""

    entity_id: str
    event_id: str
    seq: int
    ts: datetime | None
    event_type: str
    positions: int
    recovers: bool

    def to_dict(self) -> dict[str, Any]:
        return {"entity_id": self.entity_id, "event_id": self.event_id, "seq": self.seq,
                "ts": None if self.ts is None else self.ts.isoformat(),
                "event_type": self.event_type, "positions": self.positions,
                "recovers": self.recovers}


@dataclass(frozen=True)
class Result:
    """One invariant over every position of every entity of its type."""

    invariant: Invariant
    entities: int
    positions: int
    violations: tuple[Violation, ...]  # sorted by entity id
    path: str  # "duckdb" or "fold"

    @property
    def violating_positions(self) -> int:
        return sum(v.positions for v in self.violations)

    @property
    def recovered(self) -> int:
        return sum(v.recovers for v in self.violations)

    @property
    def ok(self) -> bool:
        return not self.violations

    def to_dict(self, limit: int | None = None) -> dict[str, Any]:
        shown = self.violations if limit is None else self.violations[:limit]
        return {**self.invariant.to_dict(), "entities_checked": self.entities,
                "positions_checked": self.positions, "violating_entities": len(self.violations),
                "violating_positions": self.violating_positions, "recovered": self.recovered,
                "path": self.path, "violations": [v.to_dict() for v in shown]}
