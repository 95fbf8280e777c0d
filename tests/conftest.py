"""Shared fixtures: a small demo database built with the real generator and ingest, an empty
store, a job manager, and (from `kafka_fixtures`) a real local Kafka broker; and how the suite
is split between pytest-xdist workers (`make test` runs `pytest -n 2 --dist loadgroup`)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import hostile
import pytest
from repo_paths import DEMO_EVENTS

from eventlab import settings
from eventlab.demo import write_export
from eventlab.ingest.file_ingest import ingest_paths
from eventlab.jobs import JobManager
from eventlab.store.eventstore import EventStore

pytest_plugins = ["kafka_fixtures", "rabbitmq_fixtures", "aws_fixtures"]

SHARED_SERVERS = {"rabbitmq_server": "rabbitmq"}
"""Session fixtures too slow to start on every worker: the tests using one run on one worker.
(The Kafka broker starts in a second: each worker runs its own, on its own free port.)"""


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Under `--dist loadgroup`, a module's tests stay on one worker (its module fixtures, such
    as a served app and a browser, start once), and the tests of a shared server share one."""
    for item in items:
        if item.get_closest_marker("xdist_group"):
            continue
        names = getattr(item, "fixturenames", ())
        group = next((g for f, g in SHARED_SERVERS.items() if f in names), None)
        item.add_marker(pytest.mark.xdist_group(group or item.nodeid.split("::")[0]))


@pytest.fixture(scope="session", autouse=True)
def app_frame_always() -> None:
    """AppTests run pages inside app.py's frame, as the server does (`eventlab.ui.serve` turns
    Streamlit's legacy pages/ router off): otherwise the first page a test process switches to
    can run without app.py, and so without its sidebar and its catch of EventLab errors."""
    from streamlit.runtime.pages_manager import PagesManager

    PagesManager.uses_pages_directory = False


@pytest.fixture(scope="session")
def demo_export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small demo export (Parquet, hive folders by day)."""
    out = tmp_path_factory.mktemp("demo-export")
    write_export(out, events=DEMO_EVENTS, seed=42)
    return out


@pytest.fixture(scope="session")
def demo_db(tmp_path_factory: pytest.TempPathFactory, demo_export: Path) -> Path:
    """A database file holding the small demo export (closed: open it yourself)."""
    path = tmp_path_factory.mktemp("demo-db") / "demo.duckdb"
    with EventStore(path) as store:
        report = ingest_paths(store, [str(demo_export)])
    assert report.rows_stored > 0 and not report.files_failed
    return path


@pytest.fixture(scope="session")
def hostile_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A database holding the hostile data set (`tests/hostile.py`; closed: open it yourself)."""
    folder = tmp_path_factory.mktemp("hostile")
    return hostile.build(folder / "hostile.duckdb", folder / "export")


@pytest.fixture()
def store() -> Iterator[EventStore]:
    """An empty in-memory store."""
    with EventStore(":memory:") as s:
        yield s


@pytest.fixture(autouse=True)
def fresh_guards(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test starts as a new process would: the guards (`settings.guards`, read once per
    process) are read again from the environment the test sets. A test that changes a guard
    variable after reading one sets `settings._GUARDS` to None (or to a `Guards`) again."""
    monkeypatch.setattr(settings, "_GUARDS", None)


@pytest.fixture()
def manager(monkeypatch: pytest.MonkeyPatch) -> Iterator[JobManager]:
    """A job manager of a process that is not read-only; its jobs are stopped afterwards."""
    monkeypatch.setattr(settings, "_GUARDS", settings.Guards(read_only=False))
    m = JobManager()
    yield m
    m.shutdown(timeout=5)
