"""Declarative rules: every operation, validation messages, unknown event types."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from replay_support import T0, make_event

from eventlab.errors import ReducerError
from eventlab.replay import rules as rules_module
from eventlab.replay.fold import Fold, FoldError
from eventlab.replay.rules import RulesError, RulesReducer, load_rules


def run(toml: str, *steps: tuple[str, Any], state: Any = None, **event_fields: Any) -> Any:
    """Apply events (type, payload) in order under the rules; return the last state."""
    reducer = RulesReducer.from_toml(toml)
    for seq, (event_type, payload) in enumerate(steps, start=1):
        state = reducer(state, make_event(seq, event_type, payload, **event_fields))
    return state


def problems(toml: str) -> list[str]:
    with pytest.raises(RulesError) as info:
        RulesReducer.from_toml(toml, source="bad.toml")
    assert "bad.toml" in str(info.value)
    return info.value.problems


def test_docstring_example_is_valid_and_replays() -> None:
    doc = rules_module.__doc__ or ""
    example = doc.split("`orders.toml`:\n\n")[1].split("\nTop level")[0]
    reducer = RulesReducer.from_toml("\n".join(line[4:] for line in example.splitlines()))
    assert reducer.description == "Orders in the shop demo"
    events = [
        make_event(1, "OrderPlaced", {"customer_id": "c-9"}),
        make_event(2, "ItemAdded", {"item": {"sku": "A", "price": 3}}),
        make_event(3, "ItemAdded", {"item": {"sku": "B", "price": 2}}),
        make_event(4, "ItemRemoved", {"sku": "A", "price": 3}),
        make_event(5, "OrderViewed", {"by": "ann"}),
        make_event(6, "com.shop.order.deleted", {}),
    ]
    fold = Fold(events, reducer)
    assert fold.state_at(4) == {
        "status": "placed", "items": [{"sku": "B", "price": 2}], "customer": {"id": "c-9"},
        "placed_at": "2024-03-01T12:01:00+00:00", "total": 2, "item_count": 1,
    }
    assert fold.state_at(5) is None
    assert reducer.unhandled_types == set()


def test_set_from_value_payload_event_and_default() -> None:
    toml = """
    [events.Paid]
    set = [
      { path = "status", value = "paid" },
      { path = "payment.amount", from = "amount.value" },
      { path = "payment.by", from_event = "metadata.actor" },
      { path = "payment.at", from_event = "ts" },
      { path = "payment.seq", from_event = "seq" },
      { path = "currency", from = "currency", default = "EUR" },
      { path = "note", from = "note" },
      { path = "first_item", from = "items.0" },
    ]
    """
    state = run(toml, ("Paid", {"amount": {"value": 9}, "items": ["x"]}),
                metadata={"actor": "ann"})
    assert state == {
        "status": "paid", "currency": "EUR", "first_item": "x",
        "payment": {"amount": 9, "by": "ann", "at": T0.replace(minute=1).isoformat(), "seq": 1},
    }  # no "note": a missing payload path without default skips the operation


def test_unset_inc_dec() -> None:
    toml = """
    [events.Tick]
    inc = [{ path = "n" }, { path = "total", from = "amount" }, { path = "x.y", by = 2.5 }]
    [events.Tock]
    dec = { path = "n", by = 3 }
    unset = ["x.y", "gone"]
    """
    state = run(toml, ("Tick", {"amount": 4}), ("Tick", {}), ("Tock", {}),
                state={"gone": 1, "total": None})
    assert state == {"n": -1, "total": 4, "x": {}}


def test_append_remove_match_all() -> None:
    toml = """
    [events.Added]
    append = [{ path = "items", from = "item" }, { path = "tags", value = "t" }]
    [events.Removed]
    remove = { path = "items", from = "sku", match = "sku" }
    [events.Untagged]
    remove = { path = "tags", value = "t", all = true }
    [events.RemovedOne]
    remove = { path = "tags", value = "t" }
    """
    items = ("Added", {"item": {"sku": "A"}}), ("Added", {"item": {"sku": "B"}})
    state = run(toml, *items, ("Added", {"item": {"sku": "A"}}), ("Removed", {"sku": "A"}))
    assert state == {"items": [{"sku": "B"}, {"sku": "A"}], "tags": ["t", "t", "t"]}
    assert run(toml, *items, ("RemovedOne", {}))["tags"] == ["t"]
    assert run(toml, *items, ("Untagged", {}))["tags"] == []
    assert run(toml, ("Removed", {"sku": "Z"})) == {}  # nothing to remove from


def test_merge_into_path_root_and_whole_payload() -> None:
    toml = """
    [events.Moved]
    merge = { path = "address", from = "address" }
    [events.Patched]
    merge = true
    [events.Cleared]
    merge = { path = "address", from = "address" }
    """
    start = {"address": {"city": "Ghent", "zip": "9000"}, "keep": 1}
    moved = run(toml, ("Moved", {"address": {"city": "Bruges", "zip": None}}), state=start)
    assert moved == {"address": {"city": "Bruges"}, "keep": 1}
    assert run(toml, ("Patched", {"keep": None, "new": 2}), state=start) == {
        "address": start["address"], "new": 2,
    }
    assert run(toml, ("Cleared", {"address": None}), state=start) == {"keep": 1}


def test_operations_run_in_documented_order_and_never_mutate_state() -> None:
    toml = """
    [events.E]
    remove = { path = "l", value = 1 }
    append = { path = "l", value = 1 }
    set = { path = "n", value = 10 }
    inc = { path = "n" }
    merge = { value = { n = 0, l = [] } }
    """
    state = {"n": 5, "l": [1, 1], "deep": {"a": [1]}}
    assert run(toml, ("E", {}), state=state) == {"n": 11, "l": [], "deep": {"a": [1]}}
    assert state == {"n": 5, "l": [1, 1], "deep": {"a": [1]}}


def test_delete_initial_and_tombstones() -> None:
    toml = """
    [initial]
    status = "new"
    since = 2024-01-01
    [events.Closed]
    delete = true
    [events.Opened]
    set = { path = "open", value = true }
    """
    assert run(toml, ("Opened", {})) == {"status": "new", "since": "2024-01-01", "open": True}
    assert run(toml, ("Opened", {}), ("Closed", {})) is None
    assert run(toml, ("Opened", {}), ("Closed", {}), ("Opened", {}))["status"] == "new"
    assert run(toml, ("Opened", None), is_delete=True) is None  # tombstone beats the rule


def test_unknown_types_merge_or_ignore_and_are_reported() -> None:
    merging = RulesReducer.from_toml("[events.Known]\nset = { path = 'k', value = 1 }")
    state = merging(None, make_event(1, "Known", {}))
    state = merging(state, make_event(2, "Surprise", {"s": 2}))
    assert state == {"k": 1, "s": 2}
    assert merging.unhandled_types == {"Surprise"}
    assert merging.unhandled_in(["Known", "B", "A", "B"]) == ["A", "B"]
    assert merging.handled_types == {"Known"}
    ignoring = RulesReducer.from_toml('unknown = "ignore"\n[events.Known]\n')
    assert ignoring({"k": 1}, make_event(1, "Surprise", {"s": 2})) == {"k": 1}
    assert ignoring({"k": 1}, make_event(2, "Known", {"s": 2})) == {"k": 1}
    assert ignoring.unhandled_types == {"Surprise"}


def test_from_dict_and_load_rules(tmp_path: Path) -> None:
    reducer = RulesReducer.from_dict({"events": {"A": {"set": {"path": "a", "value": 1}}}})
    assert reducer(None, make_event(1, "A", {})) == {"a": 1}
    file = tmp_path / "orders.toml"
    file.write_text('[events.A]\nset = { path = "a", from = "x" }\n', encoding="utf-8")
    loaded = load_rules(file)
    assert loaded.name == "orders"
    assert loaded(None, make_event(1, "A", {"x": 5})) == {"a": 5}
    with pytest.raises(RulesError, match="cannot read"):
        load_rules(tmp_path / "missing.toml")


@pytest.mark.parametrize(
    ("toml", "expected"),
    [
        ("unknow = 'merge'", "unknown top-level key 'unknow' (did you mean 'unknown'?)"),
        ("unknown = 'drop'", "unknown = 'drop': use \"merge\" or \"ignore\""),
        ("initial = 3", "initial must be a table"),
        ("events = 3", "events must be tables"),
        ("[events.A]\nsett = { path = 'a', value = 1 }",
         "unknown operation 'sett' (did you mean 'set'?)"),
        ("[events.com.shop.placed]\nset = { path = 'a', value = 1 }",
         '[events."com.shop.placed"]'),
        ("[events.A]\nset = { value = 1 }", "[events.A] set: path is missing"),
        ("[events.A]\nset = { path = 'a' }", "[events.A] set: say what value to use"),
        ("[events.A]\nset = { path = 'a', value = 1, from = 'b' }",
         "give only one of value / from"),
        ("[events.A]\nset = [{ path = 'a', value = 1 }, { path = 'a..b', value = 1 }]",
         "[events.A] set #2: path: path 'a..b' has an empty part"),
        ("[events.A]\nset = { path = 'a', value = 1, default = 2 }",
         "default only goes with from or from_event"),
        ("[events.A]\nset = { path = 'a', from_event = 'payload' }", "is not an event field"),
        ("[events.A]\nset = { path = 'a', from_event = 'ts.x' }", "is not an event field"),
        ("[events.A]\ninc = { path = 'a', by = 'x' }", "by must be a number"),
        ("[events.A]\ninc = { path = 'a', value = 1 }", "unknown key 'value'"),
        ("[events.A]\nremove = { path = 'a', value = 1, all = 'yes' }",
         "all must be true or false"),
        ("[events.A]\nunset = [3]", "expected a table like"),
        ("[events.A]\nset = { path = 3, value = 1 }", "path must be text"),
        ("[events.A]\ndelete = true\nset = { path = 'a', value = 1 }", "cannot be combined"),
        ("[events.A]\ndelete = 'yes'", "delete must be true or false"),
        ("events.A = 3", "[events.A] must be a table of operations"),
        ("[events\nA", "not valid TOML"),
    ],
)
def test_validation_errors_are_clear(toml: str, expected: str) -> None:
    assert any(expected in problem for problem in problems(toml)), problems(toml)


def test_all_problems_are_reported_at_once() -> None:
    found = problems("""
    unknown = "x"
    [events.A]
    set = { path = "a" }
    [events.B]
    incc = { path = "n" }
    """)
    assert len(found) == 3
    with pytest.raises(RulesError, match="3 problems in the rules bad.toml"):
        RulesReducer.from_toml('unknown = "x"\n[events.A]\nset={path="a"}\n[events.B]\nincc=1',
                               source="bad.toml")


@pytest.mark.parametrize(
    ("toml", "state", "payload", "message"),
    [
        ("inc = { path = 'n' }", {"n": "x"}, {},
         "'n' in the state is a string ('x'), not a number"),
        ("inc = { path = 'n', from = 'v' }", {}, {"v": True}, "the value from 'v' is a boolean"),
        ("append = { path = 'l', value = 1 }", {"l": 3}, {}, "'l' in the state is a number"),
        ("set = { path = 'a.b', value = 1 }", {"a": [1]}, {}, "cannot set 'b'"),
    ],
)
def test_wrong_types_at_replay_raise_reducer_error(
    toml: str, state: Any, payload: Any, message: str
) -> None:
    reducer = RulesReducer.from_toml("[events.E]\n" + toml)
    with pytest.raises(ReducerError, match=r"\[events\.E\]") as info:
        reducer(state, make_event(1, "E", payload))
    assert message in str(info.value)


def test_replay_error_becomes_fold_error_naming_the_event() -> None:
    reducer = RulesReducer.from_toml("[events.E]\ninc = { path = 'n', from = 'v' }")
    events = [make_event(1, "E", {"v": 1}), make_event(2, "E", {"v": "oops"})]
    fold = Fold(events, reducer)
    assert fold.state_at(0) == {"n": 1}
    with pytest.raises(FoldError, match="ev-2") as info:
        fold.state_at(1)
    assert info.value.state_before == {"n": 1}
