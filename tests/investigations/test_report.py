"""The bundle's report.html, built from hand-made parts: bookmarks once per event id, states
as JSON, figures with room for their tick labels and titles."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from html import unescape

import plotly.graph_objects as go

from eventlab import investigations as inv_api
from eventlab.charts.report import figure_div
from eventlab.investigations import report

TS = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)


def _render(**parts: object) -> str:
    inv = inv_api.new("twice", "ann", inv_api.now())
    defaults: dict[str, object] = {"events": 0, "findings": [], "bookmarks": [], "states": {},
                                   "figures": [], "plotly_js": ""}
    return report.render(inv, **{**defaults, **parts})  # type: ignore[arg-type]


def test_a_duplicated_bookmark_is_listed_once_with_its_copies() -> None:
    row = {"event_id": "e1", "entity_id": "order-1", "seq": 3, "event_type": "Paid", "ts": TS}
    html = _render(bookmarks=[row, {**row, "seq": 4}, {**row, "event_id": "e2"}])
    assert html.count("<td>e1</td>") == 1 and html.count("<td>e2</td>") == 1
    assert "<th>copies</th>" in html and "<td>2</td>" in html


def test_states_are_json_with_nan_as_text() -> None:
    state = {"total": float("nan"), "items": [{"sku": "a", "qty": 2}], "paid": True,
             "at": TS}
    html = _render(states={"order-1": [{"state": state}]})
    text = unescape(re.search(r"<pre>(\{.*?)</pre>", html, re.S).group(1))  # type: ignore[union-attr]
    assert json.loads(text) == {"at": TS.isoformat(), "items": [{"qty": 2, "sku": "a"}],
                                "paid": True, "total": "NaN"}
    assert "True" not in text and "'" not in text


def test_figures_leave_room_for_tick_labels_and_title() -> None:
    fig = go.Figure(go.Bar(x=["a very long event type name"], y=[1]))
    fig.update_layout(title="order-1: events by type", margin={"t": 10, "l": 5})
    div = figure_div(fig)
    assert '"automargin":true' in div.replace(" ", "")
    spec = json.loads(re.search(r'"margin":(\{[^}]*\})', div.replace(" ", "")).group(1))  # type: ignore[union-attr]
    assert spec["t"] >= 60 and spec["l"] >= 60
