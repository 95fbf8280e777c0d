"""AppTest: the Flow page on the demo shop (tests/conftest.py `demo_db`) and on hand-made or
empty stores."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs

import pytest
from apptest_support import texts
from flow_support import ev, flow_db
from repo_paths import APP
from streamlit.testing.v1 import AppTest

from eventlab import flow
from eventlab.store.eventstore import EventStore


def _page(monkeypatch: pytest.MonkeyPatch, db: Path, **params: str) -> AppTest:
    monkeypatch.setenv("EVENTLAB_DB", str(db))
    at = AppTest.from_file(APP, default_timeout=60)
    at.switch_page("pages/flow_page.py")
    for k, v in params.items():
        at.query_params[k] = v
    at.run()
    assert not at.exception, at.exception
    return at


def _frame(at: AppTest, column: str):
    for frame in at.dataframe:
        if column in frame.value.columns:
            return frame.value
    raise AssertionError(f"no dataframe with a {column!r} column")


@pytest.fixture(scope="module")
def demo(demo_db: Path) -> dict:
    with EventStore(demo_db) as store, store.reading() as cur:
        corr = cur.execute("SELECT metadata->>'$.correlation_id' FROM events "
                           "WHERE event_type = 'OrderShipped' ORDER BY ts LIMIT 1"
                           ).fetchall()[0][0]
        event_id = cur.execute("SELECT event_id FROM events WHERE event_type = 'OrderPaid' "
                               "AND metadata->>'$.correlation_id' = ?", [corr]).fetchall()[0][0]
        return {"order": flow.transitions(cur, flow.Scope("order")).to_pylist(),
                "chain": flow.chain(cur, corr), "corr": corr, "event_id": event_id,
                "variants": flow.variants(cur, flow.Scope("payment"), 10).to_pylist()}


def test_transitions_table_sankey_and_threshold(monkeypatch: pytest.MonkeyPatch,
                                                demo_db: Path, demo: dict) -> None:
    at = _page(monkeypatch, demo_db, entity_type="order")
    table = _frame(at, "from_type")
    assert list(zip(table["from_type"], table["to_type"], table["count"], strict=True)) == [
        (e["from_type"], e["to_type"], e["count"]) for e in demo["order"]]
    assert len(at.get("plotly_chart")) == 2  # rates + Sankey
    link = table["events"][0]
    first = demo["order"][0]
    assert link.startswith("./explore?")
    assert parse_qs(link.split("?", 1)[1]) == {
        "follows": [f"{first['from_type']}>{first['to_type']}"], "etype": ["order"]}
    counts = sorted({e["count"] for e in demo["order"]})
    at.select_slider(key="min_pairs").set_value(counts[-2]).run()
    assert not at.exception
    kept = _frame(at, "from_type")
    assert 0 < len(kept) < len(table)
    expected = flow.frequent(demo["order"], counts[-2])
    assert list(kept["count"]) == [e["count"] for e in expected]


def test_variants_view(monkeypatch: pytest.MonkeyPatch, demo_db: Path, demo: dict) -> None:
    at = _page(monkeypatch, demo_db, entity_type="payment", view="Variants")
    table = _frame(at, "variant")
    assert list(table["variant"]) == [" → ".join(v["variant"]) for v in demo["variants"]]
    assert list(table["entities"]) == [v["entities"] for v in demo["variants"]]


@pytest.mark.parametrize("by", ["correlation", "event_id"])
def test_a_link_opens_the_chain(monkeypatch: pytest.MonkeyPatch, demo_db: Path, demo: dict,
                                by: str) -> None:
    at = _page(monkeypatch, demo_db, **{by: demo["corr" if by == "correlation" else "event_id"]})
    chain = demo["chain"]
    assert at.radio(key="view").value == "Chain"
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Events"] == str(len(chain.events))
    assert metrics["Entities"] == str(len(chain.lanes))
    tree = _frame(at, "event")
    assert list(tree["entity"]) == [e.entity_id for e in chain.events]
    assert tree["event"][0] == chain.events[0].event_type


def test_a_missing_parent_and_an_unknown_id_are_shown(monkeypatch: pytest.MonkeyPatch,
                                                      tmp_path: Path) -> None:
    from flow_support import CHAIN_ROWS

    db = flow_db(tmp_path / "c.duckdb", CHAIN_ROWS)
    at = _page(monkeypatch, db, correlation="c1")
    assert any("gone" in w.value for w in at.warning)
    assert any("missing parent gone" in str(v) for v in _frame(at, "event")["event"])
    at = _page(monkeypatch, db, correlation="nope")
    assert any("No event has correlation id 'nope'" in w for w in texts(at.warning))
    at = _page(monkeypatch, db, view="Chain")
    assert any("open one of the latest" in c.value for c in at.caption)


def test_an_empty_store_and_an_empty_range_say_so(monkeypatch: pytest.MonkeyPatch,
                                                  tmp_path: Path) -> None:
    empty = tmp_path / "empty.duckdb"
    EventStore(empty).close()
    at = _page(monkeypatch, empty)
    assert any("no events yet" in i.value for i in at.info)
    db = flow_db(tmp_path / "f.duckdb", [ev("order1", 1, "A", 0), ev("order1", 2, "B", 3600)])
    at = _page(monkeypatch, db)  # events at 09:00 and 10:00 on 2026-05-01, none between
    lo = datetime(2026, 5, 1, 9, 0)
    at.slider(key="range").set_value((lo + timedelta(minutes=10), lo + timedelta(minutes=20)))
    at.run()
    assert not at.exception
    infos = [i.value for i in at.info]
    assert any("No events in this scope" in i for i in infos)
    assert any("No transitions in this scope" in i for i in infos)


def test_the_default_scope_is_one_entity_type(monkeypatch: pytest.MonkeyPatch,
                                              demo_db: Path) -> None:
    at = _page(monkeypatch, demo_db)
    box = at.selectbox(key="entity_type")
    assert box.value == box.options[0] != "(all)" and box.options[-1] == "(all)"
    assert all("all entities" not in c.value for c in at.caption)


def test_the_explore_link_of_a_transition_carries_the_scope() -> None:
    from datetime import UTC

    from eventlab.ui.flow_widgets import explore_filters

    scope = flow.Scope("order", datetime(2025, 3, 3, 10, tzinfo=UTC), None)
    assert explore_filters({"from_type": "^", "to_type": "OrderPlaced"}, scope).to_params() == {
        "follows": "^>OrderPlaced", "etype": "order",
        "from": "2025-03-03T10:00:00+00:00"}
    assert explore_filters({"from_type": "A", "to_type": "$"}, flow.Scope()).to_params() == {
        "follows": "A>$"}


def test_topics_to_groups_graph_with_lag_on_the_edges(monkeypatch: pytest.MonkeyPatch,
                                                      demo_db: Path, kafka_config,
                                                      topic_factory, producer) -> None:
    from kafka import KafkaConsumer, OffsetAndMetadata, TopicPartition

    topic = topic_factory(1)
    p = producer()
    for _ in range(5):
        p.send(topic, key=b"k", value=b"{}").get()
    c = KafkaConsumer(**kafka_config.client_kwargs(), group_id="projector",
                      enable_auto_commit=False)  # a test-only client: EventLab never commits
    try:
        c.commit({TopicPartition(topic, 0): OffsetAndMetadata(2, "", -1)})
    finally:
        c.close(autocommit=False)
    monkeypatch.setenv("EVENTLAB_KAFKA_BOOTSTRAP", kafka_config.bootstrap)
    at = _page(monkeypatch, demo_db, view="Topics → groups")
    [chart] = at.get("plotly_chart")[1:]
    data = json.loads(chart.proto.spec)["data"]
    labels = " ".join(str(t.get("text", "")) + " " + str(t.get("hovertext", "")) for t in data)
    assert "projector" in labels and topic in labels
    notes = [a["text"] for a in json.loads(chart.proto.spec)["layout"]["annotations"]]
    assert "lag 3" in notes  # 5 records, committed up to 2


def test_a_chain_example_reaches_the_url(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from flow_support import CHAIN_ROWS

    db = flow_db(tmp_path / "c.duckdb", CHAIN_ROWS)
    at = _page(monkeypatch, db, view="Chain")
    example = at.button(key="chain_example_0")
    example.click().run()
    assert not at.exception
    corr = at.text_input(key="correlation").value
    assert corr and at.query_params["correlation"] in (corr, [corr])
    assert "Events" in {m.label for m in at.metric}  # the chain is shown
