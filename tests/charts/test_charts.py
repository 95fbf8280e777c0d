"""The chart builders: pure functions from small tables to plotly figures.

Each test builds a figure from a handful of rows and reads back its traces, shapes and layout,
checking what the docstrings promise (trace per type, stacking, rings, axis types, titles).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import plotly.graph_objects as go
import pyarrow as pa

from eventlab.charts.asof import compare_counts, population_counts
from eventlab.charts.explore import counts_over_time
from eventlab.charts.style import (
    CURRENT,
    MARGIN,
    PALETTE,
    color_for,
    layout,
    type_colors,
)
from eventlab.charts.timetravel import entity_timeline, field_history
from eventlab.demo.domain import EVENT_TYPES

DEMO_TYPES = sorted(EVENT_TYPES)


def _counts(rows: list[tuple[str, str, int]]) -> pa.Table:
    """A counts table as the Explore query returns it: bucket, event_type, events."""
    return pa.table({"bucket": [r[0] for r in rows], "event_type": [r[1] for r in rows],
                     "events": pa.array([r[2] for r in rows], pa.int64())})


def _event(index: int, event_type: str, x: Any = None) -> dict[str, Any]:
    """One row of the entity timeline."""
    return {"index": index, "x": index * 10 if x is None else x, "event_type": event_type,
            "seq": index + 1, "event_id": f"ev-{index}"}


def _history(*values: Any) -> list[dict[str, Any]]:
    """Field-history rows with the given values at x = 1, 2, 3, ..."""
    return [{"x": i + 1, "value": v, "seq": i + 1, "event_type": "Changed"}
            for i, v in enumerate(values)]


def _empty_message(fig: go.Figure) -> str:
    """The text of an empty chart's one annotation."""
    (note,) = fig.layout.annotations
    return note.text


def _trace(fig: go.Figure, name: str) -> Any:
    matches = [t for t in fig.data if t.name == name]
    assert len(matches) == 1, [t.name for t in fig.data]
    return matches[0]


# --- Explore: counts over time ------------------------------------------------------------


def test_counts_stack_one_bar_trace_per_event_type_in_sorted_order() -> None:
    table = _counts([("10:00", "Shipped", 2), ("10:00", "Created", 5), ("11:00", "Created", 3),
                     ("11:00", "Paid", 4), ("12:00", "Shipped", 1)])
    fig = counts_over_time(table, "hour")
    assert [t.type for t in fig.data] == ["bar"] * 3
    assert [t.name for t in fig.data] == ["Created", "Paid", "Shipped"]
    created, paid, shipped = fig.data
    assert (created.x, created.y) == (("10:00", "11:00"), (5, 3))
    assert (paid.x, paid.y) == (("11:00",), (4,))
    assert (shipped.x, shipped.y) == (("10:00", "12:00"), (2, 1))
    assert fig.layout.barmode == "stack"


def test_counts_title_names_the_bucket_and_axis_counts_events() -> None:
    fig = counts_over_time(_counts([("2024-03-01", "A", 1)]), "day")
    assert fig.layout.title.text == "Events per day (UTC)"
    assert fig.layout.yaxis.title.text == "events"
    assert fig.layout.height == 300


def test_counts_of_an_empty_table_is_an_empty_stacked_figure() -> None:
    fig = counts_over_time(_counts([]), "minute")
    assert fig.data == ()
    assert fig.layout.barmode == "stack"
    assert fig.layout.title.text == "Events over time"  # no bucket to name
    assert fig.layout.xaxis.visible is False
    fig.to_json()  # a figure plotly can serialise, as Streamlit does


# --- Time travel: the entity timeline ------------------------------------------------------


def test_timeline_has_one_marker_trace_per_type_with_each_events_x() -> None:
    rows = [_event(0, "Created"), _event(1, "Paid"), _event(2, "Paid"), _event(3, "Shipped")]
    fig = entity_timeline(rows, current=-1, x_title="event time")
    assert [t.name for t in fig.data] == ["Created", "Paid", "Shipped"]
    paid = _trace(fig, "Paid")
    assert paid.mode == "markers"
    assert paid.x == (10, 20) and paid.y == ("Paid", "Paid")
    # the hover shows 1-based positions, the seq and the event id
    assert [list(c) for c in paid.customdata] == [[2, 2, "ev-1"], [3, 3, "ev-2"]]
    assert fig.layout.xaxis.title.text == "event time"


def test_timeline_rings_the_current_event_and_draws_a_line_through_it() -> None:
    rows = [_event(0, "Created"), _event(1, "Paid"), _event(2, "Shipped")]
    fig = entity_timeline(rows, current=1, x_title="offset")
    ring = _trace(fig, "current event")
    assert (ring.x, ring.y) == ((10,), ("Paid",))
    assert ring.marker.line.color == CURRENT and ring.marker.size == 18
    assert ring.marker.color == "rgba(0,0,0,0)"  # a ring, not a dot
    assert [(s.type, s.x0, s.x1) for s in fig.layout.shapes] == [("line", 10, 10)]


def test_timeline_without_the_current_event_has_no_ring_and_no_line() -> None:
    fig = entity_timeline([_event(0, "Created"), _event(1, "Paid")], current=-1, x_title="t")
    assert "current event" not in [t.name for t in fig.data]
    assert fig.layout.shapes == ()


def test_timeline_marks_the_failed_event_with_a_red_x() -> None:
    rows = [_event(0, "Created"), _event(1, "Paid"), _event(2, "Shipped")]
    fig = entity_timeline(rows, current=0, x_title="t", failed=2)
    cross = _trace(fig, "reducer failed here")
    assert (cross.x, cross.y) == ((20,), ("Shipped",))
    assert cross.marker.symbol == "x" and cross.marker.color == CURRENT
    assert "reducer failed here" not in [
        t.name for t in entity_timeline(rows, current=0, x_title="t").data]


def test_timeline_height_grows_with_the_number_of_types() -> None:
    def height(types: list[str]) -> int:
        rows = [_event(i, t) for i, t in enumerate(types)]
        return entity_timeline(rows, current=0, x_title="t").layout.height

    assert height(["A"]) == 148
    assert height(["A", "A", "A"]) == 148  # events of one type share a row
    assert height(["A", "B", "C", "D"]) == 120 + 28 * 4
    assert height(["A", "B", "C", "D"]) > height(["A", "B"])


def test_timeline_of_no_events_is_an_empty_figure_of_the_minimum_height() -> None:
    fig = entity_timeline([], current=0, x_title="t", failed=0)
    assert fig.data == () and fig.layout.shapes == ()
    assert fig.layout.height == 148
    assert fig.layout.title.text == "Events of this entity by type"
    assert _empty_message(fig) == "No event here has a value on this basis (t)."


def test_timeline_without_times_on_the_basis_says_so_instead_of_plotting_indexes() -> None:
    rows = [{**_event(0, "Created"), "x": None}, {**_event(1, "Paid"), "x": None}]  # no kafka_ts
    fig = entity_timeline(rows, current=1, x_title="Kafka time (UTC)")
    assert fig.data == ()
    assert _empty_message(fig) == ("No event here has a value on this basis "
                                   "(Kafka time (UTC)).")
    assert fig.layout.xaxis.visible is False


def test_timeline_of_one_event_shows_an_hour_either_side() -> None:
    at = datetime(2025, 3, 5, 14, 3, tzinfo=UTC)
    fig = entity_timeline([_event(0, "Created", x=at)], current=0, x_title="t")
    assert tuple(fig.layout.xaxis.range) == (at - timedelta(hours=1), at + timedelta(hours=1))
    fig = entity_timeline([_event(0, "Created", x=7)], current=0, x_title="offset")
    assert tuple(fig.layout.xaxis.range) == (6, 8)
    many = entity_timeline([_event(0, "A"), _event(1, "B")], current=0, x_title="t")
    assert many.layout.xaxis.range is None  # plotly's own range when the times differ


def test_timeline_colours_each_type_as_every_chart_does_and_names_types_on_the_axis() -> None:
    rows = [_event(0, "OrderPlaced"), _event(1, "OrderPaid"), _event(2, "OrderPlaced")]
    fig = entity_timeline(rows, current=-1, x_title="t")
    assert _trace(fig, "OrderPlaced").marker.color == color_for("OrderPlaced")
    assert _trace(fig, "OrderPaid").marker.color == color_for("OrderPaid")
    assert fig.layout.showlegend is False  # the y axis already names the types


# --- Time travel: one field's history ------------------------------------------------------


def test_history_of_numbers_plots_on_a_numeric_axis_as_a_step_line() -> None:
    fig = field_history(_history(1, 2.5, None, 4), "total", None, x_title="event time")
    (line,) = fig.data
    assert line.y == (1, 2.5, None, 4) and line.x == (1, 2, 3, 4)
    assert line.mode == "lines+markers" and line.line.shape == "hv"
    assert line.name == "total"
    assert fig.layout.yaxis.type is None  # plotly infers a linear axis
    assert fig.layout.title.text == "History of total"


def test_history_of_other_values_plots_as_text_categories() -> None:
    fig = field_history(_history("placed", None, {"a": 1}, 3), "status", None, x_title="t")
    assert fig.data[0].y == ("placed", "(absent)", "{'a': 1}", "3")
    assert fig.layout.yaxis.type == "category"


def test_history_treats_booleans_as_categories_not_numbers() -> None:
    fig = field_history(_history(True, False, 1), "flag", None, x_title="t")
    assert fig.data[0].y == ("True", "False", "1")
    assert fig.layout.yaxis.type == "category"


def test_history_shortens_long_text_to_forty_characters() -> None:
    fig = field_history(_history("x" * 60, "short"), "note", None, x_title="t")
    long_label = fig.data[0].y[0]
    assert len(long_label) == 40 and long_label == "x" * 39 + "…"
    assert fig.data[0].y[1] == "short"


def test_history_draws_the_current_line_only_when_current_x_is_given() -> None:
    rows = _history(1, 2, 3)
    assert field_history(rows, "n", None, x_title="t").layout.shapes == ()
    shapes = field_history(rows, "n", 2, x_title="t").layout.shapes
    assert [(s.x0, s.x1, s.line.color) for s in shapes] == [(2, 2, CURRENT)]


def test_history_keeps_seq_and_type_for_the_hover() -> None:
    rows = _history(5, 6)
    rows[1]["event_type"] = "Adjusted"
    fig = field_history(rows, "n", None, x_title="t")
    assert [list(c) for c in fig.data[0].customdata] == [[1, "Changed"], [2, "Adjusted"]]


def test_history_of_no_rows_is_a_valid_empty_figure() -> None:
    fig = field_history([], "n", None, x_title="t")
    assert fig.data == () and fig.layout.shapes == ()
    assert _empty_message(fig) == "No change of n has a value on this basis (t)."
    fig.to_json()


def test_history_of_one_change_shows_a_range_around_it() -> None:
    fig = field_history(_history(5), "n", 1, x_title="offset")
    assert tuple(fig.layout.xaxis.range) == (0, 2)


# --- As of: population counts -------------------------------------------------------------


def test_population_bars_count_entities_per_value_as_categories() -> None:
    rows = [{"value": "paid", "entities": 7}, {"value": None, "entities": 2},
            {"value": 3, "entities": 1}]
    fig = population_counts(rows, "status", "2026-05-01 09:00")
    (bars,) = fig.data
    assert bars.type == "bar" and bars.name == "2026-05-01 09:00"
    assert bars.x == ("paid", "None", "3") and bars.y == (7, 2, 1)
    assert fig.layout.xaxis.type == "category" and fig.layout.xaxis.title.text == "status"
    assert fig.layout.yaxis.title.text == "entities"
    assert fig.layout.title.text == "Entities by status as of 2026-05-01 09:00"
    assert fig.layout.height == 340


def test_compare_counts_groups_the_two_times_side_by_side() -> None:
    rows = [{"value": "paid", "at_t1": 3, "at_t2": 5}, {"value": "open", "at_t1": 4, "at_t2": 0}]
    fig = compare_counts(rows, "status", "09:00", "10:00")
    assert [t.name for t in fig.data] == ["T1 09:00", "T2 10:00"]
    first, second = fig.data
    assert first.x == second.x == ("paid", "open")
    assert (first.y, second.y) == ((3, 4), (5, 0))
    assert fig.layout.barmode == "group"
    assert fig.layout.title.text == "Entities by status: T1 vs T2"


def test_as_of_charts_of_no_rows_say_there_is_nothing() -> None:
    fig = population_counts([], "status", "now")
    assert fig.data == () and _empty_message(fig) == "No entity has events by now."
    fig = compare_counts([], "status", "a", "b")
    assert fig.data == () and _empty_message(fig) == "No entity has events by a or by b."


# --- The shared style ------------------------------------------------------------------------


def test_layout_sets_title_height_margins_legend_and_hover() -> None:
    fig = go.Figure()
    assert layout(fig, "Some title", 222) is fig
    assert fig.layout.title.text == "Some title" and fig.layout.title.font.size == 14
    assert fig.layout.height == 222
    margin = fig.layout.margin
    assert {"l": margin.l, "r": margin.r, "t": margin.t, "b": margin.b} == MARGIN
    assert fig.layout.hovermode == "closest"


def _outside_the_plot(fig: go.Figure) -> bool:
    """The legend sits above the plot area or right of it (never over the x axis's labels,
    which lie below it), or there is none."""
    legend = fig.layout.legend
    if fig.layout.showlegend is False:
        return True
    above = legend.y is not None and legend.y >= 1 and legend.yanchor == "bottom"
    beside = legend.x is not None and legend.x >= 1 and legend.xanchor == "left"
    return above or beside


def test_no_legend_covers_the_x_axis() -> None:
    at = datetime(2025, 3, 5, tzinfo=UTC)
    figures = [
        layout(go.Figure(), "t", 200),
        layout(go.Figure(), "t", 200, legend="right"),
        counts_over_time(_counts([(at, "A", 1), (at + timedelta(days=1), "B", 2)]), "1 day"),
        entity_timeline([_event(0, "A", at), _event(1, "B", at)], current=0, x_title="t"),
        field_history(_history(1, 2), "n", None, x_title="t"),
        population_counts([{"value": "paid", "entities": 7}], "status", "now"),
        compare_counts([{"value": "paid", "at_t1": 3, "at_t2": 5}], "status", "a", "b"),
    ]
    for fig in figures:
        assert _outside_the_plot(fig), fig.layout.legend
    assert layout(go.Figure(), "t", 200).layout.legend.y == 1.02
    assert counts_over_time(_counts([(at, "A", 1)]), "1 day").layout.legend.x == 1.01


# --- Event-type colours ------------------------------------------------------------------------


def test_the_palette_has_a_distinct_colour_for_each_of_the_demo_types() -> None:
    assert len(DEMO_TYPES) == 17
    assert len(set(PALETTE)) == len(PALETTE) >= 17
    assert CURRENT not in PALETTE  # red stays for "current" and "failed"
    colours = {t: color_for(t) for t in DEMO_TYPES}
    assert len(set(colours.values())) == 17  # every demo type its own colour
    assert type_colors(DEMO_TYPES) == colours  # so a chart never has to move one


def test_a_type_keeps_its_colour_whatever_else_is_on_the_chart() -> None:
    alone = type_colors(["OrderPaid"])
    with_others = type_colors(["OrderPaid", "OrderPlaced", "PaymentFailed"])
    assert alone["OrderPaid"] == with_others["OrderPaid"] == color_for("OrderPaid")
    assert color_for("OrderPaid") == color_for("OrderPaid")  # deterministic, no state


def test_types_of_one_chart_that_hash_alike_still_get_different_colours() -> None:
    names = [f"T{i}" for i in range(200)]
    clash = next((a, b) for i, a in enumerate(names) for b in names[i + 1:]
                 if color_for(a) == color_for(b))
    colours = type_colors(clash)
    assert len(set(colours.values())) == 2
    assert colours[min(clash)] == color_for(min(clash))  # the first by name keeps its own
    many = type_colors(names[: len(PALETTE)])
    assert len(set(many.values())) == len(PALETTE)


def test_explore_bars_use_the_type_colours_and_say_when_nothing_matches() -> None:
    at = datetime(2025, 3, 5, tzinfo=UTC)
    fig = counts_over_time(_counts([(at, "OrderPlaced", 2), (at, "OrderPaid", 1)]), "1 hour")
    assert _trace(fig, "OrderPlaced").marker.color == color_for("OrderPlaced")
    assert _trace(fig, "OrderPaid").marker.color == color_for("OrderPaid")
    # each bar covers (90% of) its bucket, from the bucket's start, whatever the gaps between
    assert _trace(fig, "OrderPaid").width == 3_600_000 * 0.9
    assert _trace(fig, "OrderPaid").offset == 0
    # one bucket: a range of two buckets each side, not a sliver
    assert tuple(fig.layout.xaxis.range) == (at - timedelta(hours=2), at + timedelta(hours=2))
    assert _empty_message(counts_over_time(_counts([]), "1 day")) == (
        "No events match these filters.")
