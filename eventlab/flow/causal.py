"""A correlation chain as a causation tree, pure: parents before children, siblings by time.

An event's parent is the event whose id is its causation id. A parent that is not among the
chain's events is *missing* (when the store does not hold it either); its children hang under a
placeholder for it, so the gap is visible instead of silently becoming a new root.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime


@dataclass(frozen=True)
class ChainEvent:
    """One event of a chain (depth is its level in the causation tree, 0 for a root)."""

    event_id: str
    entity_type: str
    entity_id: str
    event_type: str
    seq: int
    ts: datetime
    topic: str | None
    correlation_id: str | None
    causation_id: str | None
    depth: int = 0
    in_correlation: bool = True  # False: a parent from another correlation id


@dataclass(frozen=True)
class TreeRow:
    """A row of the tree view: an event, or the placeholder of a missing parent."""

    depth: int
    event: ChainEvent | None
    missing_id: str | None = None


@dataclass(frozen=True)
class Chain:
    """Every event sharing a correlation id, in causal order, and what is missing."""

    correlation_id: str
    events: tuple[ChainEvent, ...]
    missing_parents: tuple[str, ...]
    duplicates: int  # rows dropped because their event id was seen already
    rows: tuple[TreeRow, ...]

    @property
    def lanes(self) -> tuple[str, ...]:
        """Entity ids in order of their first event in the chain (one swimlane each)."""
        return tuple(dict.fromkeys(e.entity_id for e in sorted(self.events, key=_when)))

    @property
    def topics(self) -> tuple[str, ...]:
        """The topics the chain's events came from (empty for file sources)."""
        return tuple(sorted({e.topic for e in self.events if e.topic}))


def _when(e: ChainEvent) -> tuple:
    return (e.ts, e.seq, e.event_id)


def build_chain(correlation_id: str, events: Iterable[ChainEvent],
                missing: Iterable[str] = ()) -> Chain:
    """Order `events` causally (depth-first from the roots, siblings by time). `missing` are
    the parent ids known to be absent from the store; other absent parents count as missing
    too when `events` do not hold them."""
    unique: dict[str, ChainEvent] = {}
    duplicates = 0
    for e in sorted(events, key=_when):
        if e.event_id in unique:
            duplicates += 1
        else:
            unique[e.event_id] = e
    children: dict[str | None, list[ChainEvent]] = {}
    for e in unique.values():
        parent = e.causation_id if e.causation_id in unique else None
        children.setdefault(parent, []).append(e)
    absent = sorted({e.causation_id for e in unique.values()
                     if e.causation_id and e.causation_id not in unique} | set(missing))
    ordered: list[ChainEvent] = []
    rows: list[TreeRow] = []
    seen: set[str] = set()

    def visit(e: ChainEvent, depth: int) -> None:
        stack = [(e, depth)]
        while stack:
            node, d = stack.pop()
            if node.event_id in seen:
                continue
            seen.add(node.event_id)
            placed = replace(node, depth=d)
            ordered.append(placed)
            rows.append(TreeRow(d, placed))
            kids = sorted(children.get(node.event_id, ()), key=_when)
            stack.extend((k, d + 1) for k in reversed(kids))

    placeholders: set[str] = set()
    for root in children.get(None, []):  # already in time order
        gap = root.causation_id
        if gap and gap not in unique:
            if gap not in placeholders:
                placeholders.add(gap)
                rows.append(TreeRow(0, None, gap))
                for sibling in children[None]:
                    if sibling.causation_id == gap:
                        visit(sibling, 1)
            continue
        visit(root, 0)
    for e in unique.values():  # events on a causation cycle have no root: keep them
        if e.event_id not in seen:
            visit(e, 0)
    return Chain(correlation_id, tuple(ordered), tuple(absent), duplicates, tuple(rows))
