"""Read-only mode and the other guards: process settings, read once, one flag for the job
manager and the app alike (docs/safety.md, item 37)."""

from __future__ import annotations

import pytest

from eventlab import settings
from eventlab.errors import ReadOnlyError
from eventlab.jobs import JobManager
from eventlab.settings import Guards


@pytest.mark.parametrize(("value", "expected"), [("", False), ("0", False), ("false", False),
                                                 ("1", True), ("true", True), ("yes", True)])
def test_read_only_flag(value: str, expected: bool) -> None:
    assert Guards.from_env({"EVENTLAB_READ_ONLY": value}).read_only is expected


def test_unset_means_writable_with_the_default_guards() -> None:
    assert Guards.from_env({}) == Guards()


def test_unreadable_guard_settings_are_problems_not_defaults() -> None:
    g = Guards.from_env({"EVENTLAB_REPUBLISH_TOPICS": "(", "EVENTLAB_REPUBLISH_MAX_RECORDS": "x",
                         "EVENTLAB_REPUBLISH_CREATE_TOPICS": "0"})
    assert not g.republish_create_topics and len(g.problems) == 2
    assert Guards.from_env({"EVENTLAB_REPUBLISH_MAX_RECORDS": "1_000"}).republish_max_records \
        == 1000


def test_guards_are_read_once_per_process(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EVENTLAB_READ_ONLY", "1")
    first = settings.guards()
    monkeypatch.setenv("EVENTLAB_READ_ONLY", "0")
    assert settings.guards() is first and settings.read_only() is True
    with pytest.raises(AttributeError):  # frozen
        first.read_only = False  # type: ignore[misc]


def test_the_job_manager_reads_the_same_flag(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EVENTLAB_READ_ONLY", "1")
    manager = JobManager()
    with pytest.raises(ReadOnlyError):
        manager.start("files", "a load", lambda ctx: None)
    monkeypatch.setenv("EVENTLAB_READ_ONLY", "0")
    monkeypatch.setattr(settings, "_GUARDS", None)  # a process started without it
    view = manager.start("files", "a load", lambda ctx: "ok")
    assert manager.wait(view.id, timeout=5).report == "ok"
