"""The Consumers page's charts, from hand-made tables: lines per partition, estimated marks,
and the topic → group graph with the lag on each edge."""

from __future__ import annotations

from datetime import UTC, datetime

import pyarrow as pa

from eventlab.charts.lag import duration_ticks, lag_over_time, topic_group_graph


def _history() -> pa.Table:
    t0, t1 = datetime(2026, 12, 1, 10, 0, tzinfo=UTC), datetime(2026, 12, 1, 10, 0, 10,
                                                                 tzinfo=UTC)
    return pa.table({"sampled_at": [t0, t0, t1, t1], "series": ["a/0", "a/1", "a/0", "a/1"],
                     "lag": [5, None, 8, None], "lag_seconds": [1.0, None, 30.0, None],
                     "estimated": [False, False, True, False]})


def test_lag_over_time_draws_one_line_per_partition() -> None:
    fig = lag_over_time(_history(), "lag")
    assert [t.name for t in fig.data] == ["a/0", "a/1"]
    assert list(fig.data[0].y) == [5, 8]
    assert list(fig.data[1].y) == [None, None]  # no commit: a gap, never 0
    assert fig.layout.yaxis.title.text == "records behind"


def test_estimated_seconds_are_hollow_marks() -> None:
    fig = lag_over_time(_history(), "lag_seconds")
    assert list(fig.data[0].marker.symbol) == ["circle", "circle-open"]
    assert fig.layout.title.text == "Lag over time (seconds behind)"


def test_seconds_behind_read_as_durations_on_the_axis() -> None:
    fig = lag_over_time(_history(), "lag_seconds")
    assert list(fig.layout.yaxis.ticktext) == ["0", "10.0 s", "20.0 s", "30.0 s"]
    assert list(fig.layout.yaxis.tickvals) == [0, 10, 20, 30]
    assert duration_ticks(55 * 86400)[1][-1] == "60.0 d"
    assert duration_ticks(4000)[1] == ["0", "15.0 min", "30.0 min", "45.0 min", "60.0 min",
                                       "75.0 min"]
    assert lag_over_time(_history(), "lag").layout.yaxis.ticktext is None


def test_lag_legends_sit_beside_the_plot_not_over_the_title() -> None:
    for value in ("lag", "lag_seconds"):
        legend = lag_over_time(_history(), value).layout.legend
        assert legend.orientation == "v" and legend.x > 1


def test_topic_group_graph_labels_each_edge_with_its_lag() -> None:
    fig = topic_group_graph({("orders", "billing"): 1200, ("orders", "search"): 0,
                             ("payments", "billing"): None})
    labels = sorted(a.text for a in fig.layout.annotations)
    assert labels == ["lag 0", "lag 1,200", "no commit"]
    nodes = {t.name: list(t.text) for t in fig.data if t.name}
    assert nodes == {"topics": ["orders", "payments"], "consumer groups": ["billing", "search"]}
    edges = [t for t in fig.data if not t.name]
    assert len(edges) == 3
