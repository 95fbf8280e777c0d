"""The Flow page's figures, built from small hand-made inputs without Streamlit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pyarrow as pa

from eventlab.charts import explore
from eventlab.charts import flow as charts
from eventlab.charts.style import PALETTE, _slot, color_for
from eventlab.flow import END, START, ChainEvent, build_chain, duration

T0 = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)


def test_rates_stack_one_coloured_trace_per_type() -> None:
    table = pa.table({"bucket": [T0, T0, T0 + timedelta(hours=1)],
                      "event_type": ["A", "B", "A"], "events": [4, 2, 6]})
    fig = charts.rates(table, "1 hour", 3600)
    assert fig.layout.barmode == "stack"
    assert [(t.name, list(t.y)) for t in fig.data] == [("A", [4, 6]), ("B", [2])]
    assert fig.data[0].marker.color == color_for("A")  # the one colour of A on every page
    assert list(fig.data[0].customdata) == [4 / 3600, 6 / 3600]
    assert charts.rates(table.slice(0, 0), "1 hour", 3600).data == ()


def test_the_sankey_has_start_and_end_nodes_and_pair_counts() -> None:
    edges = [{"from_type": START, "to_type": "A", "count": 3, "median_seconds": None,
              "p95_seconds": None},
             {"from_type": "A", "to_type": "B", "count": 2, "median_seconds": 1.5,
              "p95_seconds": 300.0},
             {"from_type": "A", "to_type": END, "count": 1},
             {"from_type": "B", "to_type": END, "count": 2}]
    fig = charts.sankey(edges, {START: 3, "A": 3, "B": 2, END: 3})
    sankey = fig.data[0]
    assert list(sankey.node.label) == ["▶ start (3)", "A (3)", "B (2)", "■ end (3)"]
    assert list(sankey.link.source) == [0, 1, 1, 2]
    assert list(sankey.link.target) == [1, 2, 3, 3]
    assert list(sankey.link.value) == [3, 2, 1, 2]
    assert list(sankey.link.customdata[1]) == ["A", "B", "1.5 s", "5.0 min"]


def test_a_self_transition_is_counted_on_its_node_not_drawn_as_a_box() -> None:
    edges = [{"from_type": START, "to_type": "A", "count": 3},
             {"from_type": "A", "to_type": "A", "count": 5},
             {"from_type": "A", "to_type": END, "count": 3}]
    sankey = charts.sankey(edges, {START: 3, "A": 8, END: 3}).data[0]
    assert list(sankey.node.label) == ["▶ start (3)", "A (8) ↻ 5", "■ end (3)"]
    assert [(s, t) for s, t in zip(sankey.link.source, sankey.link.target, strict=True)] == \
        [(0, 1), (1, 2)]
    assert sankey.textfont.color == "#111111" and sankey.node.pad >= 20


def _colliding() -> list[str]:
    """Two event type names that hash to the same palette colour."""
    seen: dict[int, str] = {}
    for i in range(1000):
        name = f"Type{i}"
        if _slot(name) in seen:
            return [seen[_slot(name)], name]
        seen[_slot(name)] = name
    raise AssertionError("no collision in 1000 names")


def test_flow_colours_each_type_as_explore_does() -> None:
    a, b = _colliding()
    table = pa.table({"bucket": [T0, T0], "event_type": [a, b], "events": [1, 1]})
    want = {t.name: t.marker.color for t in explore.counts_over_time(table, "1 hour").data}
    assert len(set(want.values())) == 2 and set(want.values()) <= set(PALETTE)
    assert {t.name: t.marker.color for t in charts.rates(table, "1 hour", 3600).data} == want
    edges = [{"from_type": START, "to_type": a, "count": 1}, {"from_type": a, "to_type": b,
                                                              "count": 1}]
    nodes = charts.sankey(edges, {}).data[0].node
    assert list(nodes.color)[1:] == [want[a], want[b]]


def test_flow_legends_sit_beside_the_plot_not_over_the_title() -> None:
    table = pa.table({"bucket": [T0], "event_type": ["A"], "events": [1]})
    chain = build_chain("c", [_event("e1", "a", 0, None), _event("e2", "b", 5, "e1")])
    for fig in (charts.rates(table, "1 hour", 3600), charts.swimlane(chain)):
        assert fig.layout.legend.orientation == "v" and fig.layout.legend.x > 1


def _event(eid: str, entity: str, second: int, cause: str | None) -> ChainEvent:
    return ChainEvent(eid, "t", entity, "Did" + entity, 1, T0 + timedelta(seconds=second),
                      None, "c", cause)


def test_the_swimlane_has_a_lane_per_entity_and_one_for_missing_parents() -> None:
    chain = build_chain("c", [_event("e1", "a", 0, None), _event("e2", "b", 5, "e1"),
                              _event("e3", "a", 9, "gone")])
    fig = charts.swimlane(chain)
    assert list(fig.layout.yaxis.categoryarray) == [charts.MISSING_LANE, "b", "a"]
    arrows = [(a.ay, a.y) for a in fig.layout.annotations]
    assert arrows == [("a", "b"), (charts.MISSING_LANE, "a")]
    missing = [t for t in fig.data if t.name == "missing parent"][0]
    assert list(missing.customdata) == ["gone"] and list(missing.y) == [charts.MISSING_LANE]


def test_durations_read_like_people_write_them() -> None:
    assert [duration(s) for s in (None, 0.25, 12.34, 600, 9000, 259200)] == [
        "—", "250 ms", "12.3 s", "10.0 min", "2.5 h", "3.0 d"]
