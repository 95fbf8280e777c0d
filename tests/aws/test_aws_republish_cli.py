"""`eventlab republish --to-sqs / --to-sns / --to-sqs-redrive` against moto's server mode (an
EMULATOR: only documented SQS/SNS behaviour is relied on). The guards are read by the child
process from its environment: the allow-list refuses a queue it does not match."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from event_rows import add_events
from repo_paths import ROOT

from eventlab.aws.clients import sqs
from eventlab.aws.config import AwsConfig
from eventlab.aws.queues import queue_name
from eventlab.store.eventstore import EventStore


def _cli(db: Path, config: AwsConfig, *args: str, **env: str) -> tuple[int, dict[str, Any]]:
    full = {**os.environ, "EVENTLAB_AWS_ENDPOINT_URL": str(config.endpoint_url),
            "EVENTLAB_ACTOR": "cli-tester", **env}
    full.setdefault("EVENTLAB_READ_ONLY", "0")
    out = subprocess.run([sys.executable, "-m", "eventlab", "republish", "--db", str(db),
                          *args, "--json"], cwd=ROOT, env=full, capture_output=True, text=True,
                         timeout=120, stdin=subprocess.DEVNULL)
    lines = out.stdout.strip().splitlines()
    return out.returncode, (json.loads(lines[-1]) if lines else {"stderr": out.stderr})


def _depth(config: AwsConfig, url: str) -> int:
    return int(sqs(config).get_queue_attributes(QueueUrl=url, AttributeNames=[
        "ApproximateNumberOfMessages"])["Attributes"]["ApproximateNumberOfMessages"])


def _bodies(config: AwsConfig, url: str) -> list[str]:
    got = sqs(config).receive_message(QueueUrl=url, MaxNumberOfMessages=10,
                                      WaitTimeSeconds=0).get("Messages", [])
    return sorted(m["Body"] for m in got)


def test_redrive_an_sqs_dlq_from_the_cli_with_confirmation_and_the_allow_list(
        tmp_path: Path, aws_config: AwsConfig, sqs_queue_factory: Callable[..., str]) -> None:
    dlq = sqs_queue_factory()
    arn = sqs(aws_config).get_queue_attributes(
        QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    source = sqs_queue_factory(RedrivePolicy=json.dumps({"deadLetterTargetArn": arn,
                                                         "maxReceiveCount": "2"}))
    db = tmp_path / "cli.duckdb"
    with EventStore(db) as store:
        add_events(store, [dict(source="sqs", topic=queue_name(dlq), offset=i, seq=i + 1,
                                value=f"dead {i}".encode()) for i in range(3)])
    base = ("--dlq", queue_name(dlq), "--to-sqs-redrive")
    code, dry = _cli(db, aws_config, *base, "--dry-run")
    assert code == 0 and dry["planned"] == 3 and dry["confirm"] == [queue_name(source)]
    code, refused = _cli(db, aws_config, *base, "--execute")  # no --yes, no terminal
    assert code != 0 and _bodies(aws_config, source) == []
    code, denied = _cli(db, aws_config, *base, "--execute", "--yes",
                        EVENTLAB_REPUBLISH_TOPICS="replay-.*")
    assert code != 0 and "not allowed" in json.dumps(denied)
    code, done = _cli(db, aws_config, *base, "--execute", "--yes", "--reason", "fixed")
    assert code == 0 and (done["status"], done["sent"]) == ("done", 3)
    assert _bodies(aws_config, source) == ["dead 0", "dead 1", "dead 2"]


def test_to_sqs_and_to_sns_from_the_cli(
        tmp_path: Path, aws_config: AwsConfig, sqs_queue_factory: Callable[..., str],
        sns_topic_factory: Callable[..., str]) -> None:
    url = sqs_queue_factory()
    topic = sns_topic_factory()
    db = tmp_path / "cli.duckdb"
    with EventStore(db) as store:
        add_events(store, [dict(source="kafka", topic="orders", offset=i, seq=i + 1,
                                value=f"v{i}".encode()) for i in range(2)])
    sql = ("--sql", "SELECT event_id FROM events")
    code, done = _cli(db, aws_config, *sql, "--to-sqs", url, "--execute")
    assert code == 0 and (done["status"], done["target_topic"]) == ("done", queue_name(url))
    assert _bodies(aws_config, url) == ["v0", "v1"]
    code, done = _cli(db, aws_config, *sql, "--to-sns", topic, "--execute")
    assert code == 0 and done["status"] == "done" and done["sent"] == 2
    assert any("not verifiable" in n for n in done["notes"])


def test_a_fifo_job_killed_twice_then_resumed_leaves_each_record_once(
        tmp_path: Path, aws_config: AwsConfig, sqs_queue_factory: Callable[..., str]) -> None:
    """SIGKILL lands anywhere: after a chunk was marked unknown, mid-batch, after SQS took a
    batch but before the ledger said so. The resume sends the unknown records again under
    their deduplication ids. moto keeps a deduplication id only while the first copy is in
    the queue (SQS: five minutes): nothing is received until the end, so the first copies
    are there and SQS's documented rule is what drops the repeats."""
    import random
    import signal
    import time

    from eventlab import republish
    from eventlab.republish import PlanOptions, Selection

    url = sqs_queue_factory(fifo=True)
    db = tmp_path / "kill.duckdb"
    count = 200
    with EventStore(db) as store:
        add_events(store, [dict(source="sqs", topic="src", offset=i, seq=i // 4 + 1,
                                entity_id=f"order-{i % 4}", value=f"m{i:03d}".encode())
                           for i in range(count)])
        job = republish.dry_run(store, aws_config, Selection.query(
            "SELECT event_id FROM events"), PlanOptions(target=queue_name(url),
                                                        target_kind="sqs")).plan.job_id
    env = {**os.environ, "EVENTLAB_AWS_ENDPOINT_URL": str(aws_config.endpoint_url),
           "EVENTLAB_READ_ONLY": "0"}
    argv = [sys.executable, "-m", "eventlab", "republish", "--resume", job, "--execute",
            "--rate", "50", "--db", str(db), "--json"]
    rng = random.Random()
    kills = 0
    for upto in sorted(rng.sample(range(10, count - 40), 2)):
        child = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while child.poll() is None and _depth(aws_config, url) < upto \
                and time.monotonic() < deadline:
            time.sleep(0.02)  # kill once SQS holds `upto` messages: mid-job, anywhere
        time.sleep(rng.uniform(0, 0.1))
        if child.poll() is None:
            child.send_signal(signal.SIGKILL)
            kills += 1
        child.wait(timeout=30)
    with EventStore(db) as store:
        before = republish.report(store, job)
    assert before is not None and kills and before.counts.sent < count  # really interrupted
    print(f"after {kills} kill(s): {before.counts}")
    code, done = _cli(db, aws_config, "--resume", job, "--execute")
    assert code == 0 and (done["status"], done["sent"]) == ("done", count), done
    got: list[str] = []
    client = sqs(aws_config)
    while batch := client.receive_message(QueueUrl=url, MaxNumberOfMessages=10,
                                          WaitTimeSeconds=0).get("Messages", []):
        got += [m["Body"] for m in batch]
        for m in batch:
            client.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    assert sorted(got) == [f"m{i:03d}" for i in range(count)], f"after {kills} kill(s)"
