"""What-if replay: skip, move and insert on a hand-made stream, states checked by hand, and the
CLI skipping the demo's planted duplicate."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from eventlab.replay import Event, Fold, MergeReducer
from eventlab.store import db
from eventlab.store.eventstore import EventStore
from eventlab.timetravel import whatif
from eventlab.timetravel.whatif import Insert, Move, Skip, WhatIfError

T0 = datetime(2026, 11, 1, tzinfo=UTC)


def _ev(i: int, payload: dict, eid: str | None = None) -> Event:
    return Event(event_id=eid or f"e{i}", entity_type="acct", entity_id="acct-1",
                 event_type="Set", seq=i, ts=T0 + timedelta(minutes=i), payload=payload)


EVENTS = (_ev(1, {"balance": 10}), _ev(2, {"balance": 20, "note": "x"}),
          _ev(3, {"balance": 30}), _ev(4, {"note": None}))


def _fold(events: tuple[Event, ...]) -> Fold:
    return Fold(events, MergeReducer())


def test_skip_one_event() -> None:
    new = whatif.rewrite(EVENTS, [Skip(1)])
    assert [e.event_id for e in new.events] == ["e1", "e3", "e4"]
    assert new.origin == (0, 2, 3)
    real, alt = _fold(EVENTS), _fold(new.events)
    side = whatif.beside(real, alt, new.origin, 1)  # after e3
    assert side.real_index == 2 and side.whatif == {"balance": 30}
    assert side.real == {"balance": 30, "note": "x"}
    assert [(c.op, c.dotted) for c in side.differences] == [("remove", "note")]
    assert whatif.beside(real, alt, new.origin, 2).differences == ()  # e4 removes note anyway


def test_move_and_insert() -> None:
    new = whatif.rewrite(EVENTS, [Move(0, 4), Insert(2, "Deposit", {"balance": 99})])
    assert [e.event_id for e in new.events] == ["e2", "what-if-1", "e3", "e4", "e1"]
    assert new.origin == (1, None, 2, 3, 0)
    alt = _fold(new.events)
    assert alt.state_at(1) == {"balance": 99, "note": "x"}
    assert alt.state_at(4) == {"balance": 10}
    assert new.events[1].ts == EVENTS[2].ts and new.events[1].metadata == {"what_if": True}
    side = whatif.beside(_fold(EVENTS), alt, new.origin, 1)
    assert side.real_index == 1  # the inserted event is compared with the state before it


def test_bad_changes_are_clear_errors() -> None:
    with pytest.raises(WhatIfError, match="not a position"):
        whatif.rewrite(EVENTS, [Skip(9)])
    with pytest.raises(WhatIfError, match="not an event of this entity"):
        whatif.changes_from_ids(EVENTS, ["nope"])
    dup = (*EVENTS, _ev(5, {"balance": 50}, eid="e2"))
    assert whatif.changes_from_ids(dup, ["e2"]) == [Skip(1), Skip(4)]
    assert whatif.changes_from_ids(dup, ["e2:2"]) == [Skip(4)]
    with pytest.raises(WhatIfError, match="has 2 stored copies"):
        whatif.changes_from_ids(dup, ["e2:3"])
    assert whatif.index_of_seq(EVENTS, 3) == 2 and whatif.index_of_seq(EVENTS, 99) == 4


def test_cli_skips_the_planted_duplicate(demo_db: Path, tmp_path: Path) -> None:
    # The CLI is another process: it gets its own copy (this one may hold demo_db open).
    demo_db = Path(shutil.copy(demo_db, tmp_path / "demo.duckdb"))
    with EventStore(demo_db) as store:
        entity, eid = db.rows(store.cursor(), """
            SELECT entity_id, event_id FROM events WHERE event_id IN (SELECT event_id FROM events
            GROUP BY 1 HAVING count(*) > 1 AND count(DISTINCT payload::VARCHAR) > 1)
            ORDER BY entity_id LIMIT 1""")[0]
    run = [sys.executable, "-m", "eventlab", "state", entity, "--db", str(demo_db), "--json"]
    real = json.loads(subprocess.run(run, capture_output=True, text=True, check=True).stdout)
    out = json.loads(subprocess.run([*run, "--skip", f"{eid}:2"], capture_output=True,
                                    text=True, check=True).stdout)
    assert out["skipped"] == [eid] and out["events"] == real["events"] - 1
    assert out["real_state"] == real["state"]
    assert out["differences"], "the conflicting copy changed the state: skipping it must show"
    hypo = tmp_path / "ev.json"
    hypo.write_text(json.dumps({"event_type": "Noted", "payload": {"what_if_note": "hi"}}))
    ins = json.loads(subprocess.run([*run, "--insert-at", "1", "--event", str(hypo)],
                                    capture_output=True, text=True, check=True).stdout)
    assert ins["state"]["what_if_note"] == "hi" and "what_if_note" not in (real["state"] or {})
    bad = subprocess.run([*run, "--skip", "no-such-id"], capture_output=True, text=True)
    assert bad.returncode == 2 and "is not an event of this entity" in bad.stderr


def test_position_for_and_compare() -> None:
    # skip position 1: real 0 -> k 0, real 1 (skipped) -> k 0, real 2 -> k 1
    origin = (0, 2, 3)
    assert [whatif.position_for(origin, i) for i in range(4)] == [0, 0, 1, 2]
    # an insert before real 2: it belongs to real 1's view
    assert [whatif.position_for((0, 1, None, 2, 3), i) for i in range(4)] == [0, 2, 3, 4]
    assert whatif.position_for((1, 0), 0) == -1  # a move put real 1 first
    new = whatif.rewrite(EVENTS, [Skip(1)])
    side = whatif.compare(_fold(EVENTS), _fold(new.events), new.origin, 1)
    assert side.real == {"balance": 20, "note": "x"} and side.whatif == {"balance": 10}
    assert {c.dotted for c in side.differences} == {"balance", "note"}
