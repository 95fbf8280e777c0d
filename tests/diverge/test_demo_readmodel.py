"""The demo read model's planted faults, found by the comparison with exact counts and the
right events, through the file readers (CSV and Parquet) and the CLI."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from eventlab.cli import main
from eventlab.diverge import ReadModelSpec, compare, read_model
from eventlab.diverge.demo import EXTRA_ID, write_demo_read_model
from eventlab.store.eventstore import EventStore


@pytest.mark.parametrize("name", ["orders.csv", "orders.parquet"])
def test_every_planted_fault_is_found_with_its_event(demo_db: Path, tmp_path: Path,
                                                     name: str) -> None:
    path = tmp_path / name
    with EventStore(demo_db) as store, store.reading() as cur:
        planted = write_demo_read_model(cur, path)
        got = compare(cur, read_model(path), ReadModelSpec(tolerance=0.005))
        orders = cur.execute("SELECT count(DISTINCT entity_id) FROM events "
                             "WHERE entity_type = 'order'").fetchall()[0][0]
    kinds = {p.kind: p for p in planted}
    assert got.entity_type == "order"
    assert got.counts["differ"] == 3  # missed, doubled, stale
    assert got.missing == [kinds["dropped_row"].entity_id]
    assert got.only_in_read_model == [EXTRA_ID]
    assert sum(got.counts.values()) == orders + 1
    diffs = {(d["entity_id"], d["column"]): d for d in got.differences.to_pylist()}
    for kind in ("missed_event", "doubled_event", "stale_row"):
        p = kinds[kind]
        assert diffs[(p.entity_id, p.column)]["event_id"] == p.event_id, kind
    stale = kinds["stale_row"].entity_id
    assert {c for (e, c) in diffs if e == stale} == {"status", "payment_id", "tracking_number"}
    assert diffs[(kinds["missed_event"].entity_id, "payment_id")]["read_value"] is None


def test_cli_diverge_json_and_demo_readmodel(demo_db: Path, tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    # the CLI opens its database read-only: a copy, as the app's tests hold this one open
    demo_db = Path(shutil.copy(demo_db, tmp_path / "demo.duckdb"))
    out = tmp_path / "rm.csv"
    assert main(["demo-readmodel", str(out), "--db", str(demo_db)]) == 0
    capsys.readouterr()
    assert main(["diverge", str(out), "--db", str(demo_db), "--json",
                 "--tolerance", "0.005", "--strict"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["counts"]["differ"] == 3 and report["counts"]["missing"] == 1
    assert report["counts"]["only_in_read_model"] == 1
    assert all(d["event_id"] for d in report["differences"])
    assert main(["diverge", str(out), "--db", str(demo_db), "--tolerance", "0.005"]) == 0
    text = capsys.readouterr().out
    assert "3 differ" in text and EXTRA_ID in text


@pytest.mark.parametrize("kind", ["rules", "python"])
def test_the_demo_reducers_find_the_planted_faults_through_the_fold(
        demo_db: Path, tmp_path: Path, kind: str) -> None:
    from eventlab.timetravel.reducer_choices import ReducerChoice

    demo = Path(__file__).resolve().parents[2] / "eventlab" / "demo"
    reducer = ReducerChoice(kind, str(demo / ("rules.toml" if kind == "rules"
                                              else "reducer.py"))).load()
    path = tmp_path / "orders.parquet"
    # the demo read model is the merge's states; these reducers upcast v1's `total` into
    # `total_amount` (merge keeps a stale `total`), so `total` is left out of both
    spec = ReadModelSpec(tolerance=0.005, ignore=("total",))
    with EventStore(demo_db) as store, store.reading() as cur:
        planted = {p.kind: p for p in write_demo_read_model(cur, path)}
        fast = compare(cur, read_model(path), spec)
        slow = compare(cur, read_model(path), spec, reducer=reducer)
    assert (fast.path, slow.path, slow.reducer) == ("duckdb", "fold", reducer.name)
    assert slow.counts == fast.counts and slow.counts["differ"] == 2  # missed, stale
    assert (slow.missing, slow.only_in_read_model) == (fast.missing, fast.only_in_read_model)
    assert slow.differences.to_pylist() == fast.differences.to_pylist()
    diffs = {(d["entity_id"], d["column"]): d for d in slow.differences.to_pylist()}
    for name in ("missed_event", "stale_row"):
        p = planted[name]
        assert diffs[(p.entity_id, p.column)]["event_id"] == p.event_id, name


def test_cli_diverge_with_rules_says_the_fold_ran_and_refuses_too_many_events(
        demo_db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    demo_db = Path(shutil.copy(demo_db, tmp_path / "demo.duckdb"))
    rules = str(Path(__file__).resolve().parents[2] / "eventlab" / "demo" / "rules.toml")
    out = tmp_path / "rm.csv"
    assert main(["demo-readmodel", str(out), "--db", str(demo_db)]) == 0
    capsys.readouterr()
    assert main(["diverge", str(out), "--db", str(demo_db), "--rules", rules,
                 "--ignore", "total", "--tolerance", "0.005"]) == 0
    got = capsys.readouterr()
    assert "2 differ" in got.out and "reducer rules: rules.toml, through the fold" in got.out
    assert "folded " in got.err and " events" in got.err  # progress, on stderr
    assert main(["diverge", str(out), "--db", str(demo_db), "--rules", rules, "--json",
                 "--max-events", "10"]) == 2
    report = json.loads(capsys.readouterr().out)
    assert report["kind"] == "FoldTooLarge" and "bound of 10 events" in report["error"]
    assert main(["diverge", str(out), "--db", str(demo_db), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert (report["path"], report["reducer"]) == ("duckdb", "merge")
