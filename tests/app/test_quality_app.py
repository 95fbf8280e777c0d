"""AppTest: the Quality page lists every finding with its count, on the demo database."""

from __future__ import annotations

from pathlib import Path

import pytest
from repo_paths import APP
from streamlit.testing.v1 import AppTest

from eventlab import quality
from eventlab.quality import shapes
from eventlab.store.eventstore import EventStore


def test_quality_page_shows_every_finding(monkeypatch: pytest.MonkeyPatch,
                                          demo_db: Path) -> None:
    monkeypatch.setenv("EVENTLAB_DB", str(demo_db))
    monkeypatch.setenv("EVENTLAB_RULES", str(Path(APP).parent / "eventlab/demo/rules.toml"))
    with EventStore(demo_db) as store, store.reading() as cur:
        expected = quality.run_checks(cur)
    at = AppTest.from_file(APP, default_timeout=60)
    at.switch_page("pages/quality_page.py")
    at.run()
    assert not at.exception
    labels = [e.label for e in at.expander]
    for f in expected.findings:
        assert any(f"**{f.kind}** · {f.count:,}" in label for label in labels), f.kind
    assert any("Show these events in Explore" in str(p.label) for p in at.get("page_link"))
    with EventStore(demo_db) as store, store.reading() as cur:
        assert shapes.fresh(cur)  # the page refreshed the payload shapes before checking
