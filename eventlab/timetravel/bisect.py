"""Bisect one entity's history: the first, next or previous position where a condition on the
state holds, starts to hold, or stops holding, read from the fold's snapshots.

A condition is a plain predicate `state -> bool` (`as_predicate` also takes any object with a
`holds(state)` method, the shape of a parsed invariant condition), so the invariant grammar
plugs in without a second one here. Positions are fold indexes (the state after event i); the
entity does not exist before its first event, so the condition never holds at -1 (it is not
evaluated there): a condition that holds at position 0 starts there.

Two methods, and the answer says which ran:
- `binary`: the caller promises the condition is monotone (it changes at most once along the
  history, like "was ever paid"). The change point is found by binary search over the
  snapshots, then over the block between two of them: O(log n) probes, each at most K
  reducer calls from a snapshot, never a refold from the start.
- `scan`: any condition. States are visited block by block from the snapshot at or before the
  start (forward for first/next, block by block backward for previous), stopping at the
  first hit: one reducer call per visited event.
The predicate gets the fold's own state: it must only read it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Literal

from eventlab.errors import EventLabError
from eventlab.replay import Event, Fold

Predicate = Callable[[Any], bool]
What = Literal["holds", "starts", "stops"]
Direction = Literal["first", "next", "previous"]
WHATS: tuple[str, ...] = ("holds", "starts", "stops")
DIRECTIONS: tuple[str, ...] = ("first", "next", "previous")


class BisectError(EventLabError):
    """A bisect cannot run as asked (unknown option, a condition that fails on a state)."""


@dataclass(frozen=True)
class Hit:
    """A position found, the event there, and how it was found (`binary` or `scan`)."""

    index: int
    event: Event
    method: str
    probes: int


def as_predicate(condition: Any) -> Predicate:
    """A predicate from a callable or from an object with a `holds(state)` method."""
    holds = getattr(condition, "holds", None)
    if callable(holds):
        return lambda state: bool(holds(state))
    if callable(condition):
        return lambda state: bool(condition(state))
    raise BisectError(f"a condition is a callable or has holds(state), not {condition!r}")


def _view(fold: Fold, index: int) -> Any:
    """The fold's own state after `index` (read only; copies only for mutating reducers)."""
    if fold.reducer.mutates:
        return fold.state_at(index)
    return fold.view_at(index)  # the snapshot, not a deep copy


class _Probe:
    """The predicate over positions, counting evaluations and naming a failing one."""

    def __init__(self, fold: Fold, predicate: Predicate) -> None:
        self.fold, self.predicate, self.count = fold, predicate, 0

    def __call__(self, state: Any, index: int) -> bool:
        self.count += 1
        try:
            return bool(self.predicate(state))
        except Exception as exc:  # a user's condition: name the position it failed at
            raise BisectError(f"the condition failed at position {index}: "
                              f"{type(exc).__name__}: {exc}") from exc

    def at(self, index: int) -> bool:
        return index >= 0 and self(_view(self.fold, index), index)

    def block(self, start: int, stop: int) -> Iterator[tuple[int, bool]]:
        """(position, value) for positions start-1 .. stop-1, one reducer call each."""
        if start == 0:
            yield -1, self.at(-1)
        else:
            start -= 1
            yield start, self.at(start)
            start += 1
        for i, _, state in self.fold.iter_states(start, stop, copy=False):
            yield i, self(state, i)


def _matches(what: str, before: bool, now: bool) -> bool:
    return now if what == "holds" else (now and not before) if what == "starts" else (
        before and not now)


def find(fold: Fold, condition: Any, *, what: What = "holds", direction: Direction = "first",
         at: int = -1, monotone: bool = False) -> Hit | None:
    """The first position (or the next after `at`, or the previous before `at`) where the
    condition holds / starts to hold / stops holding; None when there is none."""
    if what not in WHATS or direction not in DIRECTIONS:
        raise BisectError(f"what is one of {', '.join(WHATS)} and direction one of "
                          f"{', '.join(DIRECTIONS)}, not {what!r}, {direction!r}")
    n = len(fold)
    if fold.error is not None:
        n = fold.error.index  # states from the failing event on do not exist
    probe = _Probe(fold, as_predicate(condition))
    if direction == "first":
        lo, hi = 0, n  # candidate positions [lo, hi)
    elif direction == "next":
        lo, hi = max(at + 1, 0), n
    else:
        lo, hi = 0, min(at, n)
    if lo >= hi:
        return None
    if monotone:
        index = _monotone(probe, what, direction, lo, hi, n)
        method = "binary"
    else:
        index = _scan(probe, what, direction, lo, hi)
        method = "scan"
    return None if index is None else Hit(index, fold.events[index], method, probe.count)


def _scan(probe: _Probe, what: str, direction: str, lo: int, hi: int) -> int | None:
    k = probe.fold.snapshot_every
    if direction != "previous":
        start = lo
        while start < hi:
            stop = min(hi, (start // k + 1) * k)
            found = _in_block(probe, what, start, stop, last=False)
            if found is not None:
                return found
            start = stop
        return None
    stop = hi
    while stop > lo:
        start = max(lo, (stop - 1) // k * k)
        found = _in_block(probe, what, start, stop, last=True)
        if found is not None:
            return found
        stop = start
    return None


def _in_block(probe: _Probe, what: str, start: int, stop: int, *, last: bool) -> int | None:
    values = list(probe.block(start, stop))
    hits = (values[j][0] for j in range(1, len(values))
            if _matches(what, values[j - 1][1], values[j][1]))
    if not last:
        return next(hits, None)
    found = None
    for found in hits:  # noqa: B007  (the last one is wanted)
        pass
    return found


def _monotone(probe: _Probe, what: str, direction: str, lo: int, hi: int,
              n: int) -> int | None:
    """With at most one change along 0..n-1: find it by bisection, answer in closed form."""
    initial = probe.at(0)
    change = _change_point(probe, initial, n)  # first position whose value differs, or n

    def value(p: int) -> bool:
        return p >= 0 and (initial if p < change else not initial)

    # the value is constant between -1, 0 and `change`: only these ends can answer
    edges = {lo, hi - 1, 0, change, change - 1} & set(range(lo, hi))
    found = [p for p in sorted(edges, reverse=direction == "previous")
             if _matches(what, value(p - 1), value(p))]
    return found[0] if found else None


def _change_point(probe: _Probe, initial: bool, n: int) -> int:
    """The first position whose value differs from `initial` (n: none), by bisection over
    the snapshots, then inside the block."""
    k = probe.fold.snapshot_every
    # over snapshot boundaries first (block j ends at the snapshot after (j + 1) * k events)
    slo, shi = 0, (n - 1) // k + 1 if n else 0
    while slo < shi:
        mid = (slo + shi) // 2
        p = min(n - 1, (mid + 1) * k - 1)
        if p <= 0:
            slo = mid + 1
            continue
        if probe.at(p) != initial:
            shi = mid
        else:
            slo = mid + 1
    lo = min(n, slo * k)
    hi = min(n, (slo + 1) * k)
    while lo < hi:
        mid = (lo + hi) // 2
        if probe.at(mid) != initial:
            hi = mid
        else:
            lo = mid + 1
    return lo


def marks(fold: Fold, condition: Any) -> list[bool]:
    """Whether the condition holds after each event, in one pass (the slider's marks)."""
    probe = _Probe(fold, as_predicate(condition))
    n = len(fold) if fold.error is None else fold.error.index
    return [probe(state, i) for i, _, state in fold.iter_states(0, n, copy=False)]
