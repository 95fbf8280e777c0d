"""Reducer choices (flags, environment, defaults) and the demo shop's rules and Python reducer."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from repo_paths import DEMO

from eventlab import timetravel
from eventlab.errors import ReducerError
from eventlab.replay import Fold, MergeReducer, PythonReducer, RulesReducer
from eventlab.replay.jsonvalue import json_equal
from eventlab.store.eventstore import EventStore
from eventlab.timetravel import reducer_choices
from eventlab.timetravel.reducer_choices import MERGE, ReducerChoice

RULES, PYTHON = DEMO / "rules.toml", DEMO / "reducer.py"


def test_configured_reads_the_environment_and_flags_win(tmp_path: Path) -> None:
    other = tmp_path / "other.toml"
    other.write_text('unknown = "ignore"\n')
    env = {reducer_choices.ENV_RULES: f"{RULES}{os.pathsep}{other}",
           reducer_choices.ENV_REDUCER: str(PYTHON)}
    choices = reducer_choices.configured(env=env)
    assert [c.kind for c in choices] == ["rules", "rules", "python", "merge"]
    assert reducer_choices.default(choices).path == str(RULES.resolve())  # `make run`: demo rules
    assert choices[-1] == MERGE
    flagged = reducer_choices.configured(rules=[str(other)], env=env)
    assert [c.path for c in flagged if c.kind == "rules"] == [str(other.resolve())]
    assert reducer_choices.configured(env={}) == [MERGE]
    assert reducer_choices.default([]) == MERGE


def test_a_missing_file_is_an_error_not_a_silent_merge(tmp_path: Path) -> None:
    with pytest.raises(ReducerError, match="--reducer file .*nope.py not found"):
        reducer_choices.configured(env={reducer_choices.ENV_REDUCER: str(tmp_path / "nope.py")})


def test_choices_load_label_and_key(tmp_path: Path) -> None:
    rules, python = ReducerChoice("rules", str(RULES)), ReducerChoice("python", str(PYTHON))
    assert isinstance(rules.load(), RulesReducer) and rules.label == "rules: rules.toml"
    assert isinstance(python.load(), PythonReducer) and python.label == "python: reducer.py"
    merge = MERGE.with_deletes(["OrderCancelled", "OrderCancelled"])
    assert merge.delete_types == ("OrderCancelled",) and "deletes: OrderCancelled" in merge.label
    assert isinstance(merge.load(), MergeReducer) and merge.load().delete_types == {
        "OrderCancelled"}
    assert rules.with_deletes(["X"]) is rules
    assert reducer_choices.find([rules, MERGE], "merge") == MERGE
    assert reducer_choices.find([rules, MERGE], "unknown label") == rules
    copy = tmp_path / "r.toml"
    copy.write_text(RULES.read_text())
    before = ReducerChoice("rules", str(copy)).key
    time.sleep(0.01)
    copy.write_text(RULES.read_text() + "\n# edited\n")
    assert ReducerChoice("rules", str(copy)).key != before  # caches reload an edited file
    with pytest.raises(ReducerError):
        ReducerChoice("merge", str(RULES))
    with pytest.raises(ReducerError):
        ReducerChoice("sql")


@pytest.fixture(scope="module")
def demo_entities(demo_db: Path) -> dict[str, tuple]:
    with EventStore(demo_db) as store:
        cur = store.cursor()
        ids = [r[0] for r in cur.execute("SELECT DISTINCT entity_id FROM events").fetchall()]
        return {e: timetravel.load_events(cur, e) for e in ids}


def test_rules_and_python_agree_on_every_demo_event(demo_entities: dict[str, tuple]) -> None:
    rules, python = ReducerChoice("rules", str(RULES)).load(), ReducerChoice(
        "python", str(PYTHON)).load()
    checked = 0
    for entity_id, events in demo_entities.items():
        by_rules, by_python = Fold(events, rules), Fold(events, python)
        assert by_rules.error is None and by_python.error is None, entity_id
        for i in range(len(events)):
            a, b = by_rules.state_at(i), by_python.state_at(i)
            assert json_equal(a, b), (entity_id, i, a, b)
            checked += 1
    assert checked > 2500
    all_types = {e.event_type for events in demo_entities.values() for e in events}
    assert rules.unhandled_in(all_types) == []  # the rules cover the whole domain


def test_demo_reducers_rebuild_orders_correctly(demo_entities: dict[str, tuple]) -> None:
    python = ReducerChoice("python", str(PYTHON)).load()
    v1_orders = 0
    for entity_id, events in demo_entities.items():
        if not entity_id.startswith("order-"):
            continue
        state = Fold(events, python).state_at(len(events) - 1)
        merged = Fold(events, MergeReducer()).state_at(len(events) - 1)
        assert "total" not in state  # upcast: v1 `total` is `total_amount`
        expected = round(sum(i["qty"] * i["price"] for i in state["items"]), 2)
        assert round(state["total_amount"], 2) == expected, entity_id
        assert state["status"] == merged["status"]
        assert state["items"] == merged["items"] and state["address"] == merged["address"]
        v1_orders += any(e.event_version == 1 and e.event_type == "OrderPlaced" for e in events)
    assert v1_orders > 0


def test_demo_python_reducer_upcasts_old_versions(demo_entities: dict[str, tuple]) -> None:
    python = ReducerChoice("python", str(PYTHON)).load()
    old = next(e for events in demo_entities.values() for e in events
               if e.event_type == "OrderPlaced" and e.event_version == 1)
    up = python.upcast(old)
    assert up.event_version == 2 and "total_amount" in up.payload and "total" not in up.payload
    assert "total" in old.payload  # the stored event is untouched


def test_app_flags_reach_the_app_through_the_environment(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from eventlab.cli import build_parser
    from eventlab.cli.app import app_env

    monkeypatch.setenv(reducer_choices.ENV_RULES, "")  # restored after the test
    monkeypatch.setenv(reducer_choices.ENV_REDUCER, "")
    args = build_parser().parse_args(["app", "--rules", str(RULES), "--reducer", str(PYTHON)])
    env = app_env(args)
    assert env[reducer_choices.ENV_RULES] == str(RULES)
    assert env[reducer_choices.ENV_REDUCER] == str(PYTHON)
    bad = build_parser().parse_args(["app", "--reducer", str(tmp_path / "missing.py")])
    with pytest.raises(ReducerError, match="not found"):
        app_env(bad)
