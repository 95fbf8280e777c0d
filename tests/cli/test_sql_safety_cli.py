"""Every command that runs a person's SQL refuses the CTE writes of issue 17 with the sandbox's
message and leaves the store as it was (safety item 17): `eventlab sql`, `eventlab export
--sql` and `eventlab republish --sql ... --dry-run`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sql_support import CTE_DELETE, CTE_UPDATE, fingerprint_file, seed

from eventlab.cli import main
from eventlab.store import db
from eventlab.store.eventstore import EventStore

WRITES = pytest.mark.parametrize(("sql", "verb"), [(CTE_DELETE, "DELETE"),
                                                   (CTE_UPDATE, "UPDATE")])


def _error(capsys: pytest.CaptureFixture[str]) -> dict:
    out = capsys.readouterr().out.strip().splitlines()[-1]
    return json.loads(out)


@WRITES
def test_eventlab_sql_refuses(tmp_path: Path, capsys: pytest.CaptureFixture[str], sql: str,
                              verb: str) -> None:
    path = seed(tmp_path / "x.duckdb")
    before = fingerprint_file(path)
    assert main(["sql", sql, "--db", str(path), "--json"]) == 2
    err = _error(capsys)
    assert err["kind"] == "SqlRefused" and f"contains {verb}" in err["error"]
    assert fingerprint_file(path) == before


@WRITES
def test_export_sql_refuses(tmp_path: Path, capsys: pytest.CaptureFixture[str], sql: str,
                            verb: str) -> None:
    path = seed(tmp_path / "x.duckdb")
    before = fingerprint_file(path)
    out = tmp_path / "out.csv"
    assert main(["export", "--sql", sql, "--out", str(out), "--db", str(path), "--json"]) == 2
    err = _error(capsys)
    assert err["kind"] == "SqlRefused" and f"contains {verb}" in err["error"]
    assert not out.exists()
    assert fingerprint_file(path) == before


@WRITES
def test_republish_sql_dry_run_refuses(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                       sql: str, verb: str) -> None:
    """The selection query is refused before any broker is asked (none runs here); the
    refusal is audited, and nothing else in the store changes."""
    path = seed(tmp_path / "x.duckdb")
    before = fingerprint_file(path)
    code = main(["republish", "--sql", sql, "--dry-run", "--db", str(path),
                 "--bootstrap", "127.0.0.1:9", "--json"])
    assert code == 2
    err = _error(capsys)
    assert f"contains {verb}" in err["error"]
    after = fingerprint_file(path)
    assert {k: v for k, v in after.items() if k != "audit_log"} == \
        {k: v for k, v in before.items() if k != "audit_log"}
    with EventStore(path, read_only=True) as store, store.reading() as cur:
        audit = db.rows(cur, "SELECT action, outcome FROM audit_log ORDER BY logged_at")
    assert audit == [("dry-run", "planned"), ("dry-run", "refused")]  # the seed's row kept
