"""Figures as HTML for a self-contained report: plotly.js is embedded once, inline, so the file
opens offline and asks no other host for anything (docs/safety.md, item 30)."""

from __future__ import annotations

import plotly.graph_objects as go
import plotly.offline


def plotly_js() -> str:
    """The plotly.js library as one inline `<script>` element."""
    return f'<script type="text/javascript">{plotly.offline.get_plotlyjs()}</script>'


REPORT_MARGIN = {"l": 60, "r": 20, "t": 60, "b": 50}
"""A report page is wider and has no app around it: room for long tick labels (axes grow
further by themselves) and for the title above a legend."""


def figure_div(fig: go.Figure) -> str:
    """A figure as a `<div>` for a page that includes `plotly_js()` once. Axes make room for
    their tick labels, the title sits at the top of the figure, apart from the plot."""
    fig = go.Figure(fig)
    fig.update_xaxes(automargin=True)
    fig.update_yaxes(automargin=True)
    fig.update_layout(margin={k: max(v, (fig.layout.margin[k] or 0))
                              for k, v in REPORT_MARGIN.items()},
                      title={"y": 0.98, "yref": "container", "yanchor": "top", "x": 0,
                             "xref": "paper", "xanchor": "left"})
    return fig.to_html(full_html=False, include_plotlyjs=False, include_mathjax=False,
                       config={"displaylogo": False, "showLink": False})
