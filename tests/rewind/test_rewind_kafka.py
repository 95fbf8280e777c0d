"""Rewinding a group against the real local broker: refused for an active group, applied for
an inactive one with exactly the plan's offsets, audited, and undone; and every guard refuses
inside `execute` (read-only, the allow-list, the typed-back name)."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

import orjson
import pytest

from eventlab import settings
from eventlab.errors import ReadOnlyError
from eventlab.ingest.kafka_ingest import ingest_kafka
from eventlab.kafka.config import KafkaConfig
from eventlab.kafka.group_commit import GroupActive, commit_group_offsets, committed_offsets
from eventlab.kafka.member import GroupMember
from eventlab.rewind import run
from eventlab.rewind.plan import PlanError, Target
from eventlab.store import db
from eventlab.store.eventstore import EventStore


@pytest.fixture
def allow(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(settings, "_GUARDS", settings.Guards(reset_groups="rw-.*"))


def _topic_with_records(topic_factory: Callable, producer: Callable) -> str:
    topic = topic_factory(2)
    p = producer()
    for i in range(10):  # one per request: ListOffsets is exact on the local broker
        p.send(topic, f"v{i}".encode(), partition=i % 2).get(timeout=10)
    return topic


def _audit(store: EventStore) -> list[tuple]:
    with store.reading() as cur:
        return db.rows(cur, "SELECT action, outcome, job_id, actor, detail FROM audit_log "
                            "ORDER BY logged_at")


def test_applied_exactly_as_planned_then_undone(kafka_config: KafkaConfig, topic_factory: Callable,
                                                producer: Callable, store: EventStore,
                                                allow: None) -> None:
    topic = _topic_with_records(topic_factory, producer)
    group = f"rw-{topic}"
    commit_group_offsets(kafka_config, group, topic, {0: 5, 1: 4})
    plan = run.plan_reset(kafka_config, group, topic, Target("by", "-3"))
    assert [(m.partition, m.current, m.new, m.lag_after) for m in plan.moves] == [
        (0, 5, 2, 3), (1, 4, 1, 4)]
    assert all(m.lag_seconds_after is not None and m.lag_seconds_after >= 0 for m in plan.moves)
    run.dry_run(store, plan)
    assert committed_offsets(kafka_config, group, topic) == {0: 5, 1: 4}  # a dry run moves nothing
    reset_id = run.execute(kafka_config, store, plan, confirm=group, reason="replay the fix")
    assert committed_offsets(kafka_config, group, topic) == plan.new_offsets() == {0: 2, 1: 1}
    undo = run.plan_undo(kafka_config, store, reset_id)
    assert undo.new_offsets() == {0: 5, 1: 4} and undo.before() == {0: 2, 1: 1}
    run.execute(kafka_config, store, undo, confirm=group, reason="undo")
    assert committed_offsets(kafka_config, group, topic) == {0: 5, 1: 4}
    rows = _audit(store)
    assert [(a, o) for a, o, *_ in rows] == [("reset-offsets", "dry-run"),
                                             ("reset-offsets", "applied"),
                                             ("reset-undo", "applied")]
    assert rows[1][2] == reset_id and rows[1][3] == settings.actor() and rows[1][4] == \
        "replay the fix"


def test_refused_while_the_group_has_an_active_member(
        kafka_config: KafkaConfig, topic_factory: Callable, producer: Callable,
        store: EventStore, allow: None) -> None:
    topic = _topic_with_records(topic_factory, producer)
    group = f"rw-active-{topic}"
    member = GroupMember(kafka_config, topic, group)
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not member.poll(500, 100):
            pass
        assert member.commit({(topic, 0): 5, (topic, 1): 5})
        plan = run.plan_reset(kafka_config, group, topic, Target("to-earliest"))
        with pytest.raises((run.ResetRefused, GroupActive), match="active members"):
            run.execute(kafka_config, store, plan, confirm=group, reason="try")
        assert committed_offsets(kafka_config, group, topic) == {0: 5, 1: 5}
    finally:
        member.close()
    assert [(a, o) for a, o, *_ in _audit(store)] == [("reset-offsets", "refused")]


def test_every_guard_refuses_inside_execute(kafka_config: KafkaConfig, topic_factory: Callable,
                                            producer: Callable, store: EventStore,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    topic = _topic_with_records(topic_factory, producer)
    group = f"rw-{topic}"
    commit_group_offsets(kafka_config, group, topic, {0: 5, 1: 5})
    plan = run.plan_reset(kafka_config, group, topic, Target("to-offset", "0:1"))
    assert plan.new_offsets() == {0: 1}
    cases = [(settings.Guards(), run.ResetRefused, "EVENTLAB_RESET_GROUPS", group),
             (settings.Guards(reset_groups="other-.*"), run.ResetRefused, "outside", group),
             (settings.Guards(read_only=True, reset_groups=".*"), ReadOnlyError, "read-only",
              group),
             (settings.Guards(reset_groups=".*"), run.ResetRefused, "type the group", "nope")]
    for guards, error, words, confirm in cases:
        monkeypatch.setattr(settings, "_GUARDS", guards)
        with pytest.raises(error, match=words):
            run.execute(kafka_config, store, plan, confirm=confirm, reason="why")
    assert committed_offsets(kafka_config, group, topic) == {0: 5, 1: 5}
    assert [o for _, o, *_ in _audit(store)] == ["refused"] * 4


def test_the_command_dry_runs_by_default_then_executes_and_undoes(
        kafka_config: KafkaConfig, topic_factory: Callable, producer: Callable, tmp_path,
        allow: None, capsys: pytest.CaptureFixture[str]) -> None:
    import json

    from eventlab.cli import main

    topic = _topic_with_records(topic_factory, producer)
    group = f"rw-cli-{topic}"
    commit_group_offsets(kafka_config, group, topic, {0: 5, 1: 5})
    base = ["reset-offsets", "--bootstrap", kafka_config.bootstrap, "--db",
            str(tmp_path / "a.duckdb"), "--group", group, "--topic", topic, "--to-earliest"]
    assert main(base) == 0
    out = capsys.readouterr().out
    assert f"{topic}/0  5 -> 0  lag after 5 records" in out and "dry run" in out
    assert committed_offsets(kafka_config, group, topic) == {0: 5, 1: 5}
    assert main([*base, "--execute", "--confirm", group, "--reason", "replay", "--json"]) == 0
    done = json.loads(capsys.readouterr().out)
    assert done["executed"] and committed_offsets(kafka_config, group, topic) == {0: 0, 1: 0}
    assert main(["reset-offsets", "--bootstrap", kafka_config.bootstrap, "--db",
                 str(tmp_path / "a.duckdb"), "--undo", done["reset_id"], "--execute",
                 "--confirm", group, "--reason", "undo"]) == 0
    assert committed_offsets(kafka_config, group, topic) == {0: 5, 1: 5}
    assert main([*base, "--execute", "--confirm", "wrong", "--reason", "x"]) == 2
    assert "type the group name" in capsys.readouterr().err


BASE_MS = 1_700_000_000_000  # 2023-11-14T22:13:20Z: record times far from the broker's clock


def _timed_topic(topic_factory: Callable, producer: Callable) -> str:
    """Partition 0 holds records at BASE+0, +2, +4, +6, +8 s; partition 1 at +1, +3, ... +9 s
    (CreateTime given by the producer, one record per request)."""
    topic = topic_factory(2)
    p = producer()
    for i in range(10):
        p.send(topic, f"v{i}".encode(), partition=i % 2, timestamp_ms=BASE_MS + i * 1000) \
            .get(timeout=10)
    return topic


@pytest.mark.parametrize(("at_s", "offsets"), [
    (-5, {0: 0, 1: 0}),     # before every record: the earliest
    (3, {0: 2, 1: 1}),      # p0 +4 s is offset 2; p1 +3 s (exactly T) is offset 1
    (4.5, {0: 3, 1: 2}),    # between records
    (9, {0: 5, 1: 4}),      # after p0's last record (its end); p1's last is exactly T
    (60, {0: 5, 1: 5}),     # after every record: the end, lag 0
])
def test_to_datetime_is_the_first_record_at_or_after_the_time(
        kafka_config: KafkaConfig, topic_factory: Callable, producer: Callable,
        at_s: float, offsets: dict[int, int]) -> None:
    """What Apache Kafka's ListOffsets by timestamp answers: per partition, the first offset
    whose record time (here CreateTime) is at or after T, else the end. The local Tansu broker
    answers otherwise (it looks up its own append time and says offset 0 after the last record),
    so EventLab checks the broker's answer by reading the records around it and searches when it
    is wrong: these expectations hold for real Kafka, and the plan's notes say when the broker
    was overruled (never on real Kafka, so the notes are not asserted)."""
    topic = _timed_topic(topic_factory, producer)
    group = f"rw-time-{topic}"
    commit_group_offsets(kafka_config, group, topic, {0: 5, 1: 5})
    at = datetime.fromtimestamp(BASE_MS / 1000 + at_s, UTC).isoformat()
    plan = run.plan_reset(kafka_config, group, topic, Target("to-datetime", at))
    assert plan.new_offsets() == offsets
    assert [m.lag_after for m in plan.moves] == [5 - offsets[0], 5 - offsets[1]]
    for m in plan.moves:  # the lag in seconds is measured from the record at the new offset
        assert (m.lag_seconds_after == 0) == (m.new == 5)


def test_to_datetime_trusts_a_broker_answer_that_checks_out(
        kafka_config: KafkaConfig, topic_factory: Callable, producer: Callable) -> None:
    """Records stamped by the broker's clock (the producer's time, now): the local broker's
    lookup is right then, and the plan takes it as is (no note, no search)."""
    topic = topic_factory(1)
    p = producer()
    stamps = []
    for i in range(4):
        stamps.append(p.send(topic, f"v{i}".encode(), partition=0).get(timeout=10).timestamp)
        time.sleep(0.05)
    group = f"rw-now-{topic}"
    at = datetime.fromtimestamp((stamps[2] - 1) / 1000, UTC).isoformat(timespec="milliseconds")
    plan = run.plan_reset(kafka_config, group, topic, Target("to-datetime", at))
    assert plan.new_offsets() == {0: 2} and plan.moves[0].note == ""


def test_to_event_moves_only_the_event_partition_to_its_offset(
        kafka_config: KafkaConfig, topic_factory: Callable, producer: Callable,
        store: EventStore, allow: None) -> None:
    """--to-event: the event's stored position (loaded from this topic) is where its partition
    restarts, so the group reads that event again; the other partitions stay."""
    topic = topic_factory(2)
    p = producer()
    for i in range(8):
        doc = {"id": f"ev-{i}", "type": "Noted", "aggregateId": f"a-{i}",
               "timestamp": "2026-11-01T10:00:00Z", "data": {"n": i}}
        p.send(topic, orjson.dumps(doc), partition=i % 2).get(timeout=10)
    ingest_kafka(store, kafka_config, [topic])
    with store.reading() as cur:
        (pos,) = db.rows(cur, 'SELECT "partition", "offset" FROM events WHERE event_id = ?',
                         ["ev-5"])
    assert pos == (1, 2)
    group = f"rw-event-{topic}"
    commit_group_offsets(kafka_config, group, topic, {0: 4, 1: 4})
    plan = run.plan_reset(kafka_config, group, topic, Target("to-event", "ev-5"), store)
    assert [(m.partition, m.current, m.new, m.lag_after) for m in plan.moves] == [(1, 4, 2, 2)]
    run.execute(kafka_config, store, plan, confirm=group, reason="read ev-5 again")
    assert committed_offsets(kafka_config, group, topic) == {0: 4, 1: 2}
    with pytest.raises(PlanError, match="no event 'nope'"):
        run.plan_reset(kafka_config, group, topic, Target("to-event", "nope"), store)
