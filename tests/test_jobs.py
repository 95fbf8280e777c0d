"""The job manager with real threads, and the ingest jobs and uploads built on it."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from eventlab import ingest_jobs
from eventlab.errors import ReadOnlyError, SourceError
from eventlab.ingest_jobs import (
    expected_records,
    partial_message,
    save_upload,
    start_files_ingest,
)
from eventlab.jobs import JobContext, JobFailed, JobManager, JobRefused, JobView
from eventlab.kafka.admin import TopicInfo
from eventlab.kafka.ingest import KafkaIngestReport
from eventlab.store.eventstore import EventStore


def _until(manager: JobManager, job_id: str, check, timeout: float = 5.0) -> JobView:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        view = manager.get(job_id)
        if view is not None and check(view):
            return view
        time.sleep(0.01)
    raise AssertionError(f"job {job_id} never got there: {manager.get(job_id)}")


@pytest.fixture()
def manager() -> JobManager:
    m = JobManager(read_only=lambda: False)
    yield m
    m.shutdown(timeout=5)


def test_status_moves_from_running_to_done_with_the_report(manager: JobManager) -> None:
    gate = threading.Event()

    def run(ctx: JobContext) -> dict:
        ctx.update(records=5, positions={"t/0": 5}, total=10, done=5, stage="reading")
        gate.wait(5)
        return {"ok": True}

    view = manager.start("test", "a job", run)
    assert view.status == "running" and view.finished is None
    snap = _until(manager, view.id, lambda v: v.progress.records == 5)
    assert snap.running and snap.progress.positions == {"t/0": 5}
    assert snap.progress.fraction == 0.5 and snap.progress.stage == "reading"
    assert [v.id for v in manager.running()] == [view.id]
    gate.set()
    done = manager.wait(view.id, timeout=5)
    assert done.status == "done" and done.report == {"ok": True} and done.error is None
    assert done.finished is not None and done.seconds >= 0
    assert manager.running() == []


def test_cancel_sets_the_event_and_ends_cancelled(manager: JobManager) -> None:
    def run(ctx: JobContext) -> str:
        while not ctx.cancelled:
            ctx.update(records=1)
            time.sleep(0.01)
        return "stopped"

    view = manager.start("test", "loop", run)
    _until(manager, view.id, lambda v: v.progress.records == 1)
    assert manager.cancel(view.id) is True
    done = manager.wait(view.id, timeout=5)
    assert (done.status, done.report, done.cancel_requested) == ("cancelled", "stopped", True)
    assert manager.cancel(view.id) is False


def test_errors_are_captured_not_raised(manager: JobManager) -> None:
    def ours(ctx: JobContext) -> None:
        raise SourceError("topic t: gone; check the name")

    def partial(ctx: JobContext) -> None:
        raise JobFailed("broker died at offset 7", report={"stored": 7})

    def bug(ctx: JobContext) -> None:
        raise KeyError("boom")

    a, b, c = (manager.start("test", n, f) for n, f in (("a", ours), ("b", partial), ("c", bug)))
    assert manager.wait(a.id, 5).error == "topic t: gone; check the name"
    failed = manager.wait(b.id, 5)
    assert (failed.status, failed.error, failed.report) == (
        "failed", "broker died at offset 7", {"stored": 7})
    crashed = manager.wait(c.id, 5)
    assert crashed.status == "failed" and "KeyError" in crashed.error
    assert {v.status for v in manager.jobs()} == {"failed"}


def test_a_running_resource_refuses_a_second_job(manager: JobManager) -> None:
    gate = threading.Event()
    first = manager.start("kafka", "orders", lambda ctx: gate.wait(5), keys=["topic:orders"])
    with pytest.raises(JobRefused, match=f"job {first.id}.*still running on topic:orders"):
        manager.start("kafka", "orders again", lambda ctx: None,
                      keys=["topic:orders", "topic:x"])
    other = manager.start("kafka", "payments", lambda ctx: None, keys=["topic:payments"])
    manager.wait(other.id, 5)
    gate.set()
    manager.wait(first.id, 5)
    again = manager.start("kafka", "orders again", lambda ctx: None, keys=["topic:orders"])
    assert manager.wait(again.id, 5).status == "done"


def test_a_token_never_starts_twice(manager: JobManager) -> None:
    calls: list[int] = []
    one = manager.start("test", "once", lambda ctx: calls.append(1), token="tok-1")
    manager.wait(one.id, 5)
    two = manager.start("test", "once", lambda ctx: calls.append(1), token="tok-1")
    assert two.id == one.id and calls == [1]


def test_read_only_refuses_in_the_manager() -> None:
    manager = JobManager(read_only=lambda: True)
    with pytest.raises(ReadOnlyError, match="read-only"):
        manager.start("test", "load", lambda ctx: None)
    assert manager.jobs() == []


def test_read_only_follows_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    manager = JobManager()
    monkeypatch.setenv("EVENTLAB_READ_ONLY", "1")
    with pytest.raises(ReadOnlyError):
        manager.start("test", "load", lambda ctx: None)
    monkeypatch.setenv("EVENTLAB_READ_ONLY", "0")
    assert manager.wait(manager.start("test", "load", lambda ctx: 1).id, 5).report == 1


def test_old_finished_jobs_are_pruned() -> None:
    manager = JobManager(read_only=lambda: False, keep_finished=2)
    ids = []
    for i in range(4):
        view = manager.start("test", f"j{i}", lambda ctx: None)
        manager.wait(view.id, 5)
        ids.append(view.id)
    manager.start("test", "last", lambda ctx: None)
    kept = {v.id for v in manager.jobs()}
    assert ids[0] not in kept and ids[3] in kept and len(kept) <= 3


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


def test_file_job_refuses_in_read_only_mode(tmp_path: Path, demo_export: Path) -> None:
    manager = JobManager(read_only=lambda: True)
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
    assert ingest_jobs.upload_limit_mb({}) == 200
    assert ingest_jobs.upload_limit_mb({"EVENTLAB_UPLOAD_MAX_MB": "5"}) == 5
    with pytest.raises(SourceError, match="EVENTLAB_UPLOAD_MAX_MB"):
        ingest_jobs.upload_limit_mb({"EVENTLAB_UPLOAD_MAX_MB": "lots"})


def test_a_partial_kafka_run_says_where_it_stopped() -> None:
    report = KafkaIngestReport(topics=["orders"], error="Kafka at 127.0.0.1:1 did not answer",
                               positions={"orders/1": 1200, "orders/0": 340}, partial=True)
    assert partial_message(report) == (
        "Kafka at 127.0.0.1:1 did not answer. What was read before is kept: stored up to "
        "(next offset) orders/0=340, orders/1=1,200 per partition; start again to resume "
        "from there.")
