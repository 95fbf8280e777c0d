"""Quality checks: exact counts on hand-made event sets, and every anomaly the demo plants
found with the count the demo planted."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from event_rows import add_events, event
from repo_paths import DEMO_EVENTS

from eventlab import quality
from eventlab.demo.anomalies import planned_counts
from eventlab.quality import drift
from eventlab.quality.known_types import handled_types
from eventlab.replay.rules import load_rules
from eventlab.store.eventstore import EventStore

T0 = datetime(2026, 11, 1, tzinfo=UTC)
DEMO_RULES = Path(__file__).parents[2] / "eventlab" / "demo" / "rules.toml"


def _add(store: EventStore, rows: list[dict]) -> None:
    add_events(store, [
        event(event_id=r.get("id", f"e{i}"), entity_id=r["entity"],
              event_type=r.get("type", "T"), event_version=r.get("version", 1), seq=r["seq"],
              ts=r.get("ts", T0 + timedelta(minutes=i)), payload=r.get("payload", {"a": 1}),
              source="kafka" if r.get("kafka_ts") else "f.jsonl", topic=r.get("topic"),
              partition=0, offset=r.get("offset", i), kafka_ts=r.get("kafka_ts"))
        for i, r in enumerate(rows)])


def _run(store: EventStore, **kw) -> quality.Report:
    with store.reading() as cur:
        return quality.run_checks(cur, **kw)


def test_gaps_regressions_and_out_of_order_counted_exactly(store: EventStore) -> None:
    _add(store, [
        {"entity": "a", "seq": 1}, {"entity": "a", "seq": 2}, {"entity": "a", "seq": 4},  # 1
        {"entity": "b", "seq": 1}, {"entity": "b", "seq": 5},                              # 3
        {"entity": "c", "seq": 3}, {"entity": "c", "seq": 4},      # starts late: apart
        {"entity": "d", "seq": 1}, {"entity": "d", "seq": 3}, {"entity": "d", "seq": 2},  # 1 back
        {"entity": "e", "seq": 1, "id": "x"}, {"entity": "e", "seq": 1, "id": "x"},       # repeat
        {"entity": "f", "seq": 1, "ts": T0 + timedelta(hours=2)},
        {"entity": "f", "seq": 2, "ts": T0 + timedelta(hours=1)},                         # early
        {"entity": "f", "seq": 3, "ts": T0 + timedelta(hours=3)},
    ])
    rep = _run(store)
    gap = rep.get("sequence_gap")
    assert gap.count == 4 and gap.details == {"entities": 2, "late_start": 1}
    assert {(e["entity_id"], e["seq"], e["previous_seq"]) for e in gap.examples} == {
        ("a", 4, 2), ("b", 5, 1)}
    reg = rep.get("sequence_regression")
    assert (reg.count, reg.details["repeated"]) == (2, 1)
    assert {e["entity_id"] for e in reg.examples} == {"d", "e"}
    ooo = rep.get("out_of_order_time")
    # f's seq 2 is an hour early; d's seq 3 was written before its seq 2 (minute 8 < 9).
    assert ooo.count == 2 and {e["entity_id"] for e in ooo.examples} == {"d", "f"}
    assert rep.get("duplicate_event_id").count == 1
    assert [f.kind for f in rep.findings] == list(quality.KINDS)


def test_late_events_and_bad_kafka_timestamps(store: EventStore) -> None:
    _add(store, [
        {"entity": "a", "seq": 1, "ts": T0, "kafka_ts": T0 + timedelta(seconds=10), "topic": "t"},
        {"entity": "a", "seq": 2, "ts": T0, "kafka_ts": T0 + timedelta(seconds=400), "topic": "t"},
        {"entity": "a", "seq": 3, "ts": T0, "kafka_ts": T0 - timedelta(hours=2), "topic": "t"},
        {"entity": "b", "seq": 1, "ts": T0, "topic": "t",
         "kafka_ts": datetime(1969, 12, 31, 23, 59, 59, 999000, tzinfo=UTC)},
    ])
    late = _run(store, late_seconds=300).get("late_event")
    assert late.count == 3  # 400 s, 2 h and the -1 timestamp are all more than 300 s away
    assert late.details["kafka_ts_negative"] == 1 and late.severity == "warning"
    assert late.examples[0]["entity_id"] == "b"  # the farthest first
    assert _run(store, late_seconds=10_000).get("late_event").count == 1


def test_schema_drift_between_versions() -> None:
    seen = [drift.Seen("OrderPlaced", 1, '{"total":"DOUBLE","id":"VARCHAR"}', 5, T0, T0),
            drift.Seen("OrderPlaced", 2, '{"total_amount":"DOUBLE","id":"UBIGINT"}', 3, T0, T0),
            drift.Seen("Paid", 1, '{"x":"VARCHAR"}', 1, T0, T0),
            drift.Seen("Paid", 1, '{"x":"NULL"}', 1, T0, T0),
            drift.Seen("Paid", 1, '{"x":{"y":"VARCHAR"}}', 1, T0, T0)]
    found = {(d.event_type, d.field, d.change) for d in drift.drifts(drift.field_uses(seen))}
    assert found == {("OrderPlaced", "total_amount", "appears"),
                     ("OrderPlaced", "total", "disappears"),
                     ("OrderPlaced", "id", "changes type"),
                     ("Paid", "x", "changes type")}   # NULL is not a type change


def test_unknown_event_types_against_a_rules_file(store: EventStore, tmp_path: Path) -> None:
    _add(store, [{"entity": "a", "seq": 1, "type": "A"}, {"entity": "a", "seq": 2, "type": "B"},
                 {"entity": "a", "seq": 3, "type": "C"}])
    rules = tmp_path / "r.toml"
    rules.write_text('[events.A]\nset = { path = "a", from = "a" }\n')
    types, label = handled_types(str(rules))
    f = _run(store, handled_types=types, reducer=label).get("unknown_event_type")
    assert (f.count, f.explore) == (2, {"types": "B,C"}) and label == "r.toml"
    assert _run(store).get("unknown_event_type").severity == "ok"  # no reducer chosen


def test_every_anomaly_the_demo_plants_is_found(demo_db: Path) -> None:
    planted = planned_counts(DEMO_EVENTS)
    types = load_rules(DEMO_RULES).handled_types
    with EventStore(demo_db) as store:
        rep = _run(store, handled_types=types, reducer="rules.toml")
    dup = rep.get("duplicate_event_id")
    assert dup.count == planted["exact_duplicates"] + planted["conflicting_duplicates"]
    assert dup.details == {"identical": planted["exact_duplicates"],
                           "conflicting": planted["conflicting_duplicates"]}
    assert rep.get("sequence_gap").count == planted["sequence_gaps"]
    assert rep.get("out_of_order_time").count == planted["out_of_order"]
    # Both kinds of duplicates repeat (aggregateId, version): each copy is a regression.
    assert rep.get("sequence_regression").count == dup.count
    assert rep.get("quarantine").count == (planted["null_aggregate_id"] + planted["null_type"]
                                           + planted["null_timestamp"])
    assert rep.get("unknown_event_type").count == 0
    drifted = {(e["event_type"], e["field"], e["change"]) for e in rep.get("schema_drift").examples}
    assert drifted == {(t, f, c) for t in ("OrderPlaced", "OrderItemAdded")
                       for f, c in (("total", "disappears"), ("total_amount", "appears"))}
    assert rep.get("late_event").count == 0  # file data: no Kafka timestamps


def test_check_cli_json(demo_db: Path, tmp_path: Path) -> None:
    # The CLI is another process: it gets its own copy (this one may hold demo_db open).
    demo_db = Path(shutil.copy(demo_db, tmp_path / "demo.duckdb"))
    out = subprocess.run([sys.executable, "-m", "eventlab", "check", "--db", str(demo_db),
                          "--rules", str(DEMO_RULES), "--json"],
                         capture_output=True, text=True, check=True)
    data = json.loads(out.stdout)
    kinds = [f["kind"] for f in data["findings"]]
    assert kinds == list(quality.KINDS)
    assert all({"kind", "count", "severity", "examples"} <= set(f) for f in data["findings"])
    strict = subprocess.run([sys.executable, "-m", "eventlab", "check", "--db", str(demo_db),
                             "--strict"], capture_output=True, text=True)
    assert strict.returncode == 1 and "duplicate_event_id" in strict.stdout


@pytest.mark.parametrize("raw", ["soon", "-5"])
def test_a_bad_late_setting_is_a_clear_error(raw: str) -> None:
    from eventlab import settings
    with pytest.raises(settings.SettingError, match="EVENTLAB_LATE_EVENT_SECONDS"):
        settings.late_event_seconds({"EVENTLAB_LATE_EVENT_SECONDS": raw})
