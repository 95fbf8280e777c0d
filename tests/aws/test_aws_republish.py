"""Republish stored events into SQS queues and SNS topics, and redrive an SQS dead-letter queue,
against moto's server mode (an EMULATOR: only behaviour SQS/SNS document is checked: per-entry
Successful/Failed answers of SendMessageBatch/PublishBatch, message attributes, FIFO
deduplication ids dropping a repeat within five minutes, SNS raw delivery to a subscribed
queue, ListDeadLetterSourceQueues)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from event_rows import add_events
from repo_paths import ROOT

from eventlab import republish
from eventlab.aws import publish
from eventlab.aws.clients import sns, sqs
from eventlab.aws.config import AwsConfig
from eventlab.aws.queues import queue_name
from eventlab.republish import PlanOptions, Selection
from eventlab.republish.aws_target import redrive
from eventlab.republish.guards import RepublishRefused
from eventlab.republish.plan import PROVENANCE, REPLAY_ID, SNS, SQS
from eventlab.store import db
from eventlab.store.eventstore import EventStore


def _store(tmp_path: Path, topic: str, bodies: list[bytes | None],
           headers: list[list[tuple[str, bytes | None]]] | None = None,
           entities: int = 2) -> EventStore:
    """A store holding `bodies` as messages of SQS queue `topic` (as ingest-sqs stores them:
    source 'sqs', topic the queue's name, no partition)."""
    store = EventStore(tmp_path / "aws.duckdb")
    add_events(store, [dict(
        source=publish.SQS_SOURCE, topic=topic, offset=i, seq=i // entities + 1,
        entity_id=f"order-{i % entities}", event_id=f"m-{i}", value=body,
        headers=[{"key": k, "value": v} for k, v in (headers[i] if headers else [])])
        for i, body in enumerate(bodies)])
    return store


def _all(topic: str) -> Selection:
    return Selection.query('SELECT topic, "partition", "offset" FROM events WHERE topic = ?',
                           (topic,), label="test")


def _drain(config: AwsConfig, url: str) -> list[dict[str, Any]]:
    """Every message of a test's own queue (received and deleted), in receive order."""
    client = sqs(config)
    out: list[dict[str, Any]] = []
    empty = 0
    while empty < 2:
        got = client.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0,
                                     MessageAttributeNames=["All"], AttributeNames=["All"],
                                     VisibilityTimeout=30).get("Messages", [])
        empty = 0 if got else empty + 1
        for m in got:
            out.append(m)
            client.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    return out


def test_a_standard_queue_gets_each_body_byte_for_byte_and_failures_per_record(
        tmp_path: Path, aws_config: AwsConfig, sqs_queue_factory: Callable[..., str]) -> None:
    url = sqs_queue_factory()
    target = queue_name(url)
    good = [b'{"id": 1, "t": "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"}', b"plain text\n\ttab"]
    bad = [b"\xff\xfe not utf-8", b"nul \x00 inside", b""]
    with _store(tmp_path, "orders-src", good + bad) as store:
        dry = republish.dry_run(store, aws_config, _all("orders-src"),
                                PlanOptions(target=target, target_kind=SQS))
        assert dry.plan.count == 5 and dry.plan.target_topics == [target]
        done = republish.execute(store, aws_config, dry.plan.job_id)
        with store.reading() as cur:
            errors = dict(db.rows(cur, "SELECT n, error FROM republish_log WHERE job_id = ? "
                                       "AND status = 'failed'", [dry.plan.job_id]))
    assert (done.counts.sent, done.counts.failed, done.status) == (2, 3, "partial")
    assert "not valid UTF-8" in errors[2] and "U+0000" in errors[3] and "empty" in errors[4]
    got = _drain(aws_config, url)
    assert sorted(m["Body"].encode() for m in got) == sorted(good)  # byte for byte
    for m in got:
        attrs = m["MessageAttributes"]
        assert len(attrs) <= publish.MAX_ATTRIBUTES
        assert attrs[REPLAY_ID]["StringValue"] == dry.plan.job_id
        assert publish.provenance_of(attrs)["eventlab-original-topic"] == "orders-src"


def test_provenance_is_folded_into_one_attribute_when_the_original_has_many(
        tmp_path: Path, aws_config: AwsConfig, sqs_queue_factory: Callable[..., str]) -> None:
    url = sqs_queue_factory()
    few = [("color", b"red"), ("bin", b"\x00\xff")]
    many = [(f"a{i}", str(i).encode()) for i in range(10)]
    with _store(tmp_path, "src", [b"few", b"many"], headers=[few, many]) as store:
        dry = republish.dry_run(store, aws_config, _all("src"),
                                PlanOptions(target=queue_name(url), target_kind=SQS,
                                            reason="fold test"))
        assert republish.execute(store, aws_config, dry.plan.job_id).status == "done"
    got = {m["Body"]: m["MessageAttributes"] for m in _drain(aws_config, url)}
    assert got["few"]["color"] == {"StringValue": "red", "DataType": "String"}
    assert got["few"]["bin"]["BinaryValue"] == b"\x00\xff"
    assert set(got["few"]) - {"color", "bin"} <= set(PROVENANCE)  # separate, not folded
    assert publish.FOLDED not in got["few"]
    assert len(got["many"]) == publish.MAX_ATTRIBUTES
    assert [k for k in got["many"] if k != publish.FOLDED] == [f"a{i}" for i in range(9)]
    folded = json.loads(got["many"][publish.FOLDED]["StringValue"])
    assert folded["attributes"] == [{"index": 9, "name": "a9", "string": "9"}]
    assert folded["provenance"][REPLAY_ID] == dry.plan.job_id
    assert folded["provenance"]["eventlab-reason"] == "fold test"


def test_a_fifo_job_resumed_after_an_interruption_leaves_each_record_once(
        tmp_path: Path, aws_config: AwsConfig, sqs_queue_factory: Callable[..., str]) -> None:
    url = sqs_queue_factory(fifo=True)
    bodies = [f"event {i}".encode() for i in range(6)]
    with _store(tmp_path, "src", bodies, entities=2) as store:
        dry = republish.dry_run(store, aws_config, _all("src"),
                                PlanOptions(target=queue_name(url), target_kind=SQS))
        job = dry.plan.job_id
        assert republish.execute(store, aws_config, job).status == "done"
        # A SIGKILL between the send and the ledger write leaves every record `unknown`
        # (the write-ahead mark): put the ledger back in exactly that state.
        with store.transaction() as cur:
            cur.execute("UPDATE republish_log SET status = 'unknown', updated_at = now() "
                        "WHERE job_id = ?", [job])
        again = republish.execute(store, aws_config, job, action="resume")
    assert again.status == "done" and again.sent_now == 6
    assert any("deduplication id" in n for n in again.notes)
    # moto keeps a deduplication id only while the first copy is in the queue (AWS_NOTES;
    # SQS keeps it five minutes): the first copies are still there, so SQS's documented
    # rule is what drops the second sends here.
    got = _drain(aws_config, url)
    assert sorted(m["Body"] for m in got) == sorted(b.decode() for b in bodies)
    by_group: dict[str, list[str]] = {}
    for m in got:
        by_group.setdefault(m["Attributes"]["MessageGroupId"], []).append(m["Body"])
    assert by_group == {"order-0": ["event 0", "event 2", "event 4"],
                        "order-1": ["event 1", "event 3", "event 5"]}  # per-entity order kept


def test_an_unknown_record_of_a_standard_queue_is_never_sent_twice(
        tmp_path: Path, aws_config: AwsConfig, sqs_queue_factory: Callable[..., str]) -> None:
    url = sqs_queue_factory()
    with _store(tmp_path, "src", [b"a", b"b"]) as store:
        dry = republish.dry_run(store, aws_config, _all("src"),
                                PlanOptions(target=queue_name(url), target_kind=SQS))
        republish.execute(store, aws_config, dry.plan.job_id)
        with store.transaction() as cur:
            cur.execute("UPDATE republish_log SET status = 'unknown' WHERE job_id = ? AND n = 1",
                        [dry.plan.job_id])
        again = republish.execute(store, aws_config, dry.plan.job_id, action="resume")
    assert (again.status, again.counts.unknown, again.sent_now) == ("partial", 1, 0)
    assert sorted(m["Body"] for m in _drain(aws_config, url)) == ["a", "b"]


def test_a_topic_publish_reaches_a_subscribed_queue(
        tmp_path: Path, aws_config: AwsConfig, sqs_queue_factory: Callable[..., str],
        sns_topic_factory: Callable[..., str]) -> None:
    arn = sns_topic_factory()
    url = sqs_queue_factory()
    queue_arn = sqs(aws_config).get_queue_attributes(
        QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns(aws_config).subscribe(TopicArn=arn, Protocol="sqs", Endpoint=queue_arn,
                              Attributes={"RawMessageDelivery": "true"})
    bodies = [f'{{"n": {i}}}'.encode() for i in range(23)]  # three PublishBatch calls
    with _store(tmp_path, "src", bodies, headers=[[("kind", b"test")]] * 23) as store:
        dry = republish.dry_run(store, aws_config, _all("src"),
                                PlanOptions(target=arn.rsplit(":", 1)[-1], target_kind=SNS))
        done = republish.execute(store, aws_config, dry.plan.job_id)
    assert (done.status, done.counts.sent) == ("done", 23)
    assert any("not verifiable" in n for n in done.notes)  # a topic cannot be read back
    got = _drain(aws_config, url)
    assert sorted(m["Body"].encode() for m in got) == sorted(bodies)
    assert {m["MessageAttributes"]["kind"]["StringValue"] for m in got} == {"test"}
    assert {m["MessageAttributes"][REPLAY_ID]["StringValue"] for m in got} == {dry.plan.job_id}


def test_dlq_redrive_sends_stored_dead_letters_back_to_the_source_queue(
        tmp_path: Path, aws_config: AwsConfig, sqs_queue_factory: Callable[..., str]) -> None:
    dlq = sqs_queue_factory()
    dlq_arn = sqs(aws_config).get_queue_attributes(
        QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    source = sqs_queue_factory(RedrivePolicy=json.dumps(
        {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "3"}))
    sqs_queue_factory()  # another queue, not a source of this DLQ
    bodies = [b"poison 1", b"poison 2", b"poison 3"]
    with _store(tmp_path, queue_name(dlq), bodies,
                headers=[[("attempt", b"3")]] * 3) as store:
        add_events(store, [dict(source="kafka", topic="other", offset=0, value=b"not me")])
        sel, target, to = redrive(aws_config, dlq)
        assert to == queue_name(source)
        dry = republish.dry_run(store, target, sel, PlanOptions(target=to, target_kind=SQS,
                                                                reason="fixed the bug"))
        assert dry.plan.count == 3 and dry.plan.confirm == (to,)  # the source queue
        with pytest.raises(RepublishRefused, match="typed"):
            republish.execute(store, target, dry.plan.job_id)
        assert _drain(aws_config, source) == []
        done = republish.execute(store, target, dry.plan.job_id, confirm=to)
        with store.reading() as cur:
            audit = db.rows(cur, "SELECT action, outcome FROM audit_log WHERE job_id = ? "
                                 "ORDER BY logged_at", [dry.plan.job_id])
    assert (done.status, done.counts.sent) == ("done", 3)
    got = _drain(aws_config, source)
    assert sorted(m["Body"].encode() for m in got) == bodies
    assert {m["MessageAttributes"]["attempt"]["StringValue"] for m in got} == {"3"}
    assert {publish.provenance_of(m["MessageAttributes"])["eventlab-original-topic"]
            for m in got} == {queue_name(dlq)}
    assert audit == [("dry-run", "planned"), ("execute", "refused"), ("execute", "done")]


READ_ONLY_CHILD = textwrap.dedent("""
    import json, sys
    from eventlab import republish
    from eventlab.aws.config import AwsConfig
    from eventlab.republish import PlanOptions, Selection
    from eventlab.store.eventstore import EventStore

    path, endpoint, job_id, target = sys.argv[1:]
    config = AwsConfig(endpoint_url=endpoint, timeout_s=5.0)
    sel = Selection.query("SELECT event_id FROM events")
    out = {}
    with EventStore(path) as store:
        for name, attempt in {
            "dry_run": lambda: republish.dry_run(store, config, sel,
                                                 PlanOptions(target=target, target_kind="sqs")),
            "execute": lambda: republish.execute(store, config, job_id),
        }.items():
            try:
                attempt()
                out[name] = "ran"
            except Exception as exc:  # the outcome is what the test looks at
                out[name] = type(exc).__name__
    print(json.dumps(out))
""")


def test_a_read_only_process_sends_nothing_into_sqs(
        tmp_path: Path, aws_config: AwsConfig, sqs_queue_factory: Callable[..., str]) -> None:
    url = sqs_queue_factory()
    with _store(tmp_path, "src", [b"a", b"b"]) as store:
        job = republish.dry_run(store, aws_config, _all("src"), PlanOptions(
            target=queue_name(url), target_kind=SQS)).plan.job_id
    env = {**os.environ, "EVENTLAB_READ_ONLY": "1"}
    out = subprocess.run([sys.executable, "-c", READ_ONLY_CHILD, str(tmp_path / "aws.duckdb"),
                          str(aws_config.endpoint_url), job, queue_name(url)], cwd=ROOT,
                         env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout.strip().splitlines()[-1]) == {
        "dry_run": "ReadOnlyError", "execute": "ReadOnlyError"}
    time.sleep(0.2)
    assert _drain(aws_config, url) == []
    with EventStore(tmp_path / "aws.duckdb") as store, store.reading() as cur:
        refused = db.rows(cur, "SELECT action FROM audit_log WHERE outcome = 'refused'")
        sent = db.scalar(cur, "SELECT count(*) FROM republish_log WHERE status <> 'unsent'")
    assert sorted(a for (a,) in refused) == ["dry-run", "execute"] and sent == 0


def test_a_record_sns_refuses_fails_alone_with_aws_code_and_the_rest_is_sent(
        tmp_path: Path, aws_config: AwsConfig, sns_topic_factory: Callable[..., str]) -> None:
    """SNS documents 256 KiB as a message's limit; PublishBatch answers per entry."""
    arn = sns_topic_factory()
    bodies = [b"small 1", b"x" * 300_000, b"small 2"]
    with _store(tmp_path, "src", bodies) as store:
        dry = republish.dry_run(store, aws_config, _all("src"),
                                PlanOptions(target=arn.rsplit(":", 1)[-1], target_kind=SNS))
        done = republish.execute(store, aws_config, dry.plan.job_id)
        with store.reading() as cur:
            rows = db.rows(cur, "SELECT n, status, error FROM republish_log WHERE job_id = ? "
                                "ORDER BY n", [dry.plan.job_id])
    assert (done.status, done.counts.sent, done.counts.failed) == ("partial", 2, 1)
    assert [s for _, s, _ in rows] == ["acked", "failed", "acked"]
    assert "sender fault" in rows[1][2]


def test_a_fifo_record_keeps_its_stored_group(
        tmp_path: Path, aws_config: AwsConfig, sqs_queue_factory: Callable[..., str]) -> None:
    """ingest-sqs stores a FIFO message's MessageGroupId as its key: a redrive keeps it."""
    url = sqs_queue_factory(fifo=True)
    store = EventStore(tmp_path / "group.duckdb")
    add_events(store, [dict(source="sqs", topic="src.fifo", offset=i, seq=i + 1, key=b"grp-A",
                            entity_id="order-1", value=f"m{i}".encode()) for i in range(3)])
    with store:
        dry = republish.dry_run(store, aws_config, _all("src.fifo"),
                                PlanOptions(target=queue_name(url), target_kind=SQS))
        assert republish.execute(store, aws_config, dry.plan.job_id).status == "done"
    got = _drain(aws_config, url)
    assert [(m["Body"], m["Attributes"]["MessageGroupId"]) for m in got] == [
        ("m0", "grp-A"), ("m1", "grp-A"), ("m2", "grp-A")]
