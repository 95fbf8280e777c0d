"""Charts of the Time travel page: one entity's events by type, and one field's history."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import plotly.graph_objects as go

from eventlab.charts.style import CURRENT, empty, layout, single_value_range, type_colors


def entity_timeline(rows: Sequence[dict[str, Any]], current: int, *, x_title: str,
                    failed: int | None = None) -> go.Figure:
    """One marker per event: x its time (or offset), y its type; the current event ringed.

    `rows` have `index`, `x`, `event_type`, `seq`, `event_id`; `current` and `failed` are
    indexes (the failing event gets a red cross). Rows without an x (no time on this basis)
    are left out; with none left, the figure says so. Each type has its colour
    (`style.type_colors`); the y axis names the types, so there is no legend.
    """
    fig = go.Figure()
    title = "Events of this entity by type"
    rows = [r for r in rows if r["x"] is not None]
    if not rows:
        return empty(layout(fig, title, 148, legend="none"),
                     f"No event here has a value on this basis ({x_title}).")
    by_type: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_type.setdefault(row["event_type"], []).append(row)
    colors = type_colors(by_type)
    for event_type, items in sorted(by_type.items()):
        fig.add_scatter(
            x=[r["x"] for r in items], y=[event_type] * len(items), mode="markers",
            name=event_type, marker={"size": 9, "opacity": 0.8, "color": colors[event_type]},
            customdata=[[r["index"] + 1, r["seq"], r["event_id"]] for r in items],
            hovertemplate="%{y}<br>#%{customdata[0]} · seq %{customdata[1]}<br>%{x}"
                          "<br>%{customdata[2]}<extra></extra>")
    here = [r for r in rows if r["index"] == current]
    if here:
        fig.add_scatter(x=[here[0]["x"]], y=[here[0]["event_type"]], mode="markers",
                        name="current event", hoverinfo="skip",
                        marker={"size": 18, "color": "rgba(0,0,0,0)",
                                "line": {"color": CURRENT, "width": 3}})
        fig.add_vline(x=here[0]["x"], line={"color": CURRENT, "width": 1, "dash": "dot"})
    bad = [r for r in rows if failed is not None and r["index"] == failed]
    if bad:
        fig.add_scatter(x=[bad[0]["x"]], y=[bad[0]["event_type"]], mode="markers",
                        name="reducer failed here", hoverinfo="skip",
                        marker={"size": 16, "symbol": "x", "color": CURRENT})
    fig.update_yaxes(title=None, categoryorder="category descending")
    fig.update_xaxes(title=x_title, range=single_value_range(r["x"] for r in rows))
    return layout(fig, title, 120 + 28 * max(1, len(by_type)), legend="none")


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def field_history(rows: Sequence[dict[str, Any]], path: str, current_x: Any, *,
                  x_title: str) -> go.Figure:
    """The value of one field after each event that changed it, as a step line.

    `rows` have `x`, `value` (a JSON value, None when absent), `seq`, `event_type`. Numbers plot
    on a numeric axis; anything else as text categories. Rows without an x are left out.
    """
    fig = go.Figure()
    rows = [r for r in rows if r["x"] is not None]
    if not rows:
        return empty(layout(fig, f"History of {path}", 200, legend="none"),
                     f"No change of {path} has a value on this basis ({x_title}).")
    values = [r["value"] for r in rows]
    numeric = bool(values) and all(_number(v) or v is None for v in values)
    ys = [v if numeric else ("(absent)" if v is None else _text(v)) for v in values]
    fig.add_scatter(
        x=[r["x"] for r in rows], y=ys, mode="lines+markers", line={"shape": "hv"},
        name=path, customdata=[[r["seq"], r["event_type"]] for r in rows],
        hovertemplate="%{y}<br>seq %{customdata[0]} · %{customdata[1]}<br>%{x}<extra></extra>")
    if current_x is not None:
        fig.add_vline(x=current_x, line={"color": CURRENT, "width": 2, "dash": "dot"})
    fig.update_xaxes(title=x_title, range=single_value_range(r["x"] for r in rows))
    fig.update_yaxes(title=None, type=None if numeric else "category")
    return layout(fig, f"History of {path}", 320, legend="none")


def _text(value: Any, limit: int = 40) -> str:
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"
