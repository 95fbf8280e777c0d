"""Charts of the As of page: entities per value of a field, at one time and at two."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import plotly.graph_objects as go

from eventlab.charts.style import empty, layout


def population_counts(rows: Sequence[dict[str, Any]], field: str, at_label: str) -> go.Figure:
    """Bars: how many entities have each value of a field (`rows`: value, entities)."""
    fig = go.Figure()
    if not rows:
        return empty(layout(fig, f"Entities by {field} as of {at_label}", 340, legend="none"),
                     f"No entity has events by {at_label}.")
    fig.add_bar(x=[str(r["value"]) for r in rows], y=[r["entities"] for r in rows],
                name=at_label, hovertemplate="%{x}: %{y:,} entities<extra></extra>")
    fig.update_xaxes(title=field, type="category")
    fig.update_yaxes(title="entities")
    return layout(fig, f"Entities by {field} as of {at_label}", 340, legend="none")


def compare_counts(rows: Sequence[dict[str, Any]], field: str, t1: str, t2: str) -> go.Figure:
    """Grouped bars of the counts per value at T1 and T2 (`rows`: value, at_t1, at_t2)."""
    fig = go.Figure()
    if not rows:
        return empty(layout(fig, f"Entities by {field}: T1 vs T2", 340, legend="none"),
                     f"No entity has events by {t1} or by {t2}.")
    xs = [str(r["value"]) for r in rows]
    fig.add_bar(x=xs, y=[r["at_t1"] for r in rows], name=f"T1 {t1}")
    fig.add_bar(x=xs, y=[r["at_t2"] for r in rows], name=f"T2 {t2}")
    fig.update_layout(barmode="group")
    fig.update_xaxes(title=field, type="category")
    fig.update_yaxes(title="entities")
    return layout(fig, f"Entities by {field}: T1 vs T2", 340)
