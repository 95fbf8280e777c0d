"""What-if replay, pure: a changed copy of an entity's events (skip, move, insert), folded
beside the real one, as Redux DevTools does for actions. The store is never touched.

Positions are 0-based indexes into the entity's stream (the fold order). The changed stream
keeps every event's own seq (numbered 1, 2, ... by position when a move breaks seq order).
`origin[k]` says which real position the k-th event of the what-if stream came from (None for
an inserted, hypothetical event), so each what-if position can be shown beside the real state
after the same events.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from eventlab.errors import EventLabError
from eventlab.replay import Event, Fold, State, diff
from eventlab.replay.diff import Change

HYPOTHETICAL = "what-if"
"""The event id prefix of an inserted event."""


class WhatIfError(EventLabError):
    """A what-if change cannot be applied (no such position or event id)."""


@dataclass(frozen=True)
class Skip:
    """Leave out the event at `index`."""

    index: int


@dataclass(frozen=True)
class Move:
    """Take the event at `index` and replay it just before the event now at `to` (or last)."""

    index: int
    to: int


@dataclass(frozen=True)
class Insert:
    """Replay a hypothetical event of `event_type` with `payload` just before position `at`
    (`at` = the number of events: at the end)."""

    at: int
    event_type: str
    payload: Any


Change_ = Skip | Move | Insert


@dataclass(frozen=True)
class Rewritten:
    """The what-if stream and, per position, the real position its event came from."""

    events: tuple[Event, ...]
    origin: tuple[int | None, ...]


def _check(index: int, n: int, what: str, allow_end: bool = False) -> None:
    if not 0 <= index < n + (1 if allow_end else 0):
        raise WhatIfError(f"{what} {index + 1} is not a position of this entity (1 to "
                          f"{n + (1 if allow_end else 0)})")


def rewrite(events: Sequence[Event], changes: Sequence[Change_]) -> Rewritten:
    """Apply skips, moves and inserts, each given in the real stream's positions."""
    n = len(events)
    skips = {c.index for c in changes if isinstance(c, Skip)}
    moves = {c.index: c.to for c in changes if isinstance(c, Move)}
    inserts = [c for c in changes if isinstance(c, Insert)]
    for i in skips | set(moves):
        _check(i, n, "position")
    for c in [*moves.values(), *(i.at for i in inserts)]:
        _check(c, n, "target position", allow_end=True)
    # Each slot k (0..n) holds what is replayed just before real event k.
    before: dict[int, list[tuple[Event, int | None]]] = {}
    for i, to in moves.items():
        if i not in skips:
            before.setdefault(to, []).append((events[i], i))
    for k, c in enumerate(inserts):
        anchor = events[min(c.at, n - 1)] if n else None
        ts: datetime | None = anchor.ts if anchor else None
        hypo = Event(event_id=f"{HYPOTHETICAL}-{k + 1}", entity_type=anchor.entity_type
                     if anchor else "unknown", entity_id=anchor.entity_id if anchor else "",
                     event_type=c.event_type, seq=anchor.seq if anchor else 1, ts=ts,
                     payload=c.payload, metadata={"what_if": True})
        before.setdefault(c.at, []).append((hypo, None))
    out: list[tuple[Event, int | None]] = []
    for k in range(n + 1):
        out += before.get(k, [])
        if k < n and k not in skips and k not in moves:
            out.append((events[k], k))
    replayed = [e for e, _ in out]
    if any(b.seq < a.seq for a, b in zip(replayed, replayed[1:], strict=False)):
        # A move puts events out of seq order: the what-if stream is numbered by its positions.
        replayed = [e.replace(seq=k + 1) for k, e in enumerate(replayed)]
    return Rewritten(tuple(replayed), tuple(o for _, o in out))


def changes_from_ids(events: Sequence[Event], skip_ids: Sequence[str]) -> list[Skip]:
    """`--skip EVENT_ID` (every stored copy of it) or `EVENT_ID:K` (its K-th copy only)."""
    out: list[Skip] = []
    for token in skip_ids:
        eid, _, nth = token.rpartition(":") if ":" in token else (token, "", "")
        copies = [i for i, e in enumerate(events) if e.event_id == (eid or token)]
        if nth and eid:
            try:
                copies = [copies[int(nth) - 1]]
            except (ValueError, IndexError):
                raise WhatIfError(f"{token}: event {eid} has {len(copies)} stored "
                                  "copies") from None
        if not copies:
            raise WhatIfError(f"event {token} is not an event of this entity")
        out += [Skip(i) for i in copies]
    return out


def skip_tokens(events: Sequence[Event], indices: Sequence[int]) -> list[str]:
    """`--skip` tokens naming these positions: the id, or `ID:K` when the id is stored more
    than once (the inverse of `changes_from_ids`)."""
    out: list[str] = []
    for i in indices:
        eid = events[i].event_id
        copies = [k for k, e in enumerate(events) if e.event_id == eid]
        plain = len(copies) == 1 and ":" not in eid  # an id with ":" always gets its K
        out.append(eid if plain else f"{eid}:{copies.index(i) + 1}")
    return out


def index_of_seq(events: Sequence[Event], seq: int) -> int:
    """The position of the first event with this seq (for `--insert-at SEQ`); past the last
    event when no event has a seq that high."""
    return next((i for i, e in enumerate(events) if e.seq >= seq), len(events))


@dataclass(frozen=True)
class Side:
    """The real and the what-if state after the same events, and how they differ."""

    real_index: int
    whatif_index: int
    real: State
    whatif: State
    differences: tuple[Change, ...]


def beside(real: Fold, whatif: Fold, origin: Sequence[int | None], k: int) -> Side:
    """What-if position `k` beside the real state after the furthest real event replayed so far
    (so a skipped event shows as a difference, and an inserted one is compared with the real
    state before it)."""
    done = [o for o in origin[:k + 1] if o is not None]
    real_index = max(done) if done else -1
    a, b = real.state_at(real_index), whatif.state_at(k)
    return Side(real_index, k, a, b, tuple(diff(a, b)))


def position_for(origin: Sequence[int | None], index: int) -> int:
    """The what-if position matching real position `index`: the last one before any real
    event after `index` is replayed (-1 when none; inserted events before it count)."""
    k, furthest = -1, -1
    for i, o in enumerate(origin):
        if o is not None:
            furthest = max(furthest, o)
        if furthest > index:
            break
        k = i
    return k


def compare(real: Fold, whatif: Fold, origin: Sequence[int | None], index: int) -> Side:
    """Real position `index` beside the what-if state after the same real events."""
    k = position_for(origin, index)
    a, b = real.state_at(index), whatif.state_at(k)
    return Side(index, k, a, b, tuple(diff(a, b)))
