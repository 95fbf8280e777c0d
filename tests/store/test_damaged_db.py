"""Issue 17 finding 9: a truncated or damaged database file gives one clear StoreError when it
is opened (not a DuckDB exception on every page later), and the app shows it. Real database
files, cut with truncate()."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from repo_paths import APP
from streamlit.testing.v1 import AppTest

from eventlab.errors import StoreError
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
    with pytest.raises(StoreError) as err:
        EventStore(path, read_only=read_only)
    message = str(err.value)
    assert message.startswith(f"the database file {path} is damaged: ")
    assert "restore it" in message.lower() and "EVENTLAB_DB" in message
    assert path.stat().st_size == size  # opening it changed nothing


def test_an_intact_copy_opens(demo_db: Path, tmp_path: Path) -> None:
    path = Path(shutil.copy(demo_db, tmp_path / "whole.duckdb"))
    with EventStore(path, read_only=True) as store:
        assert store.stats().events > 0


def test_the_app_shows_the_damage_instead_of_a_duckdb_exception(
        demo_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _cut(demo_db, tmp_path, 0.6)
    monkeypatch.setenv("EVENTLAB_DB", str(path))
    monkeypatch.delenv("EVENTLAB_READ_ONLY", raising=False)
    for page in ("pages/explore_page.py", "pages/quality_page.py"):
        at = AppTest.from_file(APP, default_timeout=30)
        at.switch_page(page)
        at.run()
        assert not at.exception, at.exception
        errors = [e.value for e in at.error]
        assert any("is damaged" in e and "EVENTLAB_DB" in e for e in errors), errors
    assert os.path.getsize(path) < os.path.getsize(demo_db)
