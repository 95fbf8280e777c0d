"""The incident report: one HTML file, pure text building. Every value is escaped; figures come
as HTML from `eventlab.charts.report` with plotly.js inline, so the file opens offline."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from typing import Any

import orjson

from eventlab.investigations.model import Investigation
from eventlab.timetravel.positions import jsonable

_CSS = """body{font-family:system-ui,sans-serif;margin:2rem auto;max-width:1100px;color:#222}
h1{margin-bottom:.2rem}.meta{color:#666}table{border-collapse:collapse;margin:.5rem 0 1.5rem}
td,th{border:1px solid #ddd;padding:.25rem .5rem;font-size:.9rem;text-align:left;
vertical-align:top}th{background:#f5f5f5}pre{background:#f8f8f8;padding:.75rem;
white-space:pre-wrap}.sev-error{color:#b00020}.sev-warning{color:#a15c00}"""


def table(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> str:
    """An HTML table of `rows` (dicts), every cell escaped."""
    if not rows:
        return "<p><em>none</em></p>"
    head = "".join(f"<th>{escape(c)}</th>" for c in columns)
    body = "".join("<tr>" + "".join(f"<td>{escape(_cell(r.get(c)))}</td>" for c in columns)
                   + "</tr>" for r in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def bookmark_rows(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per bookmarked event id, in the order given: an id stored more than once (a
    duplicated event) is listed once, with its number of copies."""
    out: dict[Any, dict[str, Any]] = {}
    for row in rows:
        seen = out.get(row.get("event_id"))
        if seen is None:
            out[row.get("event_id")] = {**row, "copies": 1}
        else:
            seen["copies"] += 1
    return list(out.values())


def state_text(state: Any) -> str:
    """An entity's state as indented JSON (keys in order; NaN and the infinities as text,
    times as ISO text), as every other EventLab output shows it."""
    return orjson.dumps(jsonable(state), option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS
                        | orjson.OPT_NON_STR_KEYS, default=str).decode()


def _cell(value: Any) -> str:
    if value is None:
        return ""
    text = str(value)
    return text if len(text) <= 300 else text[:299] + "…"


def _invariants(results: Sequence[dict[str, Any]]) -> list[str]:
    """The invariants added to the investigation: counts, then the first violating events."""
    if not results:
        return []
    parts = ["<h2>Invariants</h2>",
             table(results, ["name", "entity_type", "violating_entities",
                             "violating_positions", "recovered", "entities_checked"])]
    for r in results:
        if r.get("violations"):
            parts += [f"<h3>{escape(str(r['name']))}</h3>",
                      table(r["violations"], ["entity_id", "seq", "event_type", "event_id",
                                              "ts", "positions", "recovers"])]
    return parts


def _scenarios(results: Sequence[dict[str, Any]]) -> list[str]:
    """The saved what-if scenarios: what changed, then each one's differences at the end."""
    if not results:
        return []
    rows = [{"name": r.get("name"), "entity_id": r.get("entity_id"),
             "changes": ", ".join(_change_text(c) for c in r.get("changes") or ()),
             "differences": len(r.get("differences") or ()), "error": r.get("error")}
            for r in results]
    parts = ["<h2>What-if scenarios</h2>",
             table(rows, ["name", "entity_id", "changes", "differences", "error"])]
    for r in results:
        if r.get("differences"):
            parts += [f"<h3>{escape(str(r.get('name')))} ({escape(str(r.get('id')))})</h3>",
                      "<p>The real and the what-if state after the last event differ in:</p>",
                      table([{**d, "real": _json(d.get("real")),
                              "what_if": _json(d.get("what_if"))} for d in r["differences"]],
                            ["op", "path", "real", "what_if"])]
    return parts


def _change_text(change: dict[str, Any]) -> str:
    op = change.get("op")
    if op == "insert":
        return f"insert {change.get('event_type')} before #{_num(change.get('at'))}"
    if op == "move":
        return f"move #{_num(change.get('index'))} before #{_num(change.get('to'))}"
    return f"{op} #{_num(change.get('index'))} ({change.get('event_id')})"


def _num(value: Any) -> str:
    return str(value + 1) if isinstance(value, int) else str(value)


def _json(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS,
                        default=str).decode()


def render(inv: Investigation, *, events: int, findings: Sequence[dict[str, Any]],
           bookmarks: Sequence[dict[str, Any]], states: dict[str, Any],
           figures: Sequence[str], plotly_js: str,
           invariants: Sequence[dict[str, Any]] = (),
           scenarios: Sequence[dict[str, Any]] = ()) -> str:
    """The whole report: what was investigated, by whom, the notes, findings, bookmarked
    events, the entities' final states and the figures."""
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>{escape(inv.name)} · EventLab</title><style>{_CSS}</style>{plotly_js}",
        "</head><body>",
        f"<h1>{escape(inv.name)}</h1>",
        f"<p class='meta'>Investigation <code>{escape(inv.id)}</code> by {escape(inv.author)},"
        f" created {escape(inv.created_at.isoformat())}, updated "
        f"{escape(inv.updated_at.isoformat())}. {events:,} selected events are in "
        "<code>events.parquet</code> and <code>events.jsonl</code>.</p>",
        "<h2>Notes</h2>", f"<pre>{escape(inv.notes or '(none)')}</pre>",
        "<h2>Filters</h2>", f"<p><code>{escape(inv.filters or '(none)')}</code></p>",
        "<h2>Findings</h2>",
        table([{**f, "severity": f["severity"]} for f in findings],
              ["severity", "kind", "count", "explanation"]),
        *_invariants(invariants),
        *_scenarios(scenarios),
        "<h2>Bookmarked events</h2>",
        table(bookmark_rows(bookmarks),
              ["event_id", "entity_id", "seq", "event_type", "ts", "copies"]),
        "<h2>Figures</h2>", *figures,
        "<h2>Entities</h2>",
    ]
    for entity, timeline in states.items():
        last = timeline[-1]["state"] if timeline else None
        parts += [f"<h3>{escape(entity)}</h3>",
                  f"<p>{len(timeline):,} events; the state after the last one:</p>",
                  f"<pre>{escape(state_text(last))}</pre>"]
    parts.append("</body></html>")
    return "\n".join(parts)
