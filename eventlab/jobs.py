"""Background jobs: long actions (ingests) run in threads with their own server-side state.

A `JobManager` owns every job of one database. Each job runs `run(ctx)` in a daemon thread with
a cancel `Event` and publishes progress snapshots through `ctx.update(...)`; readers only ever
see frozen `JobView`s. The manager is plain Python (the app keeps one per database in
`st.cache_resource`), so a job's status survives reruns, reloads and other sessions, and a
rerun or a closed tab never starts a job twice (docs/safety.md, item 19):

- starting is an explicit call; an idempotency `token` seen before returns the job it started;
- a job that needs a resource another running job holds (`keys`, e.g. a Kafka topic) is
  refused with `JobRefused`;
- in read-only mode (`EVENTLAB_READ_ONLY=1`) every start raises `ReadOnlyError`, whatever the
  page shows; the flag is the process's (`eventlab.settings.guards`), no argument turns it
  off (docs/safety.md, item 37).
"""

from __future__ import annotations

import atexit
import itertools
import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Literal

from eventlab import settings
from eventlab.errors import EventLabError, ReadOnlyError

Status = Literal["running", "done", "failed", "cancelled"]
RUNNING: Status = "running"
FINISHED: tuple[Status, ...] = ("done", "failed", "cancelled")
KEEP_FINISHED = 20

log = logging.getLogger(__name__)


class JobRefused(EventLabError):
    """A job was not started: another running job holds the same resource."""


class JobFailed(EventLabError):
    """Raised by a job's `run` to end it as failed while keeping its (partial) report."""

    def __init__(self, message: str, report: Any = None) -> None:
        super().__init__(message)
        self.report = report


@dataclass(frozen=True)
class JobProgress:
    """A live snapshot: Kafka jobs fill records/rate/positions, file jobs done/total."""

    records: int = 0
    stored: int = 0
    quarantined: int = 0
    rate: float = 0.0
    positions: Mapping[str, int] = field(default_factory=dict)
    done: int = 0
    total: int | None = None
    stage: str = "starting"

    @property
    def fraction(self) -> float | None:
        """Share of `total` done (0-1), None when the total is unknown (following)."""
        if self.total is None:
            return None
        if self.total <= 0:
            return 1.0
        return min(1.0, max(0.0, self.done / self.total))


@dataclass(frozen=True)
class JobView:
    """What a page sees of a job: an immutable copy taken under the manager's lock."""

    id: str
    kind: str
    title: str
    status: Status
    started: datetime
    finished: datetime | None
    progress: JobProgress
    keys: frozenset[str]
    tags: frozenset[str]
    params: Mapping[str, Any]
    report: Any = None
    error: str | None = None
    cancel_requested: bool = False

    @property
    def running(self) -> bool:
        return self.status == RUNNING

    @property
    def seconds(self) -> float:
        """Run time so far (or in total, once finished)."""
        end = self.finished or datetime.now(UTC)
        return max(0.0, (end - self.started).total_seconds())


class JobContext:
    """Handed to a job's `run`: its cancel event and a way to publish progress."""

    def __init__(self, manager: JobManager, job_id: str, cancel: threading.Event) -> None:
        self._manager = manager
        self.job_id = job_id
        self.cancel = cancel

    @property
    def cancelled(self) -> bool:
        """True once someone asked this job to stop."""
        return self.cancel.is_set()

    def update(self, **fields: Any) -> None:
        """Replace some fields of the progress snapshot (see `JobProgress`)."""
        self._manager._update(self.job_id, fields)


@dataclass
class _Job:
    view: JobView
    cancel: threading.Event
    thread: threading.Thread | None = None


class JobManager:
    """Starts, tracks and cancels background jobs; thread-safe; one per database."""

    def __init__(self, *, keep_finished: int = KEEP_FINISHED) -> None:
        self._keep = keep_finished
        self._lock = threading.Lock()
        self._jobs: dict[str, _Job] = {}
        self._tokens: dict[str, str] = {}
        self._ids = itertools.count(1)
        atexit.register(self.shutdown)

    def start(self, kind: str, title: str, run: Callable[[JobContext], Any], *,
              keys: Iterable[str] = (), tags: Iterable[str] = (),
              params: Mapping[str, Any] | None = None, token: str | None = None,
              progress: JobProgress | None = None) -> JobView:
        """Run `run(ctx)` in a new thread and return its view.

        `run` returns the job's report; raising `JobFailed` or any `EventLabError` fails the
        job with that message. Raises `ReadOnlyError` in read-only mode and `JobRefused` when a
        running job holds one of `keys`. A `token` seen before returns that earlier job.
        """
        if settings.read_only():
            raise ReadOnlyError(
                f"EventLab runs read-only (EVENTLAB_READ_ONLY): {title} was not started. "
                "Restart the app without EVENTLAB_READ_ONLY to load data.")
        keys = frozenset(keys)
        with self._lock:
            if token is not None and token in self._tokens:
                earlier = self._jobs.get(self._tokens[token])
                if earlier is not None:
                    return earlier.view
            for job in self._jobs.values():
                clash = job.view.running and keys & job.view.keys
                if clash:
                    raise JobRefused(
                        f"{title}: not started, job {job.view.id} ({job.view.title}) is still "
                        f"running on {', '.join(sorted(clash))}. Wait for it to finish or "
                        "cancel it first.")
            job_id = str(next(self._ids))
            view = JobView(id=job_id, kind=kind, title=title, status=RUNNING,
                           started=datetime.now(UTC), finished=None,
                           progress=progress or JobProgress(), keys=keys,
                           tags=frozenset(tags), params=dict(params or {}))
            job = _Job(view, threading.Event())
            job.thread = threading.Thread(target=self._run, args=(job_id, run),
                                          name=f"eventlab-job-{job_id}", daemon=True)
            self._jobs[job_id] = job
            if token is not None:
                self._tokens[token] = job_id
            self._prune()
        job.thread.start()
        return view

    def _run(self, job_id: str, run: Callable[[JobContext], Any]) -> None:
        job = self._jobs[job_id]
        ctx = JobContext(self, job_id, job.cancel)
        status: Status = "done"
        report: Any = None
        error: str | None = None
        try:
            report = run(ctx)
        except JobFailed as exc:
            status, error, report = "failed", str(exc), exc.report
        except EventLabError as exc:
            status, error = "failed", str(exc)
        except Exception as exc:  # a bug: keep the app up, say what happened
            log.exception("job %s failed", job_id)
            status, error = "failed", f"internal error ({type(exc).__name__}: {exc}); " \
                                      "see the server log"
        with self._lock:
            if status == "done" and job.view.cancel_requested:
                status = "cancelled"
            job.view = replace(job.view, status=status, report=report, error=error,
                               finished=datetime.now(UTC))

    def _update(self, job_id: str, fields: Mapping[str, Any]) -> None:
        with self._lock:
            job = self._jobs[job_id]
            job.view = replace(job.view, progress=replace(job.view.progress, **fields))

    def _prune(self) -> None:
        finished = [j for j in self._jobs.values() if not j.view.running]
        for job in finished[:max(0, len(finished) - self._keep)]:
            del self._jobs[job.view.id]
        self._tokens = {t: i for t, i in self._tokens.items() if i in self._jobs}

    def get(self, job_id: str) -> JobView | None:
        """The job's current view, or None when unknown (or pruned long ago)."""
        with self._lock:
            job = self._jobs.get(job_id)
            return job.view if job else None

    def jobs(self, kind: str | None = None) -> list[JobView]:
        """Every kept job, newest first."""
        with self._lock:
            views = [j.view for j in self._jobs.values()]
        return sorted((v for v in views if kind is None or v.kind == kind),
                      key=lambda v: v.started, reverse=True)

    def running(self, kind: str | None = None, tag: str | None = None) -> list[JobView]:
        """Running jobs, newest first, optionally of one kind or carrying one tag."""
        return [v for v in self.jobs(kind) if v.running and (tag is None or tag in v.tags)]

    def cancel(self, job_id: str) -> bool:
        """Ask a running job to stop; True if it was running."""
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None or not job.view.running:
                return False
            job.view = replace(job.view, cancel_requested=True)
            job.cancel.set()
            return True

    def wait(self, job_id: str, timeout: float | None = None) -> JobView:
        """Block until the job has finished (or `timeout` passed); its latest view."""
        with self._lock:
            job = self._jobs[job_id]
        if job.thread is not None:
            job.thread.join(timeout)
        view = self.get(job_id)
        assert view is not None
        return view

    def shutdown(self, timeout: float = 10.0) -> None:
        """Cancel every running job and wait for them (at process exit)."""
        with self._lock:
            running = [j for j in self._jobs.values() if j.view.running]
        for job in running:
            self.cancel(job.view.id)
        deadline = time.monotonic() + timeout
        for job in running:
            if job.thread is not None:
                job.thread.join(max(0.0, deadline - time.monotonic()))
