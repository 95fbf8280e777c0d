"""The job manager with real threads: status, cancel, errors, resources, tokens, read-only."""

from __future__ import annotations

import threading
import time

import pytest

from eventlab import settings
from eventlab.errors import ReadOnlyError, SourceError
from eventlab.jobs import JobContext, JobFailed, JobManager, JobRefused, JobView


def _until(manager: JobManager, job_id: str, check, timeout: float = 5.0) -> JobView:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        view = manager.get(job_id)
        if view is not None and check(view):
            return view
        time.sleep(0.01)
    raise AssertionError(f"job {job_id} never got there: {manager.get(job_id)}")


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


def test_read_only_refuses_in_the_manager(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(settings, "_GUARDS", settings.Guards(read_only=True))
    manager = JobManager()
    with pytest.raises(ReadOnlyError, match="read-only"):
        manager.start("test", "load", lambda ctx: None)
    assert manager.jobs() == []


def test_read_only_follows_the_process_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    manager = JobManager()
    monkeypatch.setenv("EVENTLAB_READ_ONLY", "1")
    with pytest.raises(ReadOnlyError):
        manager.start("test", "load", lambda ctx: None)
    monkeypatch.setenv("EVENTLAB_READ_ONLY", "0")  # read once per process: still read-only
    with pytest.raises(ReadOnlyError):
        manager.start("test", "load", lambda ctx: None)
    monkeypatch.setattr(settings, "_GUARDS", None)  # as a process started without it
    assert manager.wait(manager.start("test", "load", lambda ctx: 1).id, 5).report == 1


def test_old_finished_jobs_are_pruned() -> None:
    manager = JobManager(keep_finished=2)
    ids = []
    for i in range(4):
        view = manager.start("test", f"j{i}", lambda ctx: None)
        manager.wait(view.id, 5)
        ids.append(view.id)
    manager.start("test", "last", lambda ctx: None)
    kept = {v.id for v in manager.jobs()}
    assert ids[0] not in kept and ids[3] in kept and len(kept) <= 3
