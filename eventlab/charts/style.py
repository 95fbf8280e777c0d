"""The look every EventLab chart shares: margins, title, legend placement, the colour of
"current", one colour per event type (the same on every page), and the empty state.

Event-type colours: `color_for(event_type)` is the type's own colour, picked from `PALETTE`
by a stable hash of its name, so a type looks the same on every chart whatever else is
drawn beside it. `type_colors(types)` gives the colours for one chart: each type its own
colour, and only when two types of that chart hash to the same colour does the later one (in
name order) take the next free one. The hash's salt is chosen so that the demo shop's 17
event types all get different colours (tests/charts/test_charts.py checks it), so for them
`type_colors` never has to move one.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Literal

import plotly.graph_objects as go

MARGIN = {"l": 10, "r": 10, "t": 36, "b": 10}
CURRENT = "#d62728"
"""The current position and the failing event (red); no event type uses a red."""

PALETTE: tuple[str, ...] = (
    "#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22",
    "#17becf", "#f3c300", "#003f5c", "#a1caf1", "#008856", "#e68fac", "#604e97", "#882d17",
    "#8db600", "#2b3d26", "#f99379", "#c2b280", "#b3446c", "#00a08b", "#222a2a", "#d9a5ff",
)
"""24 clearly different colours (Tableau 10 without its red, then Kelly's contrast colours)."""
_SALT = b"2484"  # makes the demo shop's 17 event types hash to 17 different colours

Legend = Literal["top", "right", "none"]


def _slot(event_type: str) -> int:
    digest = hashlib.blake2s(event_type.encode(), digest_size=4, salt=_SALT).digest()
    return int.from_bytes(digest, "big") % len(PALETTE)


def color_for(event_type: str) -> str:
    """The colour of an event type on every chart (deterministic: a hash of its name)."""
    return PALETTE[_slot(event_type)]


def type_colors(types: Iterable[str]) -> dict[str, str]:
    """A colour per event type for one chart: each its `color_for` colour unless another
    type of the same chart already has it (then the next free one; names in sorted order).
    Distinct while there are at most `len(PALETTE)` types; beyond, colours repeat."""
    out: dict[str, str] = {}
    used: set[int] = set()
    for event_type in sorted(set(types)):
        slot = _slot(event_type)
        if len(used) < len(PALETTE):
            while slot in used:
                slot = (slot + 1) % len(PALETTE)
        used.add(slot)
        out[event_type] = PALETTE[slot]
    return out


def layout(fig: go.Figure, title: str, height: int, *, legend: Legend = "top") -> go.Figure:
    """Title, height, margins and hover on the nearest point; the legend outside the plot
    area (above it on the right, or beside it on the right), so it never covers the x axis's
    labels or title."""
    placements = {
        "top": {"orientation": "h", "x": 1, "xanchor": "right", "y": 1.02,
                "yanchor": "bottom"},
        "right": {"orientation": "v", "x": 1.01, "xanchor": "left", "y": 1, "yanchor": "top"},
    }
    fig.update_layout(height=height, margin=MARGIN,
                      title={"text": chart_text(title), "font": {"size": 14}},
                      hovermode="closest", showlegend=legend != "none",
                      legend=placements.get(legend, {}))
    return inert_figure(fig)


TEXT_LIMIT = 200
"""Longest data string a chart draws (legend entry, tick label, node label); longer ones are cut."""
_TRACE_TEXT = ("name", "text", "hovertext", "x", "y", "labels", "ids", "customdata")
_AXIS_TEXT = ("categoryarray", "ticktext")


def chart_text(value: object) -> object:
    """A data value as plotly shows it literally. Plotly reads `<a href>`, `<b>`, `<br>`,
    `<span style>` and entities in names, tick labels, titles, text and hover values, so a
    value holding `<a href="http://host">` would be a link: `<`, `>` and `&` become entities
    (plotly shows them as the characters). Strings are cut at TEXT_LIMIT characters; other
    values (numbers, times) and lists of them pass through."""
    if isinstance(value, str):
        if len(value) > TEXT_LIMIT:
            value = value[:TEXT_LIMIT] + "…"
        if "<" in value or ">" in value or "&" in value:
            return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        return value
    if isinstance(value, list | tuple):
        return [chart_text(v) for v in value]
    return value


def inert_figure(fig: go.Figure) -> go.Figure:
    """Every data string of a figure through `chart_text`: trace names, text, categories,
    hover data and Sankey labels; titles, axis titles and category orders. Hover templates
    are ours and stay as they are (they name data only through %{...} placeholders).
    `layout` escapes the title it sets, `empty` its message. Idempotent: a figure is treated
    once however often `layout` sees it."""
    if getattr(fig, "_eventlab_inert", False):
        return fig
    for trace in fig.data:
        for attr in _TRACE_TEXT:
            value = getattr(trace, attr, None)
            if value is not None and not isinstance(value, int | float):
                trace[attr] = chart_text(list(value) if not isinstance(value, str) else value)
        for part in ("node", "link"):
            sub = getattr(trace, part, None) if trace.type == "sankey" else None
            for attr in ("label", "customdata"):
                value = getattr(sub, attr, None) if sub is not None else None
                if value is not None:
                    sub[attr] = chart_text(list(value))
    for axis in ("xaxis", "yaxis"):
        ax = fig.layout[axis]
        for attr in _AXIS_TEXT:
            if ax[attr] is not None:
                ax[attr] = chart_text(list(ax[attr]))
        if ax.title.text:
            ax.title.text = chart_text(ax.title.text)
    for note in fig.layout.annotations:  # arrows pinned to category positions
        for attr in ("x", "y", "ax", "ay"):
            if isinstance(note[attr], str):
                note[attr] = chart_text(note[attr])
    fig._eventlab_inert = True
    return fig


def empty(fig: go.Figure, message: str) -> go.Figure:
    """A figure with nothing to draw: no axes, one centred line saying why."""
    fig.add_annotation(text=chart_text(message), x=0.5, y=0.5, xref="paper", yref="paper",
                       showarrow=False, font={"size": 14, "color": "#7f7f7f"})
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return fig


def single_value_range(values: Iterable[object],
                       pad: timedelta = timedelta(hours=1)) -> list[object] | None:
    """An x range around the one value when every value is the same (one event, one bucket),
    where plotly would zoom to a sliver; None otherwise. Times get `pad` each side, numbers
    one."""
    distinct = {v for v in values if v is not None}
    if len(distinct) != 1:
        return None
    (value,) = distinct
    if isinstance(value, datetime):
        return [value - pad, value + pad]
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return [value - 1, value + 1]
    return None
