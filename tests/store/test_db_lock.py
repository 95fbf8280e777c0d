"""A database another process holds: the message names that process and what to do."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from eventlab.errors import StoreError
from eventlab.store import db


def test_a_locked_file_names_the_process_holding_it(tmp_path: Path) -> None:
    path = tmp_path / "held.duckdb"
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from eventlab.store import db; "
         f"c = db.connect({str(path)!r}); print('ready', flush=True); time.sleep(30)",
         "--holder-marker"], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "ready"
        started = time.monotonic()
        with pytest.raises(StoreError) as info:
            db.connect(path)
        assert time.monotonic() - started < 5
        text = str(info.value)
        assert f"PID {holder.pid} (`python -c import sys, time" in text
        assert "--db / EVENTLAB_DB" in text
    finally:
        holder.kill()
        holder.wait()


def test_lock_holder_without_a_pid() -> None:
    assert db.lock_holder("Could not set lock") == "another `eventlab` command or the app"
    assert db.lock_holder("held in x (PID 999999999)") == "PID 999999999"
