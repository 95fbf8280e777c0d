"""The rewind plan, pure: where each partition of a group's topic stands and where it will stand.

A target says how to pick the new offset; `resolve` turns it into one offset per partition from
the facts the caller read (committed offsets, bounds, offsets found for a time or an event);
`build` clamps them to the partition's [earliest, end] and computes the lag that results.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from eventlab.errors import EventLabError
from eventlab.timeutil import parse_utc

KINDS = ("to-datetime", "to-offset", "to-earliest", "to-latest", "by", "to-event", "undo")


class PlanError(EventLabError):
    """A target that cannot be planned (bad value, unknown partition, no commit to move by)."""


@dataclass(frozen=True)
class Target:
    """How to pick the new offsets: one of KINDS and its value as typed."""

    kind: str
    value: str = ""

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise PlanError(f"unknown rewind target {self.kind!r}; use one of {', '.join(KINDS)}")

    def describe(self) -> str:
        return self.kind + (f" {self.value}" if self.value else "")


def parse_offsets(text: str) -> dict[int, int]:
    """`0:120,1:95` -> {0: 120, 1: 95}."""
    out: dict[int, int] = {}
    for part in (p.strip() for p in text.split(",")):
        found = re.fullmatch(r"(\d+)\s*:\s*(\d+)", part)
        if not found:
            raise PlanError(f"{part!r} is not PARTITION:OFFSET (write e.g. 0:120,1:95)")
        out[int(found.group(1))] = int(found.group(2))
    if not out:
        raise PlanError("no PARTITION:OFFSET given")
    return out


def parse_time(text: str) -> datetime:
    """An ISO time; naive means UTC (the one rule in `eventlab.timeutil`)."""
    try:
        return parse_utc(text)
    except (ValueError, EventLabError) as exc:
        raise PlanError(f"{text!r} is not an ISO date-time: {exc}") from None


@dataclass(frozen=True)
class Move:
    """One partition: committed now (None: never), the new offset, the bounds, the lag after."""

    partition: int
    current: int | None
    new: int
    earliest: int
    end: int
    lag_after: int
    lag_seconds_after: float | None
    note: str = ""

    @property
    def changes(self) -> bool:
        return self.current != self.new


@dataclass(frozen=True)
class RewindPlan:
    """What a reset would commit for `group` on `topic`; executed exactly as planned."""

    group: str
    topic: str
    target: Target
    moves: tuple[Move, ...]
    planned_at: float

    def new_offsets(self) -> dict[int, int]:
        return {m.partition: m.new for m in self.moves}

    def before(self) -> dict[int, int | None]:
        return {m.partition: m.current for m in self.moves}

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (`--json`) and the audit row's selection."""
        return {"group": self.group, "topic": self.topic, "target": self.target.describe(),
                "planned_at": self.planned_at, "moves": [asdict(m) for m in self.moves]}


def resolve(target: Target, partitions: Mapping[int, tuple[int, int]],
            committed: Mapping[int, int], *, found: Mapping[int, int | None] | None = None
            ) -> dict[int, int]:
    """The wanted offset per partition before clamping. `partitions` maps each partition of the
    topic to (earliest, end); `found` is what the caller looked up: the first offset at or after
    the time per partition (None: none, so the end), the event's {partition: offset}, or the
    offsets an undo restores."""
    kind = target.kind
    if kind == "to-earliest":
        return {p: lo for p, (lo, _) in partitions.items()}
    if kind == "to-latest":
        return {p: end for p, (_, end) in partitions.items()}
    if kind == "by":
        try:
            n = int(target.value)
        except ValueError:
            raise PlanError(f"--by needs a whole number of records, not {target.value!r}") from None
        missing = sorted(set(partitions) - set(committed))
        if missing:
            raise PlanError(f"--by moves from the committed offset, and partition(s) "
                            f"{', '.join(map(str, missing))} have none: use --to-offset")
        return {p: committed[p] + n for p in partitions}
    if kind == "to-offset":
        wanted = parse_offsets(target.value)
    else:  # to-datetime, to-event, undo: looked up by the caller
        wanted = {p: (partitions[p][1] if o is None else o) for p, o in (found or {}).items()
                  if p in partitions}
        if kind == "to-datetime":
            wanted = {p: wanted.get(p, partitions[p][1]) for p in partitions}
    unknown = sorted(set(wanted) - set(partitions))
    if unknown:
        raise PlanError(f"partition(s) {', '.join(map(str, unknown))} do not exist "
                        f"(the topic has {len(partitions)})")
    if not wanted:
        raise PlanError(f"{target.describe()} names no partition to move")
    return wanted


def build(group: str, topic: str, target: Target, partitions: Mapping[int, tuple[int, int]],
          committed: Mapping[int, int], wanted: Mapping[int, int],
          timestamps: Mapping[int, float], now: float,
          notes: Mapping[int, str] | None = None) -> RewindPlan:
    """The plan: each wanted offset clamped to [earliest, end], with the lag it leaves in
    records and in seconds (now minus the timestamp of the record at the new offset, epoch s;
    0 at the end; None when that record's time is unknown); `notes` say how an offset was
    found, when that needs saying."""
    moves = []
    for p in sorted(wanted):
        lo, end = partitions[p]
        new = min(max(wanted[p], lo), end)
        note = "; ".join(x for x in ((notes or {}).get(p, ""), "" if new == wanted[p] else
                                     f"asked {wanted[p]:,}, kept within [{lo:,}, {end:,}]") if x)
        at = timestamps.get(p)
        secs = 0.0 if new >= end else (None if at is None else max(0.0, now - at))
        moves.append(Move(p, committed.get(p), new, lo, end, end - new, secs, note))
    return RewindPlan(group, topic, target, tuple(moves), now)
