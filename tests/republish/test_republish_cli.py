"""`eventlab republish` end to end: --dry-run then --execute --resume as JSON, a direct
--execute, and the read-only refusal (audited) through the command line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from repo_paths import ROOT
from republish_support import read_all, records

from eventlab.ingest.kafka_ingest import ingest_kafka
from eventlab.kafka import admin
from eventlab.kafka.config import KafkaConfig
from eventlab.store import db
from eventlab.store.eventstore import EventStore

KEYS = {"job_id", "target_topic", "planned", "sent", "failed", "unknown", "unsent", "dry_run"}


def run_full(*args: str, **env: str) -> tuple[int, dict, str]:
    """Exit code, the JSON object on stdout and stderr (stdin is not a terminal)."""
    full = {**os.environ, "EVENTLAB_ACTOR": "cli-tester", **env}
    if "EVENTLAB_READ_ONLY" not in env:
        full.pop("EVENTLAB_READ_ONLY", None)
    out = subprocess.run([sys.executable, "-m", "eventlab", "republish", *args, "--json"],
                         cwd=ROOT, env=full, capture_output=True, text=True, timeout=60,
                         stdin=subprocess.DEVNULL)
    return out.returncode, json.loads(out.stdout.strip().splitlines()[-1]), out.stderr


def run(*args: str, **env: str) -> tuple[int, dict]:
    code, obj, _ = run_full(*args, **env)
    return code, obj


def test_dry_run_execute_and_read_only_refusal(tmp_path: Path, kafka_config: KafkaConfig,
                                               topic_factory: Callable,
                                               raw_producer: Callable) -> None:
    src = topic_factory(1)
    raw_producer(src, 0, records(10))
    path = tmp_path / "cli.duckdb"
    with EventStore(path) as store:
        assert ingest_kafka(store, kafka_config, [src]).rows_stored == 10
    common = ("--bootstrap", kafka_config.bootstrap, "--db", str(path))
    ids = tmp_path / "ids.txt"
    ids.write_text("ev-1\nev-2\n\nev-3\n")

    code, dry = run("--ids", str(ids), "--dry-run", "--reason", "cli", *common)
    assert code == 0 and set(dry) >= KEYS
    assert (dry["dry_run"], dry["planned"], dry["sent"], dry["unsent"]) == (True, 3, 0, 3)
    assert [r["src_offset"] for r in dry["records"]] == [1, 2, 3]
    target = dry["target_topic"]
    assert admin.partition_counts(kafka_config, [target])[target] is None  # nothing made

    code, done = run("--resume", dry["job_id"], "--execute", *common)
    assert code == 0 and set(done) >= KEYS
    assert (done["dry_run"], done["sent"], done["failed"], done["unknown"], done["unsent"]) \
        == (False, 3, 0, 0, 0)
    assert len(read_all(kafka_config, target)) == 3

    code, refused = run("--entity", "order-1", "--execute", *common, EVENTLAB_READ_ONLY="1")
    assert code == 2 and refused["kind"] == "ReadOnlyError"
    assert "EVENTLAB_READ_ONLY" in refused["error"]

    code, into_src = run("--entity", "order-1", "--to", src, "--execute", *common)
    assert code == 2 and into_src["kind"] == "RepublishRefused"  # a source topic: --yes
    assert "typed back" in into_src["error"]
    code, into_src = run("--entity", "order-1", "--to", src, "--execute", "--yes", *common)
    assert code == 0 and into_src["sent"] == 2 and into_src["target_topic"] == src
    with EventStore(path, read_only=True) as store, store.reading() as cur:
        audit = db.rows(cur, "SELECT action, outcome, actor FROM audit_log ORDER BY logged_at")
    assert [(a, o) for a, o, _ in audit] == [
        ("dry-run", "planned"), ("resume", "done"), ("dry-run", "refused"),
        ("dry-run", "planned"), ("execute", "refused"), ("dry-run", "planned"),
        ("execute", "done")]
    assert {actor for *_, actor in audit} == {"cli-tester"}


def test_an_unconfirmed_send_into_a_source_topic_is_refused_before_saying_sending(
        tmp_path: Path, kafka_config: KafkaConfig, topic_factory: Callable,
        raw_producer: Callable) -> None:
    src = topic_factory(1)
    raw_producer(src, 0, records(5))
    path = tmp_path / "confirm.duckdb"
    with EventStore(path) as store:
        assert ingest_kafka(store, kafka_config, [src]).rows_stored == 5
    common = ("--bootstrap", kafka_config.bootstrap, "--db", str(path))

    code, refused, err = run_full("--entity", "order-1", "--to", src, "--execute", *common)
    assert code == 2 and refused["kind"] == "RepublishRefused"
    assert "republish job" not in err  # no "republish job J: sending"
    code, dry, _ = run_full("--entity", "order-1", "--to", src, "--dry-run", *common)
    code, refused, err = run_full("--resume", dry["job_id"], "--execute", *common)
    assert code == 2 and "typed back" in refused["error"] and "republish job" not in err
    assert len(read_all(kafka_config, src)) == 5  # nothing sent
    code, done, err = run_full("--resume", dry["job_id"], "--execute", "--yes", *common)
    assert code == 0 and done["sent"] == 1 and f"republish job {dry['job_id']}: sending" in err
