"""The Flow page's charts: event rates stacked by type, the directly-follows graph as a Sankey,
and a correlation chain as a swimlane timeline (one lane per entity)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import plotly.graph_objects as go
import pyarrow as pa

from eventlab.charts import style
from eventlab.charts.style import type_colors
from eventlab.flow import END, START, Chain, duration

MISSING_LANE = "(missing parent)"
ARROWS = 150
"""Up to this many cause -> effect links are drawn as arrows; more as plain lines."""


def _rgba(hex_colour: str, alpha: float) -> str:
    h = hex_colour.lstrip("#")
    r, g, b = (int(h[i:i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r},{g},{b},{alpha})"


def rates(table: pa.Table, bucket: str, seconds: int) -> go.Figure:
    """Stacked bars: events per bucket, one colour per event type; hover shows per second."""
    fig = go.Figure()
    by_type: dict[str, tuple[list, list]] = {}
    data = table.to_pydict() if table.num_rows else {"bucket": [], "event_type": [],
                                                      "events": []}
    for b, t, n in zip(data["bucket"], data["event_type"], data["events"], strict=True):
        xs, ys = by_type.setdefault(t, ([], []))
        xs.append(b)
        ys.append(n)
    colors = type_colors(by_type)
    for t, (xs, ys) in sorted(by_type.items()):
        fig.add_bar(x=xs, y=ys, name=t, marker_color=colors[t],
                    customdata=[n / seconds for n in ys],
                    hovertemplate="%{fullData.name}<br>%{x}<br>%{y:,} events "
                                  "(%{customdata:.3g}/s)<extra></extra>")
    fig = style.layout(fig, f"Events per {bucket} (UTC), by type", 320, legend="right")
    fig.update_layout(barmode="stack", xaxis_title=None, yaxis_title=f"events per {bucket}",
                      legend_traceorder="normal")
    return fig


def node_label(node: str) -> str:
    """How START and END read on the page (other nodes are their event type)."""
    return {START: "▶ start", END: "■ end"}.get(node, node)


def sankey(edges: Sequence[Mapping[str, Any]], node_counts: Mapping[str, int],
           title: str = "Directly-follows transitions") -> go.Figure:
    """The transitions as a Sankey: START and END are nodes of their own, link width is the
    number of pairs, the hover shows median and p95 time between. A self-transition (A → A)
    cannot be drawn as a Sankey link (plotly draws a hollow box): it is counted on its node's
    label ("↻ 12") and listed in the transitions table. Labels are dark on a light outline,
    with room between nodes."""
    repeats = {e["from_type"]: e["count"] for e in edges if e["from_type"] == e["to_type"]}
    edges = [e for e in edges if e["from_type"] != e["to_type"]]
    used = {n for e in edges for n in (e["from_type"], e["to_type"])} | set(repeats)
    nodes = [n for n in dict.fromkeys([START, *sorted(used - {START, END}), END]) if n in used]
    index = {n: i for i, n in enumerate(nodes)}
    colors = type_colors(n for n in nodes if n not in (START, END))
    colours = ["#444444" if n in (START, END) else colors[n] for n in nodes]
    labels = [f"{node_label(n)} ({node_counts.get(n, 0):,})"
              + (f" ↻ {repeats[n]:,}" if n in repeats else "") for n in nodes]
    fig = go.Figure(go.Sankey(
        arrangement="snap", textfont={"color": "#111111", "size": 12},
        node={"label": labels, "color": colours, "pad": 22, "thickness": 14,
              "line": {"color": "#ffffff", "width": 0.5},
              "hovertemplate": "%{label}<extra></extra>"},
        link={"source": [index[e["from_type"]] for e in edges],
              "target": [index[e["to_type"]] for e in edges],
              "value": [e["count"] for e in edges],
              "color": [_rgba(colours[index[e["from_type"]]], 0.35) for e in edges],
              "customdata": [[node_label(e["from_type"]), node_label(e["to_type"]),
                              duration(e.get("median_seconds")),
                              duration(e.get("p95_seconds"))] for e in edges],
              "hovertemplate": "%{customdata[0]} → %{customdata[1]}<br>%{value:,} pairs<br>"
                               "median %{customdata[2]} · p95 %{customdata[3]}"
                               "<extra></extra>"}))
    return style.layout(fig, title, max(520, 34 * len(nodes)))


def swimlane(chain: Chain) -> go.Figure:
    """A chain on a time axis, one lane per entity; arrows from cause to effect; missing
    parents as crosses on a lane of their own, before the events they caused."""
    fig = go.Figure()
    lanes = list(chain.lanes)
    where = {e.event_id: (e.ts, e.entity_id) for e in chain.events}
    missing_at: dict[str, Any] = {}
    for e in chain.events:
        if e.causation_id in chain.missing_parents:
            t = missing_at.get(e.causation_id)
            missing_at[e.causation_id] = e.ts if t is None else min(t, e.ts)
    if missing_at:
        lanes.append(MISSING_LANE)
        for mid, ts in missing_at.items():
            where[mid] = (ts, MISSING_LANE)
    links = [(where[e.causation_id], where[e.event_id]) for e in chain.events
             if e.causation_id in where]
    if len(links) <= ARROWS:
        for (t0, l0), (t1, l1) in links:
            fig.add_annotation(x=t1, y=l1, ax=t0, ay=l0, xref="x", yref="y", axref="x",
                               ayref="y", showarrow=True, arrowhead=2, arrowsize=1,
                               arrowwidth=1, arrowcolor="#999999", standoff=7, text="")
    elif links:
        xs = [t for (t0, _), (t1, _) in links for t in (t0, t1, None)]
        ys = [lane for (_, l0), (_, l1) in links for lane in (l0, l1, None)]
        fig.add_scatter(x=xs, y=ys, mode="lines", line={"color": "#999999", "width": 1},
                        hoverinfo="skip", showlegend=False, name="caused")
    # Labels alternate above and below along each lane, so neighbours do not overprint.
    place: dict[str, str] = {}
    per_lane: dict[str, int] = {}
    for e in sorted(chain.events, key=lambda e: (e.ts, e.seq)):
        n = per_lane.get(e.entity_id, 0)
        per_lane[e.entity_id] = n + 1
        place[e.event_id] = "top center" if n % 2 == 0 else "bottom center"
    by_type: dict[str, list] = {}
    for e in chain.events:
        by_type.setdefault(e.event_type, []).append(e)
    colors = type_colors(by_type)
    for t, evs in sorted(by_type.items()):
        fig.add_scatter(
            x=[e.ts for e in evs], y=[e.entity_id for e in evs], mode="markers+text",
            name=t, text=[t for _ in evs], textposition=[place[e.event_id] for e in evs],
            marker={"color": colors[t], "size": 12,
                    "symbol": ["circle" if e.in_correlation else "circle-open" for e in evs]},
            customdata=[[e.event_id, e.seq, e.topic or "—"] for e in evs],
            hovertemplate="%{fullData.name}<br>%{y} · seq %{customdata[1]}<br>%{x}<br>"
                          "event %{customdata[0]}<br>topic %{customdata[2]}<extra></extra>")
    if missing_at:
        fig.add_scatter(x=list(missing_at.values()), y=[MISSING_LANE] * len(missing_at),
                        mode="markers", name="missing parent",
                        marker={"color": "#d62728", "size": 12, "symbol": "x"},
                        customdata=list(missing_at), hovertemplate="missing parent "
                        "%{customdata}<br>(not in the store)<extra></extra>")
    fig.update_yaxes(categoryorder="array", categoryarray=list(reversed(lanes)), title=None,
                     range=[-0.7, len(lanes) - 0.3])
    fig.update_xaxes(title=None)
    return style.layout(fig, f"Chain {chain.correlation_id}: {len(chain.events)} events on "
                             f"{len(chain.lanes)} entities", 140 + 60 * len(lanes),
                        legend="right")
