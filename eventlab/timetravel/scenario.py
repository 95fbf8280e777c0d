"""A saved what-if scenario, pure: an entity, the reducer, the changes (skips, moves, inserts)
as plain data, and a name. Investigations keep them in their JSON doc; the bundle replays each
one; a Time travel link reopens it.

A skip or a move also records the event id at its position, so a scenario reopened after the
entity's stream changed says so instead of skipping another event.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from eventlab.replay import Event, Fold, diff
from eventlab.replay.diff import Change
from eventlab.timetravel.reducer_choices import MERGE, ReducerChoice
from eventlab.timetravel.whatif import Change_, Insert, Move, Skip, WhatIfError, rewrite


@dataclass(frozen=True)
class Scenario:
    """One what-if, as saved: `changes` are plain dicts (`{"op": "skip", "index": 2,
    "event_id": ...}`, `{"op": "move", "index", "to", "event_id"}`, `{"op": "insert", "at",
    "event_type", "payload"}`); `reducer` is the reducer's kind, file and delete types."""

    name: str
    entity_id: str
    reducer: Mapping[str, Any]
    changes: tuple[Mapping[str, Any], ...]

    @property
    def id(self) -> str:
        """`<slug of the name>-<hash of everything>`: readable, stable, unique per content."""
        slug = re.sub(r"[^a-z0-9]+", "-", self.name.lower()).strip("-")[:40] or "what-if"
        blob = orjson.dumps(self.to_dict(with_id=False), option=orjson.OPT_SORT_KEYS,
                            default=str)
        return f"{slug}-{hashlib.sha256(blob).hexdigest()[:10]}"

    def to_dict(self, with_id: bool = True) -> dict[str, Any]:
        """Plain data, as stored in the investigation's doc and written into the bundle."""
        out: dict[str, Any] = {"name": self.name, "entity_id": self.entity_id,
                               "reducer": dict(self.reducer),
                               "changes": [dict(c) for c in self.changes]}
        return {"id": self.id, **out} if with_id else out

    def reducer_choice(self, offered: Iterable[ReducerChoice]) -> ReducerChoice | None:
        """The reducer among those the operator offers (a stored path never loads a file by
        itself: docs/safety.md, item 37); None when it is not offered any more."""
        kind = str(self.reducer.get("kind", "merge"))
        if kind == "merge":
            return MERGE.with_deletes(str(t) for t in self.reducer.get("delete_types") or ())
        path = self.reducer.get("path")
        return next((c for c in offered if c.kind == kind and c.path == path), None)

    def to_changes(self, events: Sequence[Event]) -> list[Change_]:
        """The changes for this stream; `WhatIfError` when a recorded event id is not at its
        position any more (the stream changed since the scenario was saved)."""
        out: list[Change_] = []
        for c in self.changes:
            op = c.get("op")
            try:
                if op in ("skip", "move"):
                    index = int(c["index"])
                    _expect(events, index, c.get("event_id"))
                    out.append(Skip(index) if op == "skip" else Move(index, int(c["to"])))
                elif op == "insert":
                    out.append(Insert(int(c["at"]), str(c.get("event_type") or "Hypothetical"),
                                      c.get("payload")))
                else:
                    raise WhatIfError(f"unknown what-if change {op!r}")
            except (KeyError, TypeError, ValueError) as exc:
                raise WhatIfError(f"a saved what-if change is incomplete: {exc}") from None
        return out


def _expect(events: Sequence[Event], index: int, event_id: Any) -> None:
    if not 0 <= index < len(events):
        raise WhatIfError(f"position {index + 1} is not a position of this entity any more "
                          f"(it has {len(events)} events)")
    if event_id is not None and events[index].event_id != event_id:
        raise WhatIfError(f"position {index + 1} holds event {events[index].event_id}, not "
                          f"{event_id} as when the scenario was saved")


def change_data(events: Sequence[Event], changes: Sequence[Change_]) -> tuple[dict, ...]:
    """Changes as plain data (the event id of each skipped or moved event recorded)."""
    out: list[dict[str, Any]] = []
    for c in changes:
        if isinstance(c, Skip):
            out.append({"op": "skip", "index": c.index, "event_id": events[c.index].event_id})
        elif isinstance(c, Move):
            out.append({"op": "move", "index": c.index, "to": c.to,
                        "event_id": events[c.index].event_id})
        else:
            out.append({"op": "insert", "at": c.at, "event_type": c.event_type,
                        "payload": c.payload})
    return tuple(out)


def make(name: str, entity_id: str, choice: ReducerChoice, events: Sequence[Event],
         changes: Sequence[Change_]) -> Scenario:
    """A scenario of these changes to this entity's stream (a blank name is described)."""
    reducer = {"kind": choice.kind, "path": choice.path,
               "delete_types": list(choice.delete_types)}
    return Scenario(name.strip() or describe(changes), entity_id, reducer,
                    change_data(events, changes))


def describe(changes: Sequence[Change_]) -> str:
    """A default name: `skip #3, insert before #5`."""
    words = [f"skip #{c.index + 1}" if isinstance(c, Skip) else
             f"move #{c.index + 1} before #{c.to + 1}" if isinstance(c, Move) else
             f"insert {c.event_type} before #{c.at + 1}" for c in changes]
    return "what if: " + (", ".join(words) or "no change")


def from_dict(data: Any) -> Scenario | None:
    """A scenario from its stored dict; None when it is not one (a hand-edited doc)."""
    if not isinstance(data, Mapping):
        return None
    changes = data.get("changes")
    reducer = data.get("reducer")
    if not isinstance(changes, list) or not all(isinstance(c, Mapping) for c in changes):
        return None
    return Scenario(str(data.get("name") or "what if"), str(data.get("entity_id") or ""),
                    dict(reducer) if isinstance(reducer, Mapping) else {"kind": "merge"},
                    tuple(dict(c) for c in changes))


@dataclass(frozen=True)
class Outcome:
    """A scenario replayed: the real and the what-if state after the last event, and how they
    differ (or why it could not be replayed)."""

    real: Any
    whatif: Any
    differences: tuple[Change, ...]
    events: int
    whatif_events: int


def replay(scenario: Scenario, real: Fold) -> Outcome:
    """Replay the scenario beside the real fold (same reducer); raises `WhatIfError`."""
    new = rewrite(real.events, scenario.to_changes(real.events))
    alt = Fold(new.events, real.reducer, snapshot_every=real.snapshot_every)
    a, b = real.state_at(len(real) - 1), alt.state_at(len(alt) - 1)
    return Outcome(a, b, tuple(diff(a, b)), len(real), len(alt))
