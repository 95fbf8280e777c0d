"""`make demo-rabbitmq`: its own node on its own ports, its own emptied database, the publisher
and the slow named consumer in the background, and Ctrl-C stops everything it started."""

from __future__ import annotations

import shutil
import subprocess

import pytest
from repo_paths import ROOT


def _dry_run(target: str) -> str:
    if shutil.which("make") is None:
        pytest.fail("make is not installed: the Makefile is how the demos start")
    return subprocess.run(["make", "-n", target], cwd=ROOT, capture_output=True, text=True,
                          check=True).stdout


def test_demo_rabbitmq_runs_its_own_node_and_database() -> None:
    text = _dry_run("demo-rabbitmq")
    lines = text.splitlines()
    assert "eventlab rabbitmq --port 5682 --stream-port 5562 --detach" in text
    assert "ingest data/demo" not in text and "eventlab.duckdb" not in text
    serve = next(i for i, line in enumerate(lines) if "eventlab.ui.serve" in line)
    assert "EVENTLAB_DB=.eventlab/rabbitmq.duckdb" in lines[serve - 1]
    assert lines.index("rm -f .eventlab/rabbitmq.duckdb .eventlab/rabbitmq.duckdb.wal") < serve
    assert "export EVENTLAB_RABBITMQ_PORT=5682 EVENTLAB_RABBITMQ_STREAM_PORT=5562" in text


def test_demo_rabbitmq_publishes_while_the_named_consumer_lags_and_stops_all() -> None:
    text = _dry_run("demo-rabbitmq")
    assert "eventlab demo-rabbitmq --events 50000 --rate 500" in text
    assert "2>&1 & publisher=$!" in text and "2>&1 & consumer=$!" in text  # in the background
    assert "--name shop-projector --rate 100" in text  # slower than the shop: lag grows
    assert "--queue shop-orders" in text  # the worker that dead-letters the poison
    assert "kill $publisher $consumer" in text
    assert "eventlab rabbitmq --stop --port 5682' EXIT" in text
