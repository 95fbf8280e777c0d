"""Read-only mode: one flag, read by the job manager and the app alike."""

from __future__ import annotations

import pytest

from eventlab import settings
from eventlab.errors import ReadOnlyError
from eventlab.jobs import JobManager


@pytest.mark.parametrize(("value", "expected"), [("", False), ("0", False), ("false", False),
                                                 ("1", True), ("true", True), ("yes", True)])
def test_read_only_flag(value: str, expected: bool) -> None:
    assert settings.read_only({"EVENTLAB_READ_ONLY": value}) is expected


def test_unset_means_writable() -> None:
    assert settings.read_only({}) is False


def test_the_job_manager_reads_the_same_flag(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EVENTLAB_READ_ONLY", "1")
    manager = JobManager()
    with pytest.raises(ReadOnlyError):
        manager.start("files", "a load", lambda ctx: None)
    monkeypatch.setenv("EVENTLAB_READ_ONLY", "0")
    view = manager.start("files", "a load", lambda ctx: "ok")
    assert manager.wait(view.id, timeout=5).report == "ok"
