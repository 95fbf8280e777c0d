"""Invariants: exact findings on planted faults, both paths equal, the grammar's errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from planted import EXPECTED, STREAMS, plant

from eventlab import invariants
from eventlab.demo.reducer import upcast  # noqa: F401  (the demo's Python reducer module)
from eventlab.invariants import duckdb_path, fold_path, grammar
from eventlab.invariants.spec import DEMO_FILE, InvariantFileError, parse_text
from eventlab.replay.merge import MergeReducer
from eventlab.store.eventstore import EventStore


def _found(results: list[invariants.Result]) -> dict[str, dict[str, tuple]]:
    return {r.invariant.name: {v.entity_id: (v.seq, v.event_type, v.positions, v.recovers)
                               for v in r.violations} for r in results}


@pytest.mark.parametrize("path", ["duckdb", "fold"])
def test_planted_faults_found_exactly(store: EventStore, path: str) -> None:
    plant(store)
    demo = invariants.load_file(DEMO_FILE)
    with store.reading() as cur:
        results = (duckdb_path.check(cur, demo, ["OrderDeleted"]) if path == "duckdb"
                   else fold_path.check(cur, demo, MergeReducer(["OrderDeleted"])))
    assert _found(results) == EXPECTED
    first = results[0].violations[0]
    assert (first.entity_id, first.event_id) == ("order-2", "order-2-2")
    assert all(r.entities == len(STREAMS) for r in results)
    assert all(r.positions == sum(map(len, STREAMS.values())) for r in results)


def test_run_picks_the_path_and_both_agree_on_the_demo(demo_db: Path) -> None:
    demo = invariants.load_file(DEMO_FILE)
    extra = parse_text('''
[[invariant]]
name = "placed orders have an address city"
entity_type = "order"
when = 'event.type == "OrderPlaced" or count(items) >= 2 or event.payload.reason exists'
require = "address.city exists and (total > 30 or total_amount > 30.5) and count(items) < 3"
[[invariant]]
name = "customers keep an e-mail"
entity_type = "customer"
require = 'email exists and status not in ("gone", 3) and address.zip < "5"'
''')
    with EventStore(demo_db) as store, store.reading() as cur:  # as the app opens it
        fast = invariants.run(cur, [*demo, *extra])
        slow = fold_path.check(cur, [*demo, *extra], MergeReducer())
    assert [r.path for r in fast] == ["duckdb"] * 5
    assert [(r.entities, r.positions, r.violations) for r in fast] == \
        [(r.entities, r.positions, r.violations) for r in slow]
    assert fast[0].entities > 100 and all(len(r.violations) > 10 for r in fast[3:])
    assert any(v.recovers for v in fast[3].violations)


@pytest.mark.parametrize(("text", "where", "what"), [
    ("status ==", (1, 10), "expected a value"),
    ("status = 1", (1, 8), "unexpected character '='"),
    ("a in 1", (1, 6), "expected '(' after 'in'"),
    ("sum(items qty)", (1, 11), "expected ',' and the expression"),
    ("a and\n  (b or c", (2, 10), "expected ')'"),
    ("'open", (1, 1), "unexpected character"),
    ("event.id == 1", (1, 1), "'event' is followed by"),
    ("a.1", (1, 3), "expected a field name after '.'"),
    ("x == 1 y", (1, 8), "expected 'and', 'or', an operator"),
])
def test_grammar_errors_name_line_column_and_what_was_expected(text: str, where: tuple,
                                                               what: str) -> None:
    with pytest.raises(grammar.ParseError) as info:
        grammar.parse(text)
    assert (info.value.line, info.value.column) == where
    assert what in str(info.value)


def test_file_errors_point_into_the_file() -> None:
    text = '[[invariant]]\nname = "x"\nentity_type = "order"\nwhen = "a exists"\n' \
           'require = "b >"\n'
    with pytest.raises(InvariantFileError, match=r"'x', require: line 5 of the file, "
                                                 r"column 4 .* expected a value"):
        parse_text(text, "f.toml")
    with pytest.raises(InvariantFileError, match="'require' is required"):
        parse_text('[[invariant]]\nname = "x"\nentity_type = "o"\n')
    with pytest.raises(InvariantFileError, match="not valid TOML"):
        parse_text("[[invariant]\n")


def test_cli_json_strict_and_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import json

    from eventlab.cli import main

    demo_db = tmp_path / "planted.duckdb"
    with EventStore(demo_db) as store:
        plant(store)
    assert main(["invariants", "--db", str(demo_db), "--json", "--strict"]) == 1
    out = json.loads(capsys.readouterr().out)
    assert out["source"].startswith("the demo shop's examples")
    shipped = out["invariants"][0]
    assert shipped["name"] == "a shipped order was paid" and shipped["violating_entities"] == 4
    assert shipped["violations"][0]["entity_id"] == "order-2"
    assert shipped["path"] == "duckdb"
    rule = tmp_path / "ok.toml"
    rule.write_text('[[invariant]]\nname = "ids"\nentity_type = "order"\n'
                    'require = "status exists or event.type != \\"OrderPlaced\\""\n')
    assert main(["invariants", "--db", str(demo_db), "--strict", "--file", str(rule)]) == 0
    assert "ok      ids (order)" in capsys.readouterr().out
    rule.write_text('[[invariant]]\nname = "bad"\nentity_type = "order"\nrequire = "a =="\n')
    assert main(["invariants", "--db", str(demo_db), "--file", str(rule)]) == 2
    assert "line 4 of the file, column 5" in capsys.readouterr().err


def test_findings_go_into_an_investigation_bundle(tmp_path: Path) -> None:
    import json

    from eventlab import investigations as inv_api

    path = tmp_path / "planted.duckdb"
    with EventStore(path) as store:
        plant(store)
        inv = inv_api.new("shipped unpaid", "ann", inv_api.now())
        inv = inv.with_doc({**inv.doc(), "invariants": ["a shipped order was paid", "gone"]},
                           inv_api.now())
        inv_api.save(store, inv)
        with store.reading() as cur:
            made = inv_api.write_bundle(cur, inv_api.load(cur, inv.id), tmp_path / "out")
    found = json.loads((made.folder / "invariants.json").read_text())
    assert found[0]["violating_entities"] == 4 and found[1] == {"name": "gone", "missing": True}
    assert [v["entity_id"] for v in found[0]["violations"]] == [
        "order-2", "order-4", "order-5", "order-6"]
    html = (made.folder / "report.html").read_text()
    assert "<h2>Invariants</h2>" in html and "order-6" in html


def test_other_reducers_take_the_fold_path(store: EventStore) -> None:
    from eventlab.replay.merge import merge_reducer
    from eventlab.replay.reducer import as_reducer

    plant(store)
    demo = invariants.load_file(DEMO_FILE)
    python_merge = as_reducer(lambda state, event: merge_reducer(state, event, {"OrderDeleted"}))
    with store.reading() as cur:
        results = invariants.run(cur, demo, python_merge)
        fast = invariants.run(cur, demo, MergeReducer(["OrderDeleted"]))
    assert {r.path for r in results} == {"fold"} and {r.path for r in fast} == {"duckdb"}
    assert _found(results) == _found(fast) == EXPECTED


def test_the_fold_path_is_bounded_by_default_and_says_how_much(
        store: EventStore, monkeypatch: pytest.MonkeyPatch) -> None:
    from eventlab.replay.merge import merge_reducer
    from eventlab.replay.reducer import as_reducer
    from eventlab.timetravel import fold_each

    plant(store)
    demo = invariants.load_file(DEMO_FILE)
    python_merge = as_reducer(lambda state, event: merge_reducer(state, event, {"OrderDeleted"}))
    monkeypatch.setattr(fold_each, "MAX_EVENTS", 5)
    with store.reading() as cur, pytest.raises(fold_each.FoldTooLarge, match="events"):
        invariants.run(cur, demo, python_merge)
    with store.reading() as cur:  # 0: no bound
        assert _found(invariants.run(cur, demo, python_merge, max_events=0)) == EXPECTED


def test_the_fold_path_reads_entities_slice_by_slice(demo_db: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    demo = invariants.load_file(DEMO_FILE)[:1]
    with EventStore(demo_db) as store, store.reading() as cur:  # as the app opens it
        whole = fold_path.check(cur, demo, MergeReducer())
        monkeypatch.setattr(fold_path, "SLICE_EVENTS", 100)
        sliced = fold_path.check(cur, demo, MergeReducer())
    assert (sliced[0].entities, sliced[0].positions, sliced[0].violations) == \
        (whole[0].entities, whole[0].positions, whole[0].violations)
