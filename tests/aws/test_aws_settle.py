"""Settling an SQS/SNS republish beyond the five-minute deduplication window, against moto's
server mode (an EMULATOR: only what SQS/SNS document is relied on: PublishBatch and
SendMessageBatch answers, delivery of a topic's messages to a subscribed queue as the SNS
envelope with the message attributes, a queue's CreatedTimestamp, subscription attributes).

A job killed between the send and the outcome is simulated as the other republish tests do:
the ledger is put back in the state the write-ahead mark leaves (`unknown`). Time is moved by
the target's clock, never by sleeping five minutes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from event_rows import add_events
from repo_paths import ROOT

from eventlab import republish
from eventlab.aws.clients import sqs
from eventlab.aws.config import AwsConfig
from eventlab.aws.queues import queue_name
from eventlab.aws.taps import create_tap, remove_tap, tap_name
from eventlab.ingest.sqs_ingest import ingest_sqs
from eventlab.republish import PlanOptions, Selection
from eventlab.republish.aws_consent import resend_unknown
from eventlab.republish.aws_readback import TAP_HINT
from eventlab.republish.aws_target import TAP_VERIFIED, AwsTarget, aws_target
from eventlab.republish.plan import ORIGINAL_OFFSET, REPLAY_ID, SNS, SQS
from eventlab.store import db
from eventlab.store.eventstore import EventStore

N = 25
"""Records per job: a first chunk of 20 goes out (rate 20/s), then the job is cancelled."""


def _store(tmp_path: Path) -> EventStore:
    store = EventStore(tmp_path / "settle.duckdb")
    add_events(store, [dict(source="sqs", topic="src", offset=i, seq=i + 1,
                            entity_id=f"order-{i % 3}", event_id=f"m-{i}",
                            value=f'{{"n": {i}}}'.encode()) for i in range(N)])
    return store


def _later(minutes: float = 10) -> Callable[[], datetime]:
    """A clock `minutes` ahead: the resume happens beyond the five-minute window."""
    return lambda: datetime.now(UTC) + timedelta(minutes=minutes)


def _interrupted(store: EventStore, target: AwsTarget, name: str, kind: str) -> str:
    """Plan a job of N records and send its first chunk (20) only; then put the ledger as a
    SIGKILL would leave it: records 0-4 sent but their answers not written, records 20-24
    marked (the write-ahead) but never sent. Returns the job id."""
    sel = Selection.query('SELECT topic, "partition", "offset" FROM events', label="test")
    dry = republish.dry_run(store, target, sel, PlanOptions(target=name, target_kind=kind))
    job = dry.plan.job_id
    cancel = threading.Event()
    first = republish.execute(store, target, job, rate=20, cancel=cancel,
                              progress=lambda c: cancel.set())
    assert (first.status, first.counts.sent, first.counts.unsent) == ("cancelled", 20, 5)
    with store.transaction() as cur:
        cur.execute("UPDATE republish_log SET status = 'unknown', \"partition\" = NULL, "
                    "updated_at = now() WHERE job_id = ? AND (n < 5 OR n >= 20)", [job])
    return job


def _statuses(store: EventStore, job: str) -> dict[str, int]:
    with store.reading() as cur:
        return dict(db.rows(cur, "SELECT status, count(*) FROM republish_log WHERE job_id = ? "
                                 "GROUP BY ALL", [job]))


def _offsets_in_tap(store: EventStore, topic: str, job: str) -> list[int]:
    """The original offsets of this job's messages stored from the topic's tap (one per
    message the tap received; these bodies map to no entity, so they are in the quarantine,
    as any message is that ingest cannot map)."""
    with store.reading() as cur:
        rows = [r for table in ("events", "quarantine") for r in db.rows(cur, f"""
            SELECT decode(list_filter(headers, lambda h: h.key = ?)[1].value)
            FROM {table} WHERE source = 'sns' AND topic = ?
              AND decode(list_filter(headers, lambda h: h.key = ?)[1].value) = ?""",
                       [ORIGINAL_OFFSET, topic, REPLAY_ID, job])]
    return sorted(int(o) for (o,) in rows)


def test_an_sns_job_resumed_beyond_the_window_settles_through_its_tap_exactly_once(
        tmp_path: Path, aws_config: AwsConfig, sns_topic_factory: Callable[..., str]) -> None:
    arn = sns_topic_factory()
    topic = arn.rsplit(":", 1)[-1]
    create_tap(aws_config, arn)  # before the job's first send
    with _store(tmp_path) as store:
        job = _interrupted(store, aws_target(aws_config, SNS), topic, SNS)
        with store.reading() as cur:
            warned = db.scalar(cur, "SELECT plan FROM republish_jobs WHERE job_id = ?", [job])
        assert TAP_HINT not in warned  # the topic has a tap: the dry run does not ask for one
        again = republish.execute(store, aws_target(aws_config, SNS, clock=_later()), job,
                                  action="resume")
        statuses = _statuses(store, job)
        with store.reading() as cur:
            found = db.rows(cur, "SELECT n, error FROM republish_log WHERE job_id = ? AND n < 5 "
                                 "ORDER BY n", [job])
        in_tap = _offsets_in_tap(store, topic, job)
    # 0-4 were in the tap: sent, with their MessageId; 20-24 were not: sent now, once
    assert (again.settled_found, again.settled_missing, again.sent_now) == (5, 5, 5)
    assert (again.status, statuses) == ("done", {"acked": N})
    assert all("SNS MessageId" in e for _, e in found)
    assert TAP_VERIFIED in again.notes  # and every acknowledged record was read back
    assert in_tap == list(range(N))  # each record exactly once in the tap


def test_a_tap_made_after_the_first_send_is_not_trusted_and_consent_resends_once(
        tmp_path: Path, aws_config: AwsConfig, sns_topic_factory: Callable[..., str]) -> None:
    arn = sns_topic_factory()
    topic = arn.rsplit(":", 1)[-1]
    with _store(tmp_path) as store:
        job = _interrupted(store, aws_target(aws_config, SNS), topic, SNS)
        with store.reading() as cur:
            warnings = db.scalar(cur, "SELECT detail FROM audit_log WHERE job_id = ? AND "
                                      "action = 'dry-run'", [job])
        assert TAP_HINT in warnings  # the dry run says how to make it verifiable
        tap = create_tap(aws_config, arn)  # too late: it missed the first sends
        later = aws_target(aws_config, SNS, clock=_later())
        kept = republish.execute(store, later, job, action="resume")
        assert (kept.status, kept.counts.unknown, kept.sent_now) == ("partial", 10, 0)
        assert any("had no tap (none recorded) when this job first sent" in n
                   for n in kept.notes)
        assert any("stay unknown" in n for n in kept.notes)
        assert resend_unknown(store, job, actor="tester") == 10
        done = republish.execute(store, later, job, action="resume")
        ingest_sqs(store, aws_config, tap.url)  # what the late tap received
        in_tap = _offsets_in_tap(store, topic, job)
        with store.reading() as cur:
            audit = db.rows(cur, "SELECT action, outcome, unknown, detail FROM audit_log WHERE "
                                 "job_id = ? ORDER BY logged_at", [job])
    assert (done.status, done.counts.sent, done.sent_now) == ("done", N, 10)
    assert any("not verifiable" in n for n in done.notes)
    # sent again with consent: 0-4 (answers lost) and 20-24 (never sent), each once here
    assert in_tap == [0, 1, 2, 3, 4, 20, 21, 22, 23, 24]
    assert [a[:2] for a in audit] == [("dry-run", "planned"), ("execute", "cancelled"),
                                      ("resume", "partial"), ("resend-unknown", "consented"),
                                      ("resume", "done")]
    assert audit[3][2] == 10 and "twice" in audit[3][3]


def test_a_tap_removed_and_made_again_after_the_first_send_is_not_trusted(
        tmp_path: Path, aws_config: AwsConfig, sns_topic_factory: Callable[..., str]) -> None:
    """The tap recorded at the first send (queue, CreatedTimestamp, subscription) must still
    be the tap: one made again may have missed messages in between."""
    arn = sns_topic_factory()
    create_tap(aws_config, arn)
    with _store(tmp_path) as store:
        job = _interrupted(store, aws_target(aws_config, SNS), arn.rsplit(":", 1)[-1], SNS)
        remove_tap(aws_config, tap_name(arn))
        create_tap(aws_config, arn)
        kept = republish.execute(store, aws_target(aws_config, SNS, clock=_later()), job,
                                 action="resume")
    assert (kept.status, kept.counts.unknown, kept.sent_now) == ("partial", 10, 0)
    assert any("made again" in n for n in kept.notes)


def test_a_record_missing_from_the_tap_is_awaited_for_the_grace_then_unsent(
        tmp_path: Path, aws_config: AwsConfig, sns_topic_factory: Callable[..., str]) -> None:
    """Resumed at once (the real clock): SNS delivers to the tap asynchronously, so a record
    marked a moment ago is looked for until the grace has passed, then called unsent."""
    arn = sns_topic_factory()
    create_tap(aws_config, arn)
    with _store(tmp_path) as store:
        job = _interrupted(store, aws_target(aws_config, SNS), arn.rsplit(":", 1)[-1], SNS)
        started = time.monotonic()
        again = republish.execute(store, aws_target(aws_config, SNS, grace_s=12), job,
                                  action="resume")
        waited = time.monotonic() - started
    assert (again.status, again.settled_found, again.settled_missing) == ("done", 5, 5)
    assert waited >= 12  # 20-24 were marked just now: awaited for the grace first (the
    # drains alone take a few seconds: two long polls of 2 s)


def _drain(config: AwsConfig, url: str) -> list[str]:
    client = sqs(config)
    out: list[str] = []
    empty = 0
    while empty < 2:
        got = client.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0,
                                     VisibilityTimeout=30).get("Messages", [])
        empty = 0 if got else empty + 1
        for m in got:
            out.append(m["Body"])
            client.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    return out


def test_an_unknown_fifo_record_beyond_the_window_stays_unknown_until_consent(
        tmp_path: Path, aws_config: AwsConfig, sqs_queue_factory: Callable[..., str]) -> None:
    url = sqs_queue_factory(fifo=True)
    with _store(tmp_path) as store:
        job = _interrupted(store, aws_target(aws_config, SQS), queue_name(url), SQS)
        with store.transaction() as cur:  # only the never-sent 20-24 are unknown here
            cur.execute("UPDATE republish_log SET status = 'acked' WHERE job_id = ? AND n < 5",
                        [job])
        later = aws_target(aws_config, SQS, clock=_later())
        kept = republish.execute(store, later, job, action="resume")
        assert (kept.status, kept.counts.unknown, kept.sent_now) == ("partial", 5, 0)
        assert any("--resend-unknown" in n for n in kept.notes)
        assert resend_unknown(store, job) == 5
        done = republish.execute(store, later, job, action="resume")
    assert (done.status, done.sent_now) == ("done", 5)
    assert sorted(_drain(aws_config, url)) == sorted(f'{{"n": {i}}}' for i in range(N))


def _cli(db_path: Path, config: AwsConfig, *args: str, **env: str) -> tuple[int, dict, str]:
    full = {**os.environ, "EVENTLAB_AWS_ENDPOINT_URL": str(config.endpoint_url),
            "EVENTLAB_READ_ONLY": "0", **env}
    out = subprocess.run([sys.executable, "-m", "eventlab", "republish", "--db", str(db_path),
                          *args, "--json"], cwd=ROOT, env=full, capture_output=True, text=True,
                         timeout=120, stdin=subprocess.DEVNULL)
    lines = out.stdout.strip().splitlines()
    return out.returncode, (json.loads(lines[-1]) if lines else {}), out.stderr


def test_the_cli_resends_unknown_records_only_with_resend_unknown_and_audits_it(
        tmp_path: Path, aws_config: AwsConfig, sqs_queue_factory: Callable[..., str]) -> None:
    url = sqs_queue_factory()  # a standard queue: an unknown record is never sent by itself
    path = tmp_path / "cli.duckdb"
    with EventStore(path) as store:
        add_events(store, [dict(source="sqs", topic="src", offset=i, seq=i + 1,
                                value=v.encode()) for i, v in enumerate("abc")])
        job = republish.dry_run(store, aws_config, Selection.query(
            "SELECT event_id FROM events"), PlanOptions(target=queue_name(url),
                                                        target_kind=SQS)).plan.job_id
        with store.transaction() as cur:  # killed after marking record 2, before its call
            cur.execute("UPDATE republish_log SET status = 'unknown', updated_at = now() "
                        "WHERE job_id = ? AND n = 2", [job])
    code, kept, _ = _cli(path, aws_config, "--resume", job, "--execute")
    assert code == 1 and (kept["status"], kept["unknown"], kept["sent"]) == ("partial", 1, 2)
    assert any("--resend-unknown" in n for n in kept["notes"])
    code, _, err = _cli(path, aws_config, "--resume", job, "--execute", "--resend-unknown",
                        EVENTLAB_READ_ONLY="1")
    assert code != 0 and "read-only" in err.lower()
    code, done, err = _cli(path, aws_config, "--resume", job, "--execute", "--resend-unknown")
    assert code == 0 and (done["status"], done["sent"], done["sent_now"]) == ("done", 3, 1)
    assert "twice" in err  # the consent names the duplicate risk
    assert sorted(_drain(aws_config, url)) == ["a", "b", "c"]
    with EventStore(path) as store, store.reading() as cur:
        audit = db.rows(cur, "SELECT action, outcome, unknown FROM audit_log WHERE job_id = ? "
                             "ORDER BY logged_at", [job])
    assert audit == [("dry-run", "planned", 0), ("resume", "partial", 1),
                     ("resend-unknown", "refused", None), ("resend-unknown", "consented", 1),
                     ("resume", "done", 0)]
