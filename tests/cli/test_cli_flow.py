"""`eventlab flow transitions|variants|chain` on hand-made event sets (tests/flow_support.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from flow_support import CHAIN_ORDER, CHAIN_ROWS, flow_db

from eventlab.cli import main


def _json(capsys: pytest.CaptureFixture[str]) -> object:
    out = capsys.readouterr().out
    assert out.count("\n") == 1, out
    return json.loads(out)


def test_transitions_json_is_a_list_of_pairs_with_times(tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    db = str(flow_db(tmp_path / "f.duckdb"))
    assert main(["flow", "transitions", "--entity-type", "order", "--db", db, "--json"]) == 0
    rows = _json(capsys)
    by = {(r["from_type"], r["to_type"]): r for r in rows}
    assert set(rows[0]) == {"from_type", "to_type", "count", "median_seconds", "p95_seconds",
                            "negative_gaps"}
    assert by["A", "B"]["count"] == 3 and by["A", "B"]["median_seconds"] == 20
    assert by["A", "B"]["p95_seconds"] == pytest.approx(29)
    assert by["B", "C"]["negative_gaps"] == 1
    assert by["^", "A"] == {"from_type": "^", "to_type": "A", "count": 4,
                            "median_seconds": None, "p95_seconds": None, "negative_gaps": 0}
    assert sum(r["count"] for r in rows if r["to_type"] == "$") == 4


def test_transitions_take_a_time_range_and_print_text(tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    db = str(flow_db(tmp_path / "f.duckdb"))
    assert main(["flow", "transitions", "--db", db, "--entity-type", "order",
                 "--from", "2026-05-01T09:00:15", "--to", "2026-05-01T09:01:40Z"]) == 0
    out = capsys.readouterr().out
    assert "^ -> B" in out and "A -> B" not in out and "start of an entity's stream" in out
    assert main(["flow", "transitions", "--db", db, "--from", "yesterday"]) == 2
    assert "not an ISO 8601 time" in capsys.readouterr().err


def test_variants_json_and_text(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = str(flow_db(tmp_path / "f.duckdb"))
    assert main(["flow", "variants", "--db", db, "--top", "2", "--json"]) == 0
    assert _json(capsys) == [
        {"entity_type": "order", "variant": ["A", "B", "C"], "length": 3, "entities": 2,
         "share": 0.5},
        {"entity_type": "order", "variant": ["A", "B"], "length": 2, "entities": 1,
         "share": 0.25},
        {"entity_type": "payment", "variant": ["X", "Y"], "length": 2, "entities": 1,
         "share": 1.0}]
    assert main(["flow", "variants", "--db", db, "--entity-type", "order"]) == 0
    out = capsys.readouterr().out
    assert "order:" in out and "50.0%  A > B > C" in out and "payment" not in out


def test_chain_json_in_causal_order(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = str(flow_db(tmp_path / "c.duckdb", CHAIN_ROWS))
    assert main(["flow", "chain", "c1", "--db", db, "--json"]) == 0
    out = _json(capsys)
    assert [e["event_id"] for e in out["events"]] == CHAIN_ORDER
    assert out["missing_parents"] == ["gone"]
    assert out["events"][6]["outside_correlation"] is True
    assert [e["depth"] for e in out["events"]] == [0, 1, 2, 3, 4, 1, 0, 1, 1]
    assert main(["flow", "chain", "e5", "--event", "--db", db]) == 0
    text = capsys.readouterr().out
    assert text.startswith("correlation c1: 9 events, 5 entities, 1 missing parents")
    assert "! missing parent gone (not in the store)" in text
    assert "        ShipmentCreated  shipment1" in text  # depth 4


def test_an_unknown_chain_is_an_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = str(flow_db(tmp_path / "c.duckdb", CHAIN_ROWS))
    assert main(["flow", "chain", "nope", "--db", db, "--json"]) == 2
    captured = capsys.readouterr()
    assert json.loads(captured.out)["kind"] == "ChainNotFound"
    assert "No event has correlation id 'nope'" in captured.err
