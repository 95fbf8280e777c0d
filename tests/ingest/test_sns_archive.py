"""Firehose archives of SNS notifications and SQS messages loaded with the `sns` / `sqs`
presets: a folder tree YYYY/MM/DD/HH/ of concatenated JSON objects, gzip and not, a corrupt
object, hostile text in Subject and attributes; from the API and `eventlab ingest --preset`.
The SNS and SQS shapes are the documented ones (SNS notification JSON; SQS ReceiveMessage and
Lambda SQS records), written by the test: no AWS endpoint is involved."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from helpers_files import quarantine, write_parquet
from hostile import DIRECTIVES, HTML, IMAGE, LINK
from sns_archive import TOPIC_ARN, inner_event, notification, write_object

from eventlab.cli.main import main
from eventlab.ingest.file_ingest import ingest_paths
from eventlab.ingest.mapping import MappingSpec
from eventlab.store import db
from eventlab.store.eventstore import EventStore

SNS = MappingSpec(preset="sns")


def _events(store: EventStore) -> list[dict[str, Any]]:
    cols = ("event_id", "entity_id", "event_type", "seq", "ts", "payload", "metadata", "topic",
            "headers", "value", "kafka_ts", "source", "offset")
    cur = store.cursor()
    try:
        rows = db.rows(cur, f"SELECT {', '.join(repr(c).replace(chr(39), chr(34)) for c in cols)}"
                            " FROM events ORDER BY source, \"offset\"")
    finally:
        cur.close()
    out = []
    for row in rows:
        d = dict(zip(cols, row, strict=True))
        d["payload"] = json.loads(d["payload"]) if d["payload"] else None
        d["metadata"] = json.loads(d["metadata"]) if d["metadata"] else None
        out.append(d)
    return out


@pytest.fixture()
def archive(tmp_path: Path) -> Path:
    """Two hours of archive: a plain object, a gzip one (no extension: Firehose's names)."""
    root = tmp_path / "firehose"
    write_object(root, "2026/11/01/10", "orders-1-2026-11-01-10-00-00-aaa",
                 [notification(i, inner_event(i)) for i in range(3)])
    no_id = {k: v for k, v in inner_event(3).items() if k not in ("id", "timestamp")}
    write_object(root, "2026/11/01/11", "orders-1-2026-11-01-11-00-00-bbb",
                 [notification(3, no_id), notification(4, "not json at all"),
                  notification(5, inner_event(5))], zipped=True)
    return root


def test_sns_archive_loads_the_events_inside_the_envelopes(store: EventStore,
                                                           archive: Path) -> None:
    report = ingest_paths(store, [str(archive)], spec=SNS)
    assert (report.files_read, report.rows_read, report.rows_stored,
            report.rows_quarantined, report.files_failed) == (2, 6, 5, 1, [])
    assert report.mapping["preset"] == "sns"
    got = _events(store)
    first = got[0]
    assert (first["event_id"], first["entity_id"], first["event_type"], first["payload"]) == \
        ("e-0", "order-0", "OrderPlaced", {"n": 0})
    assert first["ts"] == datetime(2026, 11, 1, 9, 0, 0, tzinfo=UTC)  # the event's own time
    assert first["kafka_ts"] == datetime(2026, 11, 1, 10, 0, 0, 250000, tzinfo=UTC)
    assert first["topic"] == "orders"
    assert first["headers"] == [{"key": "kind", "value": b"order"},
                                {"key": "priority", "value": b"5"},
                                {"key": "blob", "value": b"\x00\x01\x02"}]
    assert first["value"] == json.dumps(inner_event(0)).encode()  # the raw Message bytes
    assert first["metadata"] == {"sns": {
        "message_id": "m-0", "topic_arn": TOPIC_ARN, "subject": "order 0",
        "type": "Notification",
        "attribute_types": {"kind": "String", "priority": "Number", "blob": "Binary"}}}
    # No id and no time in the message: the SNS MessageId and Timestamp stand in.
    third = next(e for e in got if e["metadata"]["sns"]["message_id"] == "m-3")
    assert third["event_id"] == "m-3"
    assert third["ts"] == datetime(2026, 11, 1, 10, 0, 3, 250000, tzinfo=UTC)
    # A Message that is not JSON: quarantined with the whole envelope and its position.
    (q,) = quarantine(store)
    assert (q["reason"], q["offset"]) == ("invalid JSON", 1)
    assert json.loads(bytes(q["raw"]))["MessageId"] == "m-4"
    assert q["source"].endswith("2026/11/01/11/orders-1-2026-11-01-11-00-00-bbb")
    again = ingest_paths(store, [str(archive)], spec=SNS)
    assert (again.rows_stored, len(again.files_skipped)) == (0, 2)


def test_a_corrupt_object_and_a_truncated_gzip_do_not_stop_the_good_files(
        store: EventStore, archive: Path) -> None:
    bad_hour = archive / "2026/11/01/12"
    bad_hour.mkdir(parents=True)
    good = json.dumps(notification(6, inner_event(6))).encode()
    cut_short = json.dumps(notification(7, inner_event(7))).encode()[:80]
    (bad_hour / "mixed").write_bytes(good + cut_short + good.replace(b"m-6", b"m-8"))
    whole = gzip.compress(good * 50)
    (bad_hour / "truncated.gz").write_bytes(whole[: len(whole) // 2])
    report = ingest_paths(store, [str(archive)], spec=SNS)
    assert [Path(f["file"]).name for f in report.files_failed] == ["truncated.gz"]
    assert "truncated" in report.files_failed[0]["error"]
    assert report.rows_stored == 5 + 2
    bad = [q for q in quarantine(store) if q["source"].endswith("mixed")]
    assert [(q["offset"], q["reason"], bytes(q["raw"])) for q in bad] == \
        [(1, "invalid JSON", cut_short)]
    assert bad[0]["detail"].startswith(f"object 1 at byte {len(good):,} is not valid JSON")


def test_hostile_subject_and_attributes_are_kept_as_data(store: EventStore,
                                                         tmp_path: Path) -> None:
    evil = notification(0, inner_event(0), Subject=f"{IMAGE} {HTML}", MessageAttributes={
        LINK: {"Type": "String", "Value": DIRECTIVES},
        "bad64": {"Type": "Binary", "Value": "!!not base64!!"}})
    f = write_object(tmp_path, "2026/11/01/10", "evil", [evil])
    report = ingest_paths(store, [str(f)], spec=SNS)
    assert (report.rows_stored, report.files_failed) == (1, [])
    (e,) = _events(store)
    assert e["metadata"]["sns"]["subject"] == f"{IMAGE} {HTML}"
    assert e["headers"] == [{"key": LINK, "value": DIRECTIVES.encode()},
                            {"key": "bad64", "value": None}]


def test_sqs_messages_and_lambda_records_load_with_the_sqs_preset(store: EventStore,
                                                                  tmp_path: Path) -> None:
    received = {"MessageId": "q-1", "ReceiptHandle": "rh", "Body": json.dumps(inner_event(1)),
                "Attributes": {"SentTimestamp": "1793527200000"},
                "MessageAttributes": {"kind": {"DataType": "String", "StringValue": "order"}}}
    via_sns = {"MessageId": "q-2", "Body": json.dumps(notification(2, inner_event(2))),
               "Attributes": {"SentTimestamp": "1793527200000"}}
    lambda_record = {"messageId": "q-3", "body": json.dumps({**inner_event(3), "id": None}),
                     "attributes": {"SentTimestamp": "1793527201000"},
                     "messageAttributes": {"b": {"dataType": "Binary", "binaryValue": "AAE="}},
                     "eventSourceARN": "arn:aws:sqs:eu-west-1:123456789012:order-queue"}
    f = write_object(tmp_path, "2026/11/01/10", "sqs", [received, via_sns, lambda_record])
    report = ingest_paths(store, [str(f)], spec=MappingSpec(preset="sqs"))
    assert (report.rows_stored, report.rows_quarantined) == (3, 0)
    one, two, three = _events(store)
    assert (one["event_id"], one["topic"], one["headers"]) == \
        ("e-1", None, [{"key": "kind", "value": b"order"}])
    assert one["kafka_ts"] == datetime(2026, 11, 1, 10, 0, tzinfo=UTC)
    assert (two["event_id"], two["topic"], two["metadata"]["sns"]["message_id"]) == \
        ("e-2", "orders", "m-2")
    assert len(two["headers"]) == 3  # the SNS message attributes
    assert (three["event_id"], three["topic"], three["headers"]) == \
        ("q-3", "order-queue", [{"key": "b", "value": b"\x00\x01"}])


def test_sns_preset_on_a_parquet_file_is_a_mapping_failure(store: EventStore,
                                                           tmp_path: Path) -> None:
    f = write_parquet(tmp_path / "a.parquet", {"x": [1]})
    report = ingest_paths(store, [str(f)], spec=SNS)
    (failed,) = report.files_failed
    assert failed["needs"] == "mapping" and "reads JSON files" in failed["error"]


def test_cli_ingest_folder_with_preset_sns(tmp_path: Path, archive: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    db_path = tmp_path / "x.duckdb"
    code = main(["ingest", str(archive), "--preset", "sns", "--db", str(db_path), "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0
    assert (out["files_read"], out["rows_stored"], out["rows_quarantined"]) == (2, 5, 1)
    assert out["mapping"]["preset"] == "sns"


def test_an_sns_archive_loaded_without_the_preset_names_it(store: EventStore,
                                                           archive: Path) -> None:
    report = ingest_paths(store, [str(archive)])
    assert report.rows_stored == 0 and len(report.files_failed) == 2
    assert all(f["needs"] == "mapping" and "use the sns preset" in f["error"]
               for f in report.files_failed)
