"""`eventlab produce --to-sqs / --to-sns`: one hand-made message into SQS or SNS with the
guards, dry run and audit of Kafka produce, against moto's server mode (an EMULATOR: only
documented SQS/SNS behaviour is relied on)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from repo_paths import ROOT

from eventlab.aws.clients import sns, sqs
from eventlab.aws.config import AwsConfig
from eventlab.aws.queues import queue_name
from eventlab.store import db
from eventlab.store.eventstore import EventStore


def _produce(path: Path, config: AwsConfig, *args: str, **env: str) -> tuple[int, dict[str, Any]]:
    full = {**os.environ, "EVENTLAB_AWS_ENDPOINT_URL": str(config.endpoint_url),
            "EVENTLAB_ACTOR": "composer", "EVENTLAB_READ_ONLY": "0", **env}
    out = subprocess.run([sys.executable, "-m", "eventlab", "produce", "--db", str(path), *args,
                          "--json"], cwd=ROOT, env=full, capture_output=True, text=True,
                         timeout=120, stdin=subprocess.DEVNULL)
    lines = out.stdout.strip().splitlines()
    return out.returncode, (json.loads(lines[-1]) if lines else {"stderr": out.stderr})


def _receive(config: AwsConfig, url: str) -> list[dict[str, Any]]:
    return sqs(config).receive_message(QueueUrl=url, MaxNumberOfMessages=10,
                                       MessageAttributeNames=["All"],
                                       AttributeNames=["All"]).get("Messages", [])


def test_one_message_into_a_queue_dry_run_first_then_exactly_those_bytes(
        tmp_path: Path, aws_config: AwsConfig, sqs_queue_factory: Callable[..., str]) -> None:
    url = sqs_queue_factory(fifo=True)
    path = tmp_path / "produce.duckdb"
    EventStore(path).close()
    msg = ("--to-sqs", url, "--value", '{"fix": "price", "to": 12.5}', "--key", "order-7",
           "--header", "kind=correction", "--reason", "hand fix")
    code, dry = _produce(path, aws_config, *msg, "--dry-run")
    assert code == 0 and dry["dry_run"] and dry["topic"] == queue_name(url)
    assert any("message group 'order-7'" in n for n in dry["notes"])
    assert _receive(aws_config, url) == []  # the dry run sent nothing
    code, sent = _produce(path, aws_config, *msg, "--execute")
    assert code == 0 and sent["state"] == "acked", sent
    (got,) = _receive(aws_config, url)
    assert got["Body"] == '{"fix": "price", "to": 12.5}'
    assert got["Attributes"]["MessageGroupId"] == "order-7"
    attrs = got["MessageAttributes"]
    assert attrs["kind"]["StringValue"] == "correction"
    assert attrs["eventlab-composed-by"]["StringValue"] == "composer"
    assert attrs["eventlab-reason"]["StringValue"] == "hand fix"
    with EventStore(path) as store, store.reading() as cur:
        audit = db.rows(cur, "SELECT action, outcome FROM audit_log ORDER BY logged_at")
    assert audit == [("produce-dry-run", "planned"), ("produce-dry-run", "planned"),
                     ("produce", "acked")]


def test_refused_bodies_read_only_and_the_allow_list(
        tmp_path: Path, aws_config: AwsConfig, sqs_queue_factory: Callable[..., str]) -> None:
    url = sqs_queue_factory()
    path = tmp_path / "produce.duckdb"
    EventStore(path).close()
    code, _ = _produce(path, aws_config, "--to-sqs", url, "--value", "ff00",
                       "--format", "hex", "--execute")
    assert code != 0
    code, _ = _produce(path, aws_config, "--to-sqs", url, "--value", "{}", "--execute",
                       EVENTLAB_READ_ONLY="1")
    assert code != 0
    code, _ = _produce(path, aws_config, "--to-sqs", url, "--value", "{}", "--execute",
                       EVENTLAB_REPUBLISH_TOPICS="replay-.*")
    assert code != 0
    assert _receive(aws_config, url) == []
    with EventStore(path) as store, store.reading() as cur:
        details = [d for (d,) in db.rows(cur, "SELECT detail FROM audit_log WHERE outcome = "
                                              "'refused' ORDER BY logged_at")]
    assert len(details) == 3
    assert "not valid UTF-8" in details[0] and "read-only" in details[1]
    assert "not allowed" in details[2]


def test_one_message_into_a_topic_reaches_its_subscriber(
        tmp_path: Path, aws_config: AwsConfig, sqs_queue_factory: Callable[..., str],
        sns_topic_factory: Callable[..., str]) -> None:
    arn = sns_topic_factory()
    url = sqs_queue_factory()
    queue_arn = sqs(aws_config).get_queue_attributes(
        QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns(aws_config).subscribe(TopicArn=arn, Protocol="sqs", Endpoint=queue_arn,
                              Attributes={"RawMessageDelivery": "true"})
    path = tmp_path / "produce.duckdb"
    EventStore(path).close()
    code, sent = _produce(path, aws_config, "--to-sns", arn, "--value", "hello",
                          "--format", "text", "--execute")
    assert code == 0 and sent["state"] == "acked", sent
    assert [m["Body"] for m in _receive(aws_config, url)] == ["hello"]
