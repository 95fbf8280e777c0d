"""AppTest of the download buttons on a tiny page: nothing written until Prepare, the file
matches the format, the cap notice, a stale file dropped when the source changes."""

from __future__ import annotations

import csv
from pathlib import Path

import orjson
from apptest_support import texts
from export_support import make_store
from streamlit.testing.v1 import AppTest


def page(db_path: str, cap: int | None) -> None:
    import streamlit as st

    from eventlab.explore import export
    from eventlab.explore.filters import Filters
    from eventlab.store.eventstore import EventStore
    from eventlab.ui.export_widgets import download_buttons

    store = st.session_state.setdefault("store", EventStore(db_path, read_only=True))
    types = st.multiselect("types", ["OrderPlaced", "OrderPaid"], key="types")
    download_buttons(store.cursor(), export.filtered_events(Filters(event_types=tuple(types))),
                     key="ex", max_rows=cap)


def at_page(tmp_path: Path, cap: int | None = None) -> AppTest:
    db_path = str(make_store(tmp_path / "bytes.duckdb"))
    return AppTest.from_function(page, args=(db_path, cap), default_timeout=30).run()


def downloads(at: AppTest) -> list:
    return [e for e in at.get("download_button")]


def prepared_path(at: AppTest) -> Path:
    return Path(at.session_state["ex__prepared"].result.path)


def test_prepare_then_download(tmp_path: Path) -> None:
    at = at_page(tmp_path)
    assert not at.exception
    assert not downloads(at) and "ex__prepared" not in at.session_state
    assert "Prepare the file" in at.caption[0].value
    at.button(key="ex_prepare").click().run()
    assert not at.exception
    assert len(downloads(at)) == 1
    path = prepared_path(at)
    assert path.name == "events.csv"
    assert [r["event_id"] for r in csv.DictReader(path.open())] == ["f-1", "k-1", "k-2", "k-3"]
    assert texts(at.caption)[0].startswith("events.csv: 4 rows, ")
    at.run()  # an ordinary rerun keeps the file, writes nothing new
    assert prepared_path(at) == path and path.exists()

    at.multiselect(key="types").set_value(["OrderPaid"]).run()  # another set: stale file
    assert not downloads(at) and not path.exists()
    at.segmented_control(key="ex_fmt").set_value("jsonl").run()
    at.button(key="ex_prepare").click().run()
    path = prepared_path(at)
    assert path.name == "events.jsonl"
    assert [orjson.loads(x)["event_id"] for x in path.read_bytes().splitlines()] == ["k-2"]
    at.segmented_control(key="ex_fmt").set_value("parquet").run()
    assert not downloads(at) and not path.exists()


def test_the_cap_notice(tmp_path: Path) -> None:
    at = at_page(tmp_path, cap=2)
    at.button(key="ex_prepare").click().run()
    assert not at.exception
    assert len(at.warning) == 1
    assert texts(at.warning)[0].startswith("Capped: events.csv holds the first 2 rows")
    assert len(list(csv.DictReader(prepared_path(at).open()))) == 2


def test_an_error_is_shown_not_raised(tmp_path: Path) -> None:
    def bad(db_path: str) -> None:
        import streamlit as st

        from eventlab.explore import export
        from eventlab.store.eventstore import EventStore
        from eventlab.ui.export_widgets import download_buttons

        store = st.session_state.setdefault("store", EventStore(db_path, read_only=True))
        download_buttons(store.cursor(), export.sql_result("DROP TABLE events"), key="sq")

    db_path = str(make_store(tmp_path / "bytes.duckdb"))
    at = AppTest.from_function(bad, args=(db_path,), default_timeout=30).run()
    at.button(key="sq_prepare").click().run()
    assert not at.exception
    assert "Only SELECT queries" in at.error[0].value
    assert not downloads(at)
