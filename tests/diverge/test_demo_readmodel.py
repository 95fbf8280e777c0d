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
