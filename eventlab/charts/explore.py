"""The Explore page's chart: event counts over time, stacked by type."""

from __future__ import annotations

import plotly.graph_objects as go
import pyarrow as pa


def counts_over_time(table: pa.Table, bucket: str) -> go.Figure:
    """Stacked bars of event counts per time bucket, one colour per event type."""
    fig = go.Figure()
    if table.num_rows:
        data = table.to_pydict()
        by_type: dict[str, tuple[list, list]] = {}
        for b, t, n in zip(data["bucket"], data["event_type"], data["events"], strict=True):
            xs, ys = by_type.setdefault(t, ([], []))
            xs.append(b)
            ys.append(n)
        for t, (xs, ys) in sorted(by_type.items()):
            fig.add_bar(x=xs, y=ys, name=t)
    fig.update_layout(barmode="stack", height=300, margin={"l": 10, "r": 10, "t": 30, "b": 10},
                      title={"text": f"Events per {bucket} (UTC)", "font": {"size": 14}},
                      legend={"orientation": "h", "y": -0.25}, xaxis_title=None,
                      yaxis_title="events")
    return fig
