"""The Explore page's chart: event counts over time, stacked by type."""

from __future__ import annotations

from datetime import timedelta

import plotly.graph_objects as go
import pyarrow as pa

from eventlab.charts.style import empty, layout, single_value_range, type_colors


def counts_over_time(table: pa.Table, bucket: str) -> go.Figure:
    """Stacked bars of event counts per time bucket, one colour per event type (the type's
    colour on every page); the legend beside the plot; a clear empty state."""
    fig = go.Figure()
    fig.update_layout(barmode="stack", xaxis_title=None, yaxis_title="events")
    if not table.num_rows:  # no buckets: a bucket size would name nothing
        return empty(layout(fig, "Events over time", 300, legend="none"),
                     "No events match these filters.")
    title = f"Events per {bucket} (UTC)"
    data = table.to_pydict()
    by_type: dict[str, tuple[list, list]] = {}
    for b, t, n in zip(data["bucket"], data["event_type"], data["events"], strict=True):
        xs, ys = by_type.setdefault(t, ([], []))
        xs.append(b)
        ys.append(n)
    colors = type_colors(by_type)
    span_ms = _width(bucket).total_seconds() * 1000 * 0.9  # a bar covers its bucket
    for t, (xs, ys) in sorted(by_type.items()):
        fig.add_bar(x=xs, y=ys, name=t, marker_color=colors[t], width=span_ms, offset=0)
    one = single_value_range(data["bucket"], pad=_width(bucket) * 2)
    if one is not None:
        fig.update_xaxes(range=one)
    return layout(fig, title, 300, legend="right")


def _width(bucket: str) -> timedelta:
    """The length of a bucket named like `explore.bucket_for`'s ("10 seconds", "1 day")."""
    count, _, unit = bucket.partition(" ")
    unit = unit.rstrip("s") + "s"
    try:
        return timedelta(**{unit: int(count)}) if unit in ("seconds", "minutes", "hours",
                                                            "days") else timedelta(hours=1)
    except ValueError:
        return timedelta(hours=1)
