"""`eventlab refresh`: every per-data-version fact brought up to date at once, then fresh."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from eventlab.cli.main import main
from eventlab.facts import FACTS
from eventlab.store import follows, summaries
from eventlab.store.eventstore import EventStore


def test_refresh_builds_every_fact_then_finds_them_fresh(
        demo_db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "copy.duckdb"
    shutil.copy(demo_db, db)
    assert main(["refresh", "--db", str(db)]) == 0
    first = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in first] == [name.split()[0] for name in FACTS]
    assert all(line.split()[-3] in ("rebuilt", "incremental", "fresh") for line in first)
    assert main(["refresh", "--db", str(db)]) == 0
    again = capsys.readouterr().out.splitlines()
    assert all(" fresh " in line for line in again), again
    with EventStore(db, read_only=True) as store, store.reading() as cur:
        assert summaries.fresh(cur) and follows.fresh(cur)


def test_refresh_of_a_missing_database_is_an_error_not_a_new_file(tmp_path: Path) -> None:
    assert main(["refresh", "--db", str(tmp_path / "nope.duckdb")]) != 0
    assert not (tmp_path / "nope.duckdb").exists()
