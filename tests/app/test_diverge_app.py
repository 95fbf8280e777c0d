"""AppTest: the Divergence page on the demo database and its demo read model with planted
faults (exact counts, Time travel links), a path outside the data folders refused."""

from __future__ import annotations

from pathlib import Path

import pytest
from apptest_support import open_page

from eventlab.diverge.demo import write_demo_read_model
from eventlab.store.eventstore import EventStore


def test_divergence_page_counts_the_planted_faults(monkeypatch: pytest.MonkeyPatch,
                                                   demo_db: Path, tmp_path: Path) -> None:
    path = tmp_path / "orders.csv"
    with EventStore(demo_db) as store, store.reading() as cur:
        write_demo_read_model(cur, path)
    monkeypatch.setenv("EVENTLAB_DB", str(demo_db))
    monkeypatch.setenv("EVENTLAB_DATA_DIRS", str(tmp_path))
    at = open_page("pages/diverge_page.py", readmodel=str(path), id_column="id")
    assert not at.exception and not at.error
    at.number_input(key="dv_tol").set_value(0.005).run()
    assert not at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["differ"] == "3" and metrics["missing from the read model"] == "1"
    assert metrics["only in the read model"] == "1"
    diffs = at.dataframe[1].value  # by field, differing fields, missing, extra
    assert list(diffs["time travel"].str.startswith("./time-travel?entity_id=")) == [True] * 5
    assert at.query_params["readmodel"] == [str(path)] or at.query_params["readmodel"] == str(
        path)


def test_a_path_outside_the_data_folders_is_refused(monkeypatch: pytest.MonkeyPatch,
                                                    demo_db: Path, tmp_path: Path) -> None:
    monkeypatch.setenv("EVENTLAB_DB", str(demo_db))
    monkeypatch.setenv("EVENTLAB_DATA_DIRS", str(tmp_path / "data"))
    at = open_page("pages/diverge_page.py", readmodel="/etc/passwd")
    assert not at.exception
    assert any("outside the data folders" in e.value for e in at.error)


def test_a_rules_reducer_compares_through_the_fold_and_says_so(
        monkeypatch: pytest.MonkeyPatch, demo_db: Path, tmp_path: Path) -> None:
    rules = Path(__file__).resolve().parents[2] / "eventlab" / "demo" / "rules.toml"
    path = tmp_path / "orders.csv"
    with EventStore(demo_db) as store, store.reading() as cur:
        write_demo_read_model(cur, path)
    monkeypatch.setenv("EVENTLAB_DB", str(demo_db))
    monkeypatch.setenv("EVENTLAB_DATA_DIRS", str(tmp_path))
    monkeypatch.setenv("EVENTLAB_RULES", str(rules))
    at = open_page("pages/diverge_page.py", readmodel=str(path), id_column="id")
    assert not at.exception and not at.error
    assert at.selectbox(key="dv_reducer").value == "rules: rules.toml"  # the default, as in
    assert any("through the fold with" in c.value for c in at.caption)  # Time travel
    at.number_input(key="dv_max").set_value(10).run()
    assert not at.exception
    assert any("bound of 10 events" in e.value for e in at.error)
    at.selectbox(key="dv_reducer").set_value("merge (JSON merge patch)").run()
    assert not at.exception and not at.error
    assert any("rebuilt inside DuckDB" in c.value for c in at.caption)
