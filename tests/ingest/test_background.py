"""Ingests as background jobs (files, uploads, Kafka progress) on the real job manager."""

from __future__ import annotations

from pathlib import Path

import pytest

from eventlab import settings
from eventlab.errors import ReadOnlyError, SourceError
from eventlab.ingest import background
from eventlab.ingest.background import (
    expected_records,
    partial_message,
    save_upload,
    start_files_ingest,
)
from eventlab.ingest.kafka_ingest import KafkaIngestReport
from eventlab.jobs import JobManager
from eventlab.kafka.admin import TopicInfo
from eventlab.store.eventstore import EventStore


def test_file_job_loads_with_progress(manager: JobManager, demo_export: Path,
                                      tmp_path: Path) -> None:
    with EventStore(tmp_path / "f.duckdb") as store:
        view = start_files_ingest(manager, store, [str(demo_export)])
        done = manager.wait(view.id, 30)
        assert done.status == "done", done.error
        assert done.report.rows_stored > 0 and not done.report.files_failed
        assert done.progress.total and done.progress.done == done.progress.total
        assert done.progress.stored == done.report.rows_stored
        assert store.stats().events == done.report.rows_stored


def test_file_job_of_nothing_fails_plainly(manager: JobManager, tmp_path: Path) -> None:
    with EventStore(tmp_path / "f.duckdb") as store:
        view = start_files_ingest(manager, store, [str(tmp_path / "missing" / "*.parquet")])
        done = manager.wait(view.id, 10)
    assert done.status == "failed" and "nothing was loaded" in done.error
    assert "missing" in done.error
    with pytest.raises(SourceError, match="enter a file"):
        start_files_ingest(manager, None, ["  "])  # type: ignore[arg-type]


def test_file_job_cancels_between_files(manager: JobManager, tmp_path: Path) -> None:
    folder = tmp_path / "many"
    folder.mkdir()
    for i in range(60):
        (folder / f"part-{i:03d}.jsonl").write_text(
            f'{{"entity_id": "e-{i}", "event_type": "Created", "ts": "2026-01-01T00:00:00Z"}}\n')
    with EventStore(tmp_path / "c.duckdb") as store:
        view = start_files_ingest(manager, store, [str(folder)])
        manager.cancel(view.id)
        done = manager.wait(view.id, 30)
        assert done.status == "cancelled" and done.report is None
        assert done.progress.done < 60
        # nothing half-loaded: a new run loads every file
        again = manager.wait(start_files_ingest(manager, store, [str(folder)]).id, 30)
        assert again.status == "done" and store.stats().events == 60


def test_file_job_refuses_in_read_only_mode(tmp_path: Path, demo_export: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(settings, "_GUARDS", settings.Guards(read_only=True))
    manager = JobManager()
    with EventStore(tmp_path / "f.duckdb") as store:
        with pytest.raises(ReadOnlyError):
            start_files_ingest(manager, store, [str(demo_export)])
        assert store.stats().events == 0 and manager.jobs() == []


def test_a_read_only_store_fails_the_job(manager: JobManager, tmp_path: Path,
                                         demo_export: Path) -> None:
    EventStore(tmp_path / "r.duckdb").close()
    with EventStore(tmp_path / "r.duckdb", read_only=True) as store:
        done = manager.wait(start_files_ingest(manager, store, [str(demo_export)]).id, 30)
    assert done.status == "failed" and "read-only" in done.error


def test_expected_records_follow_stored_positions() -> None:
    info = [TopicInfo("t", 2, end_offsets={0: 100, 1: 50}, earliest={0: 10, 1: 0})]
    assert expected_records(info, ["t"], {}, "earliest", "end") == 140
    assert expected_records(info, ["t"], {("t", 0): 90}, "earliest", "end") == 60
    assert expected_records(info, ["t"], {("t", 0): 90}, "latest", "end") == 10
    assert expected_records(info, ["t"], {}, {("t", 1): 45}, "end") == 95
    assert expected_records(info, ["t"], {}, "earliest", 30) == 30
    assert expected_records(info, ["t"], {}, "earliest", "follow") is None


def test_uploads_are_capped_typed_and_named_by_content(tmp_path: Path) -> None:
    data = b'{"a": 1}\n'
    first = save_upload("../../etc/ev ents.jsonl", data, tmp_path / "up", limit_mb=1)
    assert first.parent == tmp_path / "up" and first.name.endswith("-ev_ents.jsonl")
    assert first.read_bytes() == data
    assert save_upload("other.jsonl", data, tmp_path / "up", 1).read_bytes() == data
    assert save_upload("ev ents.jsonl", data, tmp_path / "up", 1) == first
    with pytest.raises(SourceError, match="over the upload limit of 1 MB"):
        save_upload("big.csv", b"x" * (1024 * 1024 + 1), tmp_path / "up", 1)
    with pytest.raises(SourceError, match="only parquet"):
        save_upload("evil.sh", b"echo", tmp_path / "up", 1)
    assert background.upload_limit_mb({}) == 200
    assert background.upload_limit_mb({"EVENTLAB_UPLOAD_MAX_MB": "5"}) == 5
    with pytest.raises(SourceError, match="EVENTLAB_UPLOAD_MAX_MB"):
        background.upload_limit_mb({"EVENTLAB_UPLOAD_MAX_MB": "lots"})


def test_a_partial_kafka_run_says_where_it_stopped() -> None:
    report = KafkaIngestReport(topics=["orders"], error="Kafka at 127.0.0.1:1 did not answer",
                               positions={"orders/1": 1200, "orders/0": 340}, partial=True)
    assert partial_message(report) == (
        "Kafka at 127.0.0.1:1 did not answer. What was read before is kept: stored up to "
        "(next offset) orders/0=340, orders/1=1,200 per partition; start again to resume "
        "from there.")


def _wait_for(manager: JobManager, job_id: str, ok, timeout: float = 30.0):
    import time
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        view = manager.get(job_id)
        if ok(view):
            return view
        time.sleep(0.1)
    raise AssertionError(f"job never got there: {manager.get(job_id).progress}")


def test_a_follow_job_at_the_end_says_caught_up_and_waiting(
        manager: JobManager, tmp_path: Path, kafka_config, topic_factory, producer) -> None:
    topic = topic_factory(1)
    p = producer()
    for i in range(3):
        p.send(topic, key=b"order-1", value=b'{"id": "e%d", "type": "T", "aggregateId": '
                                            b'"order-1", "timestamp": "2026-11-01T10:00:00Z", '
                                            b'"data": {}}' % i).get()
    with EventStore(tmp_path / "k.duckdb") as store:
        view = background.start_kafka_ingest(manager, store, kafka_config, [topic],
                                              until="follow")
        waiting = _wait_for(manager, view.id, lambda v: v.progress.stage.startswith("caught up"))
        assert waiting.progress.stage == "caught up, waiting for new records"
        assert waiting.progress.records == 3
        p.send(topic, key=b"order-1", value=b'{"id": "e9", "type": "T", "aggregateId": '
                                            b'"order-1", "timestamp": "2026-11-01T10:00:00Z", '
                                            b'"data": {}}').get()
        _wait_for(manager, view.id, lambda v: v.progress.records == 4
                  and v.progress.stage.startswith("caught up"))
        manager.cancel(view.id)
        assert manager.wait(view.id, 30).status in ("cancelled", "done")
