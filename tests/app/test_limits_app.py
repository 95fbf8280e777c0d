"""Safety items 39 and 9 of issue 17: a page whose query hits DuckDB's memory limit says so,
naming the setting, instead of showing DuckDB's exception."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from repo_paths import APP
from streamlit.testing.v1 import AppTest


@pytest.mark.parametrize("page", ["pages/asof_page.py", "pages/quality_page.py"])
def test_out_of_memory_is_a_message(page: str, demo_db: Path, tmp_path: Path,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    copy = Path(shutil.copy(demo_db, tmp_path / "demo.duckdb"))  # its own DuckDB instance
    monkeypatch.setenv("EVENTLAB_DB", str(copy))
    monkeypatch.setenv("EVENTLAB_MEMORY_LIMIT", "4MB")
    at = AppTest.from_file(APP, default_timeout=120)
    at.switch_page(page)
    at.run()
    assert not at.exception, [(e.value, e.stack_trace[-8:]) for e in at.exception]
    errors = [e.value for e in at.error]
    assert any("ran out of memory" in e and "EVENTLAB\\_MEMORY\\_LIMIT" in e
               for e in errors), errors
