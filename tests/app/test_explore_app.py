"""AppTest: the app frame and the Explore, SQL console and Quarantine pages."""

from __future__ import annotations

from functools import partial
from pathlib import Path

import pytest
from apptest_support import open_page, texts
from streamlit.testing.v1 import AppTest

from eventlab import explore
from eventlab.store import db
from eventlab.store.eventstore import EventStore


def _caption_with(at: AppTest, text: str) -> str:
    found = [c.value for c in at.caption if text in c.value]
    assert found, f"no caption containing {text!r}: {[c.value for c in at.caption]}"
    return found[0]


def _matching(at: AppTest) -> int:
    cap = _caption_with(at, "matching events")
    return int(cap.split(" matching")[0].replace(",", ""))


_new = partial(open_page, run=False)


def test_explore_header_and_table(app_env: Path) -> None:
    at = _new().run()
    assert not at.exception
    with EventStore(app_env) as store:
        stats = store.stats()
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Events"] == f"{stats.events:,}"
    assert metrics["Quarantined"] == f"{stats.quarantined:,}"
    assert stats.quarantined > 0
    assert _matching(at) == stats.events
    table = at.dataframe(key="events_table").value
    assert len(table) == explore.PAGE_SIZE
    assert list(table["ts"]) == sorted(table["ts"])


def test_filters_change_the_table(app_env: Path) -> None:
    at = _new().run()
    total = _matching(at)
    at.multiselect(key="types").select("OrderPlaced").run()
    assert not at.exception
    placed = _matching(at)
    assert 0 < placed < total
    assert set(at.dataframe(key="events_table").value["event_type"]) == {"OrderPlaced"}
    at.text_input(key="entity").input("order-0001").run()
    prefixed = _matching(at)
    assert 0 < prefixed < placed
    assert all(e.startswith("order-0001") for e in at.dataframe(key="events_table").value[
        "entity_id"])
    at.text_input(key="jpath").input("status").run()
    at.text_input(key="jval").input("placed").run()
    assert not at.exception
    assert _matching(at) <= prefixed


def test_an_empty_result_offers_no_export(app_env: Path) -> None:
    at = _new().run()
    assert at.button(key="ex_export_prepare")
    at.text_input(key="entity").input("no-such-entity-").run()
    assert not at.exception and _matching(at) == 0
    assert not [b for b in at.button if b.key == "ex_export_prepare"]


def test_bad_json_path_shows_an_error(app_env: Path) -> None:
    at = _new().run()
    at.text_input(key="jpath").input("a b ;drop").run()
    assert not at.exception
    assert any("JSON path" in e.value for e in at.error)


def test_deep_link_restores_filters_and_event(app_env: Path) -> None:
    with EventStore(app_env) as store:
        cur = store.cursor()
        row = db.rows(cur, "SELECT entity_id, seq, \"offset\", event_type FROM events "
                           "WHERE entity_id LIKE 'order-%' ORDER BY entity_id, seq LIMIT 1 "
                           "OFFSET 1")[0]
        key = explore.EventKey(row[0], row[1], row[2])
        prev = explore.event_detail(cur, key).previous
    assert prev is not None
    at = _new()
    at.query_params["entity"] = row[0]
    at.query_params["ev"] = key.to_param()
    at.run()
    assert not at.exception
    assert at.text_input(key="entity").value == row[0]
    assert set(at.dataframe(key="events_table").value["entity_id"]) == {row[0]}
    assert any(s.startswith(f"{row[3]} · {row[0]} · seq {row[1]}") for s in texts(at.subheader))
    at.button(key="ev_prev").click().run()
    assert not at.exception
    assert any(s.endswith(f" · {row[0]} · seq {prev.seq}") for s in texts(at.subheader))


def test_sql_console_runs_and_refuses(app_env: Path) -> None:
    at = _new("pages/sql_page.py").run()
    assert not at.exception
    at.text_area(key="sql").input("SELECT count(*) AS n FROM events")  # a form: Run submits
    at.button(key="sql_run").click().run()
    assert not at.exception
    assert at.dataframe[0].value["n"].iloc[0] > 0
    at.text_area(key="sql").input("DROP TABLE events")
    at.button(key="sql_run").click().run()
    assert any("Only SELECT" in e.value for e in at.error)
    with EventStore(app_env) as store:
        assert store.stats().events > 0


def test_quarantine_page_lists_reasons(app_env: Path) -> None:
    at = _new("pages/quarantine_page.py").run()
    assert not at.exception
    summary = at.dataframe[0].value
    assert {"missing entity_id", "missing event_type", "missing time"} <= set(summary["reason"])
    at.selectbox(key="q_reason").select("missing time").run()
    rows = at.dataframe[1].value
    assert set(rows["reason"]) == {"missing time"}


def test_duplicates_event_id_and_source_columns(app_env: Path) -> None:
    with EventStore(app_env) as store:
        cur = store.cursor()
        dup_rows = db.scalar(cur, "SELECT count(*) FROM events WHERE event_id IN (SELECT "
                                  "event_id FROM events GROUP BY 1 HAVING count(*) > 1)")
        some_dup = db.scalar(cur, "SELECT event_id FROM events GROUP BY 1 HAVING count(*) > 1 "
                                  "ORDER BY 1 LIMIT 1")
    assert dup_rows > 0
    at = _new().run()
    at.toggle(key="dup").set_value(True).run()
    assert not at.exception
    assert _matching(at) == dup_rows
    table = at.dataframe(key="events_table").value
    assert {"dup", "source", "topic", "partition", "offset", "key"} <= set(table.columns)
    assert table["dup"].str.len().gt(0).all()  # every row of this set carries the marker
    at.toggle(key="dup").set_value(False).run()
    at.text_input(key="event_id").input(some_dup).run()
    assert _matching(at) == 2
    assert set(at.dataframe(key="events_table").value["event_id"]) == {some_dup}


def test_incomplete_json_predicate_is_not_applied(app_env: Path) -> None:
    at = _new().run()
    total = _matching(at)
    at.text_input(key="jpath").input("status").run()
    assert not at.exception
    assert _matching(at) == total  # "status =" with no value yet: not 0 events
    at.text_input(key="jval").input("paid").run()
    assert 0 < _matching(at) < total


def test_links_filter_by_correlation_and_transition(app_env: Path) -> None:
    with EventStore(app_env) as store:
        cur = store.cursor()
        corr, n = db.rows(cur, "SELECT metadata->>'$.correlation_id' AS c, count(*) FROM events "
                               "WHERE c IS NOT NULL GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 1")[0]
        pairs = db.scalar(cur, "SELECT count(*) FROM (SELECT event_type, lead(event_type) OVER "
                               "(PARTITION BY entity_id ORDER BY seq, ts, \"offset\") AS nxt "
                               "FROM events) WHERE event_type = 'OrderPlaced' AND "
                               "nxt = 'OrderPaid'")
    at = _new()
    at.query_params["correlation"] = corr
    at.run()
    assert not at.exception
    assert _matching(at) == n
    at = _new()
    at.query_params["follows"] = "OrderPlaced>OrderPaid"
    at.run()
    assert not at.exception
    assert _matching(at) == pairs > 0
    at = _new()
    at.query_params["follows"] = "nonsense"
    at.run()
    assert any("transition" in e.value for e in at.error)


def test_quarantine_row_in_full(app_env: Path) -> None:
    at = _new("pages/quarantine_page.py").run()
    rows = at.dataframe(key="q_rows").value
    assert "row_id" in rows.columns
    with EventStore(app_env) as store:
        row = explore.quarantine_row(store.cursor(), int(rows["row_id"].iloc[0]))
    assert row is not None and row["reason"] == rows["reason"].iloc[0]
    assert row["raw"] is not None


def test_hex_dump() -> None:
    assert explore.hex_dump(b"ab\x00\xff") == "00000000  61 62 00 ff" + " " * 36 + "  ab.."
    assert explore.hex_dump(None) == "(null)"
    long = explore.hex_dump(bytes(40), limit=16)
    assert long.splitlines()[-1] == "… 24 more bytes (40 in all)"


def test_typed_times_filter_to_the_second(app_env: Path) -> None:
    with EventStore(app_env) as store:
        cur = store.cursor()
        lo = db.scalar(cur, "SELECT min(ts) FROM events")
        cut = lo + (db.scalar(cur, "SELECT max(ts) FROM events") - lo) / 2
        cut = cut.replace(microsecond=0)
        expected = db.scalar(cur, "SELECT count(*) FROM events WHERE ts >= ?", [cut])
    at = _new().run()
    at.text_input(key="from").input(f"{cut:%Y-%m-%d %H:%M:%S}").run()
    assert not at.exception
    assert _matching(at) == expected
    at.text_input(key="from").input("yesterday-ish").run()
    assert any("is not a time" in e.value for e in at.error)


def test_a_huge_payload_is_shown_cut_with_its_size(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from helpers_files import ingest, write_jsonl
    db_path = tmp_path / "big.duckdb"
    with EventStore(db_path) as store:
        ingest(store, write_jsonl(tmp_path / "big.jsonl", [
            {"id": "big-1", "type": "Huge", "aggregateId": "doc-1", "timestamp":
             "2026-11-01T10:00:00Z", "data": {"blob": "x" * 200_000}}]))
    monkeypatch.setenv("EVENTLAB_DB", str(db_path))
    at = _new()
    at.query_params["ev"] = explore.EventKey("doc-1", 1, 0).to_param()
    at.run()
    assert not at.exception
    assert any("the first 50,000 shown" in c.value for c in at.caption)


def _duplicated(app_env: Path) -> int:
    with EventStore(app_env) as store:
        return db.scalar(store.cursor(), "SELECT count(*) FROM events WHERE event_id IN "
                                         "(SELECT event_id FROM events GROUP BY 1 "
                                         "HAVING count(*) > 1)")


@pytest.mark.parametrize("raw", ["1", "true"])
def test_dup_link_opens_only_the_duplicates(app_env: Path, raw: str) -> None:
    at = _new()
    at.query_params["dup"] = raw
    at.run()
    assert not at.exception
    assert at.toggle(key="dup").value is True
    assert _matching(at) == _duplicated(app_env) > 0


def test_link_values_the_page_cannot_use_are_said(app_env: Path) -> None:
    at = _new()
    at.query_params["types"] = ["OrderPlaced", "NoSuchType"]
    at.query_params["etype"] = "nosuch"
    at.query_params["dup"] = "maybe"
    at.run()
    assert not at.exception
    said = " ".join(texts(at.warning))
    for problem in ("types=NoSuchType: no such event type", "etype=nosuch: no such entity type",
                    "dup=maybe: not a yes/no value"):
        assert problem in said


def test_correlation_link_reaches_the_url_and_survives_a_filter_change(app_env: Path) -> None:
    with EventStore(app_env) as store:
        cur = store.cursor()
        row = db.rows(cur, "SELECT entity_id, seq, \"offset\", metadata->>'$.correlation_id' AS c "
                           "FROM events WHERE event_id IN (SELECT event_id FROM events GROUP "
                           "BY 1 HAVING count(*) > 1) AND c IS NOT NULL LIMIT 1")[0]
        corr = row[3]
        n = db.scalar(cur, "SELECT count(*) FROM events WHERE metadata->>'$.correlation_id' = ?",
                      [corr])
    at = _new()
    at.query_params["ev"] = explore.EventKey(row[0], row[1], row[2]).to_param()
    at.run()
    assert not at.exception
    chain = [p.proto for p in at.get("page_link") if p.proto.label == "its chain in Flow"]
    assert chain and "flow" in chain[0].page and "view=Chain" in chain[0].query_string
    at.button(key="ev_link_correlation").click().run()
    assert not at.exception
    assert at.query_params["correlation"] == [corr] or at.query_params["correlation"] == corr
    assert _matching(at) == n
    at.toggle(key="dup").set_value(True).run()  # the next filter change keeps the link's filter
    assert at.text_input(key="correlation").value == corr
    assert 0 < _matching(at) <= n
    reloaded = _new()  # a reload: only the URL
    for k, v in at.query_params.items():
        reloaded.query_params[k] = v
    reloaded.run()
    assert reloaded.text_input(key="correlation").value == corr
    assert _matching(reloaded) == _matching(at)


def test_a_search_counts_up_to_a_bound_then_all_on_demand(
        app_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("eventlab.explore.queries.COUNT_CAP", 150)
    with EventStore(app_env) as store, store.reading() as cur:
        exact = explore.page(cur, explore.Filters(text="order"), count_all=True).total
    assert exact > 150
    at = _new()
    at.query_params["text"] = "order"
    at.run()
    assert not at.exception
    assert "at least 150 matching events · page 1 of 2+" in _caption_with(at, "matching")
    assert len(at.dataframe(key="events_table").value) == explore.PAGE_SIZE
    at.button(key="count_all").click().run()
    assert not at.exception
    assert _matching(at) == exact
    assert not [b for b in at.button if b.key == "count_all"]


def test_a_search_chart_is_computed_once_per_data_version(
        app_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[explore.Filters] = []
    real = explore.counts_over_time

    def counted(cur: db.Connection, f: explore.Filters, *a: object) -> object:
        calls.append(f)
        return real(cur, f, *a)

    monkeypatch.setattr(explore, "counts_over_time", counted)
    at = _new()
    at.query_params["text"] = "order-000"
    at.run()
    at.number_input(key="page").set_value(2).run()
    assert not at.exception
    assert "page 2 of" in _caption_with(at, "matching")
    assert [f.text for f in calls] == ["order-000"]  # paging did not draw it again


def test_a_search_reads_the_skip_index_the_page_keeps_fresh(app_env: Path) -> None:
    from eventlab.explore import search_index

    with EventStore(app_env) as store, store.reading() as cur:
        exact = explore.page(cur, explore.Filters(text="hamburg"), count_all=True).total
    assert exact > 0
    at = _new()
    at.query_params["text"] = "Hamburg"
    at.run()
    assert not at.exception
    assert _matching(at) == exact
    with EventStore(app_env) as store, store.reading() as cur:
        assert search_index.fresh(cur)  # the page brought the search index up to date
    try:  # filters that rule every block out: the page finds nothing, so it reads them
        with EventStore(app_env) as store, store.transaction() as cur:
            cur.execute("UPDATE search_trigrams SET bits = '\\x00'::BLOB, m = 8")
        at.run()
        assert not at.exception
        assert "0 matching events" in _caption_with(at, "matching")
    finally:
        with EventStore(app_env) as store:
            with store.transaction() as cur:
                cur.execute("DELETE FROM search_trigrams_state")
            assert store.refresh_lazily(search_index.fresh, search_index.refresh) == "rebuilt"
