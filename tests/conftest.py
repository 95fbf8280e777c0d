"""Shared fixtures: a small demo database built with the real generator and ingest, an empty
store, a job manager, and (from `kafka_fixtures`) a real local Kafka broker; and how the suite
is split between pytest-xdist workers (`make test` runs `pytest -n 3 --dist loadgroup`)."""

from __future__ import annotations

import json
import os
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


DURATIONS = Path(__file__).with_name("durations.json")
"""Seconds each test module took on a quiet 2-core run (`make test-durations` writes it): only
the order in which the xdist groups (a module, or the modules sharing a server) are handed to
the workers, longest first, depends on it."""
_measured: dict[str, float] = {}
BROWSER_WEIGHT = 20.0
"""Guessed seconds of a group's test that is not in `DURATIONS` and drives Chromium (others 1)."""


def _guess(item: pytest.Item) -> float:
    return BROWSER_WEIGHT if "page" in getattr(item, "fixturenames", ()) else 1.0


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Under `--dist loadgroup`, a module's tests stay on one worker (its module fixtures, such
    as a served app and a browser, start once), and the tests of a shared server share one.
    The groups are then ordered longest first (`DURATIONS`, else a guess), which `make test`
    keeps with `--no-loadscope-reorder`: xdist's own order (most tests first) left the few long
    browser modules to the end, where one worker ran them while the other had finished."""
    groups: dict[str, str] = {}
    for item in items:
        marker = item.get_closest_marker("xdist_group")
        if marker is None:
            names = getattr(item, "fixturenames", ())
            group = next((g for f, g in SHARED_SERVERS.items() if f in names), None)
            marker = pytest.mark.xdist_group(group or item.nodeid.split("::")[0])
            item.add_marker(marker)
            marker = marker.mark
        groups[item.nodeid] = str(marker.args[0] if marker.args else marker.kwargs.get("name"))
    known = json.loads(DURATIONS.read_text()) if DURATIONS.exists() else {}
    per_module: dict[str, int] = {}
    for item in items:
        per_module[_module(item.nodeid)] = per_module.get(_module(item.nodeid), 0) + 1
    cost: dict[str, float] = {}
    for item in items:
        module = _module(item.nodeid)
        share = known[module] / per_module[module] if module in known else _guess(item)
        cost[groups[item.nodeid]] = cost.get(groups[item.nodeid], 0.0) + share
    items.sort(key=lambda item: -cost[groups[item.nodeid]])


def _module(nodeid: str) -> str:
    return nodeid.split("::")[0].split("@")[0]


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """With EVENTLAB_TEST_DURATIONS set, add each test's setup, call and teardown to its
    module's seconds."""
    if os.environ.get("EVENTLAB_TEST_DURATIONS"):
        module = _module(report.nodeid)
        _measured[module] = _measured.get(module, 0.0) + report.duration


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Write the measured module durations (the controller's, which saw every worker's)."""
    if os.environ.get("EVENTLAB_TEST_DURATIONS") and _measured and \
            not os.environ.get("PYTEST_XDIST_WORKER"):
        DURATIONS.write_text(json.dumps({g: round(s, 1) for g, s in sorted(_measured.items())},
                                        indent=0) + "\n")


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
