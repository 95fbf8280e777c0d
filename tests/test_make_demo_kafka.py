"""`make demo-kafka` runs the app on its own database, emptied at start, never on the Parquet
demo's (loading the topic there stored every event twice and hid the planted duplicates)."""

from __future__ import annotations

import shutil
import subprocess

import pytest
from repo_paths import ROOT


def _dry_run(target: str) -> list[str]:
    if shutil.which("make") is None:
        pytest.fail("make is not installed: the Makefile is how the demos start")
    out = subprocess.run(["make", "-n", target], cwd=ROOT, capture_output=True, text=True,
                         check=True).stdout
    return out.splitlines()


def test_demo_kafka_serves_its_own_empty_database() -> None:
    lines = _dry_run("demo-kafka")
    text = "\n".join(lines)
    assert "ingest data/demo" not in text  # the Parquet demo is not loaded into it
    assert "eventlab.duckdb" not in text
    serve = next(i for i, line in enumerate(lines) if "eventlab.ui.serve" in line)
    assert "EVENTLAB_DB=.eventlab/kafka.duckdb" in lines[serve]
    empty = lines.index("rm -f .eventlab/kafka.duckdb .eventlab/kafka.duckdb.wal")
    assert empty < serve


def test_make_run_keeps_the_parquet_demo_database() -> None:
    text = "\n".join(_dry_run("run"))
    assert "EVENTLAB_DB=.eventlab/eventlab.duckdb" in text and "kafka.duckdb" not in text


def test_demo_kafka_produces_while_the_slow_group_consumes() -> None:
    text = "\n".join(_dry_run("demo-kafka"))
    produce = next(line for line in text.split(";") if "eventlab demo --kafka" in line)
    assert "--rate 500" in produce and "2>&1 & producer=$!" in produce  # in the background
    assert "--group shop-projector --rate 100" in text  # slower than the shop: lag grows
    assert "kill $producer $consumer" in text
