"""Figures as HTML for a self-contained report: plotly.js is embedded once, inline, so the file
opens offline and asks no other host for anything (docs/safety.md, item 30)."""

from __future__ import annotations

import plotly.graph_objects as go
import plotly.offline


def plotly_js() -> str:
    """The plotly.js library as one inline `<script>` element."""
    return f'<script type="text/javascript">{plotly.offline.get_plotlyjs()}</script>'


def figure_div(fig: go.Figure) -> str:
    """A figure as a `<div>` for a page that includes `plotly_js()` once."""
    return fig.to_html(full_html=False, include_plotlyjs=False, include_mathjax=False,
                       config={"displaylogo": False, "showLink": False})
