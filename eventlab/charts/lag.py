"""The Consumers page's charts: lag over time per partition (records or seconds), and the
topic → consumer group graph with each group's lag on the edge."""

from __future__ import annotations

from collections.abc import Mapping

import plotly.graph_objects as go
import pyarrow as pa

from eventlab.charts.style import layout
from eventlab.flow import duration

_STEPS = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 3 * 3600, 6 * 3600,
          12 * 3600, 86400, 2 * 86400, 7 * 86400, 30 * 86400, 365 * 86400)
"""Tick spacings of a seconds axis: whole seconds, minutes, hours, days."""


def duration_ticks(top: float, ticks: int = 5) -> tuple[list[float], list[str]]:
    """Tick positions from 0 to at least `top` seconds, about `ticks` of them, labelled as
    durations ("30.0 s", "5.0 min", "2.0 h") rather than raw seconds."""
    step = next((s for s in _STEPS if s * ticks >= top), _STEPS[-1])
    if top > step * ticks:
        step = top / ticks
    count = max(1, int(-(-top // step)))
    values = [step * i for i in range(count + 1)]
    return values, [duration(v) if v else "0" for v in values]


def lag_over_time(table: pa.Table, value: str = "lag", title: str | None = None) -> go.Figure:
    """One line per partition (`series`) of `value` ("lag" or "lag_seconds") over
    `sampled_at`; estimated seconds are drawn as hollow markers."""
    fig = go.Figure()
    top = 0.0
    if table.num_rows and value in table.column_names:
        data = table.to_pydict()
        lines: dict[str, tuple[list, list, list]] = {}
        estimated = data.get("estimated") or [False] * table.num_rows
        for at, s, v, est in zip(data["sampled_at"], data["series"], data[value], estimated,
                                 strict=True):
            xs, ys, marks = lines.setdefault(s, ([], [], []))
            xs.append(at)
            ys.append(v)
            marks.append("circle-open" if est and value == "lag_seconds" else "circle")
        for name, (xs, ys, marks) in sorted(lines.items()):
            fig.add_scatter(x=xs, y=ys, name=name, mode="lines+markers",
                            marker={"symbol": marks, "size": 5}, connectgaps=False)
            top = max([top, *(y for y in ys if y is not None)])
    unit = "seconds behind" if value == "lag_seconds" else "records behind"
    fig.update_yaxes(title=unit, rangemode="tozero")
    if value == "lag_seconds" and top > 0:
        values, labels = duration_ticks(top)
        fig.update_yaxes(title="time behind", tickvals=values, ticktext=labels,
                         range=[0, values[-1] * 1.02])
    return layout(fig, title or f"Lag over time ({unit})", 280, legend="right")


def topic_group_graph(edges: Mapping[tuple[str, str], int | None]) -> go.Figure:
    """Topics on the left, groups on the right, one edge per (topic, group) labelled with that
    group's lag on the topic (records; "no commit" when it never committed there)."""
    topics = sorted({t for t, _ in edges})
    groups = sorted({g for _, g in edges})
    fig = go.Figure()

    def y(items: list[str], name: str) -> float:
        n = len(items)
        return 0.5 if n == 1 else 1 - items.index(name) / (n - 1)

    for (t, g), lag in sorted(edges.items()):
        y0, y1 = y(topics, t), y(groups, g)
        fig.add_scatter(x=[0, 1], y=[y0, y1], mode="lines", showlegend=False,
                        hoverinfo="skip", line={"width": 1 + min(6, (lag or 0) ** 0.25),
                                                "color": "#999" if not lag else "#d62728"})
        fig.add_annotation(x=0.5, y=(y0 + y1) / 2, showarrow=False, bgcolor="white",
                           text="no commit" if lag is None else f"lag {lag:,}")
    fig.add_scatter(x=[0] * len(topics), y=[y(topics, t) for t in topics], mode="markers+text",
                    text=topics, textposition="middle left", name="topics",
                    marker={"size": 14, "symbol": "square", "color": "#1f77b4"})
    fig.add_scatter(x=[1] * len(groups), y=[y(groups, g) for g in groups], mode="markers+text",
                    text=groups, textposition="middle right", name="consumer groups",
                    marker={"size": 14, "color": "#2ca02c"})
    fig.update_xaxes(visible=False, range=[-0.6, 1.6])
    fig.update_yaxes(visible=False, range=[-0.15, 1.15])
    return layout(fig, "Topics → consumer groups (lag in records)",
                  max(220, 60 * max(len(topics), len(groups), 1)))
