"""AppTest: the Quality page's Invariants section on the planted-fault data set."""

from __future__ import annotations

from pathlib import Path

import pytest
from planted import plant
from repo_paths import APP
from streamlit.testing.v1 import AppTest

from eventlab.store.eventstore import EventStore


def test_quality_page_lists_broken_invariants_with_time_travel_links(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    path = tmp_path / "planted.duckdb"
    with EventStore(path) as store:
        plant(store)
    monkeypatch.setenv("EVENTLAB_DB", str(path))
    monkeypatch.delenv("EVENTLAB_INVARIANTS", raising=False)
    monkeypatch.chdir(tmp_path)  # no ./invariants.toml: the demo shop's examples
    at = AppTest.from_file(APP, default_timeout=60)
    at.switch_page("pages/quality_page.py")
    at.run()
    assert not at.exception
    labels = [e.label for e in at.expander]
    assert any("**a shipped order was paid** · 4" in label for label in labels)
    assert any("**a cancelled order receives no shipment** · 1" in label for label in labels)
    assert any("holds" in label for label in labels) is False  # all three are broken here
    frame = next(d.value for d in at.dataframe if "time travel" in d.value.columns
                 and "order-6" in set(d.value["entity_id"]))
    row = frame[frame["entity_id"] == "order-6"].iloc[0]
    assert row["seq"] == 5 and not row["recovers"]
    assert "entity_id=order-6" in row["time travel"] and "seq=5" in row["time travel"]
