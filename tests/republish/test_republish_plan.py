"""The pure plan rules: targets, confirmation, warnings, partitions, provenance values."""

from __future__ import annotations

from eventlab.kafka.partitioner import partition_for
from eventlab.republish import plan as p


def test_default_targets_are_replay_topics_per_source() -> None:
    opts = p.PlanOptions()
    assert p.targets_for(["orders", None, "orders"], [], opts, "J1", dlq=False) == {
        "": "events.replay.J1", "orders": "orders.replay.J1"}
    assert p.targets_for(["orders"], [], p.PlanOptions(target="x"), "J1", False) == {"orders": "x"}
    assert p.targets_for(["dlq"], ["a", "b"], opts, "J1", dlq=True) == {"a": "a", "b": "b"}


def test_plan_warns_creates_and_asks_for_typed_names() -> None:
    plan = p.make_plan(job_id="J", actor="me", kind="sql", options=p.PlanOptions(),
                       targets={"orders": "orders.replay.J", "pay": "pay"},
                       source_partitions={"orders": 6, "pay": 2},
                       existing={"orders.replay.J": None, "pay": 2}, sensitive={"orders", "pay"},
                       count=10, bytes_=100, tombstones=1)
    assert plan.target_partitions == {"orders.replay.J": 6, "pay": 2}
    assert plan.create == ("orders.replay.J",) and plan.confirm == ("pay",)
    assert plan.warnings == ("will be created: orders.replay.J (6 partition(s))",)
    assert not p.confirmed(plan, "") and not p.confirmed(plan, "orders")
    assert p.confirmed(plan, " pay ")
    mismatch = p.make_plan(job_id="J", actor="me", kind="sql",
                           options=p.PlanOptions(partitioning=p.BY_PARTITION),
                           targets={"orders": "t"}, source_partitions={"orders": 6},
                           existing={"t": 4}, sensitive=set(), count=1, bytes_=1, tombstones=0)
    assert mismatch.warnings == ("orders has 6 partition(s), target t has 4: partitions at or "
                                 "above 4 wrap around (partition mod 4)",)
    assert p.Plan.from_dict(mismatch.to_dict()) == mismatch


def test_partitions_and_provenance() -> None:
    assert p.target_partition(p.BY_KEY, b"order-1", 0, 7, 5) == partition_for(b"order-1", 5)
    assert p.target_partition(p.BY_KEY, None, 0, 7, 5) == 2
    assert p.target_partition(p.BY_PARTITION, b"k", 6, 0, 4) == 2
    assert p.provenance("t", 3, 42, 1700, "e1", "J", 99, "me", "why") == [
        ("eventlab-original-topic", b"t"), ("eventlab-original-partition", b"3"),
        ("eventlab-original-offset", b"42"), ("eventlab-original-timestamp", b"1700"),
        ("eventlab-original-event-id", b"e1"), ("eventlab-replay-id", b"J"),
        ("eventlab-replayed-at", b"99"), ("eventlab-replayed-by", b"me"),
        ("eventlab-reason", b"why")]
    assert p.identity(None, None, 5, None) == ("", "", "5", "")


def test_allow_list_and_topic_names() -> None:
    assert p.allowed("replay.x", r"replay\..*") and not p.allowed("orders", r"replay\..*")
    assert p.allowed("anything", None)
    assert p.PlanOptions(target="bad name").check()
    assert not p.PlanOptions(target="ok.name-1_x").check()


def test_quarantined_rows_of_two_files_have_distinct_identities() -> None:
    """Issue 17, finding 11: row N of two files had the same identity (no topic, no id)."""
    from eventlab.republish.selection import Selection, source_sql
    from eventlab.store import db as store_db
    from eventlab.store.eventstore import EventStore

    with EventStore(":memory:") as st, st.transaction() as cur:
        for src in ("/data/a.jsonl", "/data/b.jsonl"):
            cur.execute("INSERT INTO quarantine (source, \"offset\", reason, raw) "
                        "VALUES (?, 7, 'invalid JSON', 'x'::BLOB)", [src])
        sql, params = source_sql(Selection.quarantine())
        found = store_db.rows(cur, f"SELECT source, event_id FROM ({sql})", params)
    ids = {event_id for _, event_id in found}
    assert len(found) == 2 and len(ids) == 2 and None not in ids, found
