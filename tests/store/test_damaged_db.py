"""Issue 17 finding 9: a truncated or damaged database file gives one clear StoreError, when it
is opened or when a query first reads a block that is not there (not a DuckDB exception), and
the app shows it. Real database
files, cut with truncate()."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from markdown_text import shown
from repo_paths import APP
from streamlit.testing.v1 import AppTest

from eventlab.errors import StoreError
from eventlab.store import db as store_db
from eventlab.store.eventstore import EventStore


def _cut(demo_db: Path, tmp_path: Path, keep: float | int) -> Path:
    path = Path(shutil.copy(demo_db, tmp_path / "cut.duckdb"))
    size = path.stat().st_size
    with path.open("r+b") as f:
        f.truncate(int(size * keep) if isinstance(keep, float) else keep)
    return path


@pytest.mark.parametrize("keep", [0.6, 0.95, 100, 0], ids=["60%", "95%", "100 bytes", "empty"])
@pytest.mark.parametrize("read_only", [False, True], ids=["read-write", "read-only"])
def test_a_cut_database_is_refused_at_open_with_one_message(
        demo_db: Path, tmp_path: Path, keep: float | int, read_only: bool) -> None:
    path = _cut(demo_db, tmp_path, keep)
    size = path.stat().st_size
    # at open, or at the first read of a missing block
    with pytest.raises(StoreError) as err, EventStore(path, read_only=read_only) as store, \
            store.reading() as cur:
        for (table,) in store_db.rows(cur, "SELECT table_name FROM duckdb_tables() "
                                           "ORDER BY table_name"):
            store_db.rows(cur, f'SELECT max(hash(t)) FROM "{table}" t')  # every column read
    message = str(err.value)
    assert message.startswith("the database file") and " is damaged: " in message
    assert "restore it" in message.lower() and "EVENTLAB_DB" in message
    assert path.stat().st_size == size  # opening it changed nothing


def test_an_intact_copy_opens(demo_db: Path, tmp_path: Path) -> None:
    path = Path(shutil.copy(demo_db, tmp_path / "whole.duckdb"))
    with EventStore(path, read_only=True) as store:
        assert store.stats().events > 0


def test_a_written_and_closed_database_opens(tmp_path: Path) -> None:
    """DuckDB trims free blocks off a file's end at a checkpoint: a whole file can be shorter
    than its block count says (a first probe compared the two and refused good files)."""
    path = tmp_path / "trimmed.duckdb"
    with EventStore(path) as store, store.transaction() as cur:
        cur.execute("CREATE TABLE big AS SELECT range AS i, repeat('x', 100) AS t "
                    "FROM range(200000)")
        cur.execute("DROP TABLE big")
    with EventStore(path, read_only=True) as store:
        assert store.stats().events == 0


def test_the_app_shows_the_damage_instead_of_a_duckdb_exception(
        demo_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _cut(demo_db, tmp_path, 0.2)
    monkeypatch.setenv("EVENTLAB_DB", str(path))
    monkeypatch.delenv("EVENTLAB_READ_ONLY", raising=False)
    for page in ("pages/quality_page.py", "pages/sql_page.py"):  # both read every block
        at = AppTest.from_file(APP, default_timeout=30)
        at.switch_page(page)
        if page == "pages/sql_page.py":
            at.query_params["sql"] = "SELECT max(length(payload::VARCHAR)) FROM events"
        at.run()
        assert not at.exception, at.exception
        errors = [shown(e.value) for e in at.error]
        assert any("is damaged" in e and "EVENTLAB_DB" in e for e in errors), errors
    assert os.path.getsize(path) < os.path.getsize(demo_db)
