"""What-if scenarios saved in an investigation: plain data that round-trips through the store,
replayed into the bundle (real and what-if state at the end, their differences), listed
escaped in the report, and saved from `eventlab state --skip ... --save-to`. Real store."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from helpers_files import write_jsonl

from eventlab import investigations as inv_api
from eventlab.cli.main import main
from eventlab.ingest.file_ingest import ingest_paths
from eventlab.investigations import InvestigationError
from eventlab.replay import Event
from eventlab.store.eventstore import EventStore
from eventlab.timetravel import load_events, reducer_choices, scenario
from eventlab.timetravel.whatif import (
    Insert,
    Move,
    Skip,
    WhatIfError,
    changes_from_ids,
    skip_tokens,
)

EVIL = "<script>alert(1)</script>![x](http://evil.example/p.png)"
T0 = datetime(2026, 11, 1, 10, tzinfo=UTC)


@pytest.fixture()
def order_db(tmp_path: Path) -> tuple[Path, str]:
    """`order-1`: placed (total 10), a line added (total 15), paid; and an investigation."""
    rows = [("e1", "Placed", {"total": 10, "status": "placed"}),
            ("e2", "LineAdded", {"total": 15}),
            ("e3", "Paid", {"status": "paid"})]
    write_jsonl(tmp_path / "in" / "e.jsonl", [
        {"event_id": i, "entity_id": "order-1", "event_type": t, "seq": n + 1,
         "ts": (T0 + timedelta(minutes=n)).isoformat(), "payload": p}
        for n, (i, t, p) in enumerate(rows)])
    path = tmp_path / "orders.duckdb"
    with EventStore(path) as store:
        assert ingest_paths(store, [str(tmp_path / "in")]).rows_stored == 3
        inv = inv_api.save(store, inv_api.new("refund", "ann", inv_api.now()))
    return path, inv.id


def _events(path: Path) -> tuple[Event, ...]:
    with EventStore(path, read_only=True) as store:
        return tuple(load_events(store.cursor(), "order-1"))


def test_a_scenario_round_trips_through_the_investigation(order_db: tuple[Path, str]) -> None:
    path, inv_id = order_db
    events = _events(path)
    changes = [Skip(1), Move(0, 3), Insert(2, "Refunded", {"status": EVIL, "n": [1, None]})]
    made = scenario.make("", "order-1", reducer_choices.MERGE.with_deletes(["Gone"]), events,
                         changes)
    assert made.name == "what if: skip #2, move #1 before #4, insert Refunded before #3"
    assert made.changes[0] == {"op": "skip", "index": 1, "event_id": "e2"}
    with EventStore(path) as store:
        inv = inv_api.load(store.cursor(), inv_id)
        inv_api.save(store, inv.with_scenario(made, inv_api.now()))
        # Saving the same scenario again replaces it (same id), never doubles it.
        again = inv_api.load(store.cursor(), inv_id)
        inv_api.save(store, again.with_scenario(made, inv_api.now()))
        back = inv_api.load(store.cursor(), inv_id)
    assert back.scenarios == (made,)
    assert back.scenario(made.id).to_changes(events) == changes
    assert back.scenario(made.id).reducer_choice([]) == \
        reducer_choices.MERGE.with_deletes(["Gone"])
    assert made.id.startswith("what-if-skip-2-move-1-before-4") and len(made.id) < 60
    with pytest.raises(InvestigationError, match="no what-if scenario"):
        back.scenario("nope")
    # A hand-edited doc with a broken entry still opens, without it.
    kept = back.with_doc({"scenarios": [made.to_dict(), {"changes": "x"}, 7]}, inv_api.now())
    assert kept.scenarios == (made,)


def test_a_changed_stream_is_said_not_replayed_wrongly(order_db: tuple[Path, str]) -> None:
    events = _events(order_db[0])
    made = scenario.make("skip the line", "order-1", reducer_choices.MERGE, events, [Skip(1)])
    shifted = (events[0], events[2], events[1])
    with pytest.raises(WhatIfError, match="holds event e3, not e2"):
        made.to_changes(shifted)
    with pytest.raises(WhatIfError, match="not a position"):
        made.to_changes(events[:1])
    # A file reducer that is not offered any more is not loaded from the stored path.
    rules = scenario.Scenario("r", "order-1", {"kind": "rules", "path": "/tmp/x.toml"}, ())
    assert rules.reducer_choice([reducer_choices.MERGE]) is None


def test_skip_tokens_round_trip_through_changes_from_ids() -> None:
    events = [Event(event_id=i, entity_type="t", entity_id="x", event_type="E", seq=n, ts=T0,
                    payload={}) for n, i in enumerate(["a", "b", "a", "c:d"], 1)]
    for picked in ([0], [2], [1, 3], [0, 2, 3]):
        tokens = skip_tokens(events, picked)
        assert sorted(c.index for c in changes_from_ids(events, tokens)) == picked, tokens


def test_the_bundle_replays_each_scenario(order_db: tuple[Path, str], tmp_path: Path) -> None:
    path, inv_id = order_db
    events = _events(path)
    skip_line = scenario.make("no line", "order-1", reducer_choices.MERGE, events, [Skip(1)])
    evil = scenario.make(EVIL, "order-1", reducer_choices.MERGE, events,
                         [Insert(3, f"Refunded {EVIL}", {"status": EVIL})])
    with EventStore(path) as store:
        inv = inv_api.load(store.cursor(), inv_id)
        inv = inv.with_scenario(skip_line, inv_api.now()).with_scenario(evil, inv_api.now())
        inv_api.save(store, inv)
    with EventStore(path, read_only=True) as store, store.reading() as cur:
        made = inv_api.write_bundle(cur, inv_api.load(cur, inv_id), tmp_path / "out")
    names = sorted(f for f in made.files if f.startswith("scenarios/"))
    assert names == sorted(f"scenarios/{s.id}.json" for s in (skip_line, evil))
    got = json.loads((made.folder / f"scenarios/{skip_line.id}.json").read_text())
    assert got["real_state"] == {"total": 15, "status": "paid"}
    assert got["whatif_state"] == {"total": 10, "status": "paid"}
    assert got["differences"] == [{"op": "change", "path": "total", "real": 15,
                                   "what_if": 10}]
    assert (got["events"], got["whatif_events"], got["error"]) == (3, 2, None)
    hostile = json.loads((made.folder / f"scenarios/{evil.id}.json").read_text())
    assert hostile["name"] == EVIL and hostile["whatif_state"]["status"] == EVIL
    html = (made.folder / "report.html").read_text()
    assert "What-if scenarios" in html and "<script>alert(1)" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "skip #2 (e2)" in html


def test_a_scenario_whose_entity_is_gone_is_named_in_the_bundle(
        order_db: tuple[Path, str], tmp_path: Path) -> None:
    path, inv_id = order_db
    gone = scenario.Scenario("gone", "order-404", {"kind": "merge"},
                             ({"op": "skip", "index": 0},))
    with EventStore(path) as store:
        inv_api.save(store, inv_api.load(store.cursor(), inv_id).with_scenario(
            gone, inv_api.now()))
    with EventStore(path, read_only=True) as store, store.reading() as cur:
        made = inv_api.write_bundle(cur, inv_api.load(cur, inv_id), tmp_path / "out")
    got = json.loads((made.folder / f"scenarios/{gone.id}.json").read_text())
    assert "no events of entity 'order-404'" in got["error"]


def test_the_cli_saves_a_what_if_into_an_investigation(
        order_db: tuple[Path, str], capsys: pytest.CaptureFixture[str]) -> None:
    path, inv_id = order_db
    assert main(["state", "order-1", "--db", str(path), "--skip", "e2", "--save-to", inv_id,
                 "--name", "without the line", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    with EventStore(path, read_only=True) as store:
        [saved] = inv_api.load(store.cursor(), inv_id).scenarios
    assert out["saved"] == saved.id and saved.name == "without the line"
    assert saved.changes == ({"op": "skip", "index": 1, "event_id": "e2"},)
    assert main(["state", "order-1", "--db", str(path), "--save-to", inv_id]) != 0
    assert "--save-to saves a what-if" in capsys.readouterr().err


def test_the_reopen_link_names_the_scenario_and_its_reducer() -> None:
    from eventlab.ui import links

    merge = links.time_travel_scenario("inv-1", "s-1", "order/1",
                                       {"kind": "merge", "delete_types": ["Gone", "Closed"]})
    assert merge.url == ("./time-travel?entity_id=order%2F1&panel=What+if&inv=inv-1&"
                         "scenario=s-1&deletes=Gone&deletes=Closed")
    rules = links.time_travel_scenario("inv-1", "s-1", "o", {"kind": "rules",
                                                             "path": "/srv/orders.toml"})
    assert rules.query["reducer"] == reducer_choices.ReducerChoice(
        "rules", "/srv/orders.toml").label
