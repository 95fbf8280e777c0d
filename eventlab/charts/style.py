"""The look every EventLab chart shares: margins, title, legend, the colour of "current"."""

from __future__ import annotations

import plotly.graph_objects as go

MARGIN = {"l": 10, "r": 10, "t": 36, "b": 10}
CURRENT = "#d62728"


def layout(fig: go.Figure, title: str, height: int) -> go.Figure:
    """Title, height, margins, a horizontal legend below, hover on the nearest point."""
    fig.update_layout(height=height, margin=MARGIN, title={"text": title, "font": {"size": 14}},
                      legend={"orientation": "h", "y": -0.2}, hovermode="closest")
    return fig
