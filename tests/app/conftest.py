"""AppTest fixtures shared by the page tests: the app's environment over the demo database."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from eventlab.lag.background import BackgroundSampler
from eventlab.timetravel import reducer_choices


@pytest.fixture(autouse=True)
def stop_lag_samplers() -> Iterator[None]:
    """The app starts one background lag sampler per process and database when a cluster is
    configured; an AppTest's would outlive its test, so each is stopped afterwards."""
    yield
    BackgroundSampler.stop_all()


@pytest.fixture()
def app_env(monkeypatch: pytest.MonkeyPatch, demo_db: Path) -> Path:
    """The app reads the demo database and offers only the built-in reducers (a module on
    other data, such as the hostile set, defines its own `app_env`)."""
    monkeypatch.setenv("EVENTLAB_DB", str(demo_db))
    monkeypatch.delenv(reducer_choices.ENV_RULES, raising=False)
    monkeypatch.delenv(reducer_choices.ENV_REDUCER, raising=False)
    return demo_db
