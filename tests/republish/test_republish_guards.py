"""The guards are process settings (docs/safety.md, items 21 and 37): a process started with
EVENTLAB_READ_ONLY=1 sends nothing whatever arguments its callers pass, whatever it does to
its own environment afterwards, and every refused attempt is in the audit log."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

from repo_paths import ROOT
from republish_support import load, read_all, records

from eventlab import republish
from eventlab.kafka import admin
from eventlab.kafka.config import KafkaConfig
from eventlab.republish import PlanOptions, Selection
from eventlab.store import db
from eventlab.store.eventstore import EventStore

# Each attempt an earlier version (or a careless caller) could use to get past read-only mode.
CHILD = textwrap.dedent("""
    import json, os, sys
    from eventlab import republish, settings
    from eventlab.jobs import JobManager
    from eventlab.kafka.config import KafkaConfig
    from eventlab.republish import PlanOptions, Selection
    from eventlab.store.eventstore import EventStore

    path, bootstrap, job_id, target = sys.argv[1:]
    config = KafkaConfig(bootstrap=bootstrap, timeout_s=5.0)
    allowed = {"EVENTLAB_READ_ONLY": "0", "EVENTLAB_REPUBLISH_TOPICS": ".*"}
    attempts = {
        "dry_run": lambda s: republish.dry_run(s, config, Selection.entity("order-1")),
        "dry_run env={}": lambda s: republish.dry_run(s, config, Selection.entity("order-1"),
                                                      env={}),
        "dry_run options": lambda s: republish.dry_run(
            s, config, Selection.entity("order-1"), PlanOptions(target=target),
            actor="someone"),
        "execute": lambda s: republish.execute(s, config, job_id),
        "execute env={}": lambda s: republish.execute(s, config, job_id, env={}),
        "execute env=allowed": lambda s: republish.execute(s, config, job_id, env=allowed),
        "send_again env={}": lambda s: republish.send_again(s, job_id, env={}),
        "background": lambda s: republish.start_republish(JobManager(), s, config, job_id),
    }
    out = {}
    with EventStore(path) as store:
        for name, attempt in attempts.items():
            try:
                attempt(store)
                out[name] = "ran"
            except Exception as exc:  # the outcome is what the test looks at
                out[name] = type(exc).__name__
        os.environ["EVENTLAB_READ_ONLY"] = "0"  # too late: the guards were read at start
        try:
            republish.execute(store, config, job_id)
            out["execute after environ change"] = "ran"
        except Exception as exc:
            out["execute after environ change"] = type(exc).__name__
    print(json.dumps(out))
""")


def test_a_read_only_process_sends_nothing_whatever_the_arguments(
        tmp_path: Path, kafka_config: KafkaConfig, topic_factory: Callable,
        raw_producer: Callable) -> None:
    src = topic_factory(1)
    path = tmp_path / "guards.duckdb"
    with EventStore(path) as store:
        load(store, kafka_config, src, raw_producer, records(10))
        dry = republish.dry_run(store, kafka_config, Selection.query(
            "SELECT event_id FROM events"), PlanOptions(reason="planned while writable"))
    job_id, target = dry.plan.job_id, dry.plan.target_topics[0]

    env = {**os.environ, "EVENTLAB_READ_ONLY": "1", "EVENTLAB_ACTOR": "read-only-process"}
    out = subprocess.run([sys.executable, "-c", CHILD, str(path), kafka_config.bootstrap,
                          job_id, target], cwd=ROOT, env=env, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    outcomes = json.loads(out.stdout.strip().splitlines()[-1])
    assert "ran" not in outcomes.values(), outcomes
    assert {outcomes[k] for k in ("dry_run", "dry_run options", "execute", "background",
                                  "execute after environ change")} == {"ReadOnlyError"}
    # the old bypass is gone: no write function takes an `env` any more
    assert {v for k, v in outcomes.items() if "env=" in k} == {"TypeError"}

    assert admin.partition_counts(kafka_config, [target])[target] is None  # nothing made
    assert len(read_all(kafka_config, src)) == 10  # nothing sent anywhere
    with EventStore(path) as store, store.reading() as cur:
        refused = db.rows(cur, "SELECT actor, action, detail FROM audit_log WHERE "
                               "outcome = 'refused' ORDER BY logged_at")
        sent = db.scalar(cur, "SELECT count(*) FROM republish_log WHERE status <> 'unsent'")
    assert [(who, a) for who, a, _ in refused] == [
        ("read-only-process", "dry-run"), ("someone", "dry-run"),
        *[("read-only-process", "execute")] * 3]
    assert all("EVENTLAB_READ_ONLY" in d for *_, d in refused)
    assert sent == 0
