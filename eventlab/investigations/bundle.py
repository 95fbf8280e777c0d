"""The incident bundle: a folder (and a zip of it) with the selected events as Parquet and JSON
lines, the chosen entities' state timelines, the findings, the notes and one self-contained
HTML report. Nothing in it comes from the environment: no settings, no secrets."""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from eventlab import quality
from eventlab.charts import explore as explore_charts
from eventlab.charts import report as report_charts
from eventlab.charts import timetravel as tt_charts
from eventlab.errors import EventLabError
from eventlab.explore import export
from eventlab.explore.filters import build_where, from_params
from eventlab.explore.queries import bucket_for
from eventlab.investigations import report
from eventlab.investigations.model import Investigation, InvestigationError
from eventlab.replay import Fold
from eventlab.store import db
from eventlab.store.sql import column_list
from eventlab.timetravel import SNAPSHOT_EVERY, load_events, reducer_choices

MAX_EVENTS = 100_000
"""Selected events written into a bundle at most (the report says when it is cut)."""


@dataclass(frozen=True)
class Bundle:
    """Where the bundle went and what it holds."""

    folder: Path
    zip_path: Path
    events: int
    truncated: bool
    files: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        """For `eventlab bundle --json`."""
        return {"folder": str(self.folder), "zip": str(self.zip_path), "events": self.events,
                "truncated": self.truncated, "files": list(self.files)}


def selection(inv: Investigation) -> export.ExportQuery | None:
    """The investigation's events: its filters, its bookmarked events and its entities'
    events (None when it names none of them)."""
    parts: list[str] = []
    params: list[Any] = []
    if inv.filters:
        clauses, fparams = build_where(from_params(inv.filter_params()))
        parts.append("(" + (" AND ".join(clauses) or "true") + ")")
        params += fparams
    if inv.bookmarks:
        parts.append("event_id IN (SELECT unnest(?))")
        params.append(list(inv.bookmarks))
    if inv.entities:
        parts.append("entity_id IN (SELECT unnest(?))")
        params.append(list(inv.entities))
    if not parts:
        return None
    cols = column_list(export.EVENT_EXPORT_COLUMNS)
    return export.ExportQuery(f"SELECT {cols} FROM events WHERE {' OR '.join(parts)} "
                              f"ORDER BY ts, entity_id, seq, \"offset\"", tuple(params),
                              "events")


def _reducer() -> Any:
    try:
        return reducer_choices.default(reducer_choices.configured()).load()
    except EventLabError:
        return reducer_choices.MERGE.load()


def _timeline(con: db.Connection, entity: str, reducer: Any) -> tuple[list[dict], Any]:
    events = load_events(con, entity)
    if not events:
        return [], None
    fold = Fold(events, reducer, snapshot_every=SNAPSHOT_EVERY)
    table = export.state_history_table(fold)
    rows = table.to_pylist()
    for r in rows:
        r["ts"] = r["ts"].isoformat() if r["ts"] else None
        r["state"] = orjson.loads(r["state"]) if r["state"] else None
    return rows, fold


def _figures(con: db.Connection, sel: export.ExportQuery | None,
             folds: dict[str, Any]) -> list[str]:
    out: list[str] = []
    if sel is not None:
        span = db.rows(con, f"SELECT min(ts), max(ts) FROM ({sel.sql})", list(sel.params))[0]
        if span[0] is not None:
            bucket = bucket_for(span[1] - span[0])
            counts = db.arrow(con, f"SELECT time_bucket(INTERVAL '{bucket}', ts) AS bucket, "
                                   f"event_type, count(*) AS events FROM ({sel.sql}) "
                                   f"GROUP BY ALL ORDER BY ALL", list(sel.params))
            out.append(report_charts.figure_div(explore_charts.counts_over_time(counts, bucket)))
    for entity, fold in folds.items():
        rows = [{"index": i, "x": e.ts, "event_type": e.event_type, "seq": e.seq,
                 "event_id": e.event_id} for i, e in enumerate(fold.events)]
        fig = tt_charts.entity_timeline(rows, len(rows) - 1, x_title="event time (UTC)")
        fig.update_layout(title=f"{entity}: events by type")
        out.append(report_charts.figure_div(fig))
    return out


def write_bundle(con: db.Connection, inv: Investigation, out_dir: str | Path) -> Bundle:
    """Write the bundle of `inv` into `out_dir/<id>/` and `out_dir/<id>.zip` (replaced when
    they exist). Written into a temporary folder first: a failure leaves nothing half-made."""
    out = Path(out_dir).expanduser()
    if out.exists() and not out.is_dir():
        raise InvestigationError(f"--out {out} is a file; give a folder")
    out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{inv.id}-", dir=out))
    try:
        sel = selection(inv)
        written, truncated = 0, False
        if sel is not None:
            for fmt in ("parquet", "jsonl"):
                res = export.export(con, sel, work / f"events.{fmt}", fmt, max_rows=MAX_EVENTS)
                written, truncated = res.rows, res.truncated
        reducer = _reducer()
        states: dict[str, Any] = {}
        folds: dict[str, Any] = {}
        (work / "states").mkdir()
        for entity in inv.entities:
            rows, fold = _timeline(con, entity, reducer)
            states[entity] = rows
            if fold is not None:
                folds[entity] = fold
            safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in entity)
            (work / "states" / f"{safe}.json").write_bytes(
                orjson.dumps(rows, option=orjson.OPT_INDENT_2))
        rep = quality.run_checks(con).to_dict()["findings"]
        findings = [f for f in rep if not inv.findings or f["kind"] in inv.findings]
        (work / "findings.json").write_bytes(orjson.dumps(findings, option=orjson.OPT_INDENT_2))
        (work / "notes.md").write_text(inv.notes or "", encoding="utf-8")
        (work / "investigation.json").write_bytes(
            orjson.dumps(inv.to_dict(), option=orjson.OPT_INDENT_2))
        marks = db.arrow(con, "SELECT event_id, entity_id, seq, event_type, ts FROM events "
                              "WHERE event_id IN (SELECT unnest(?)) ORDER BY ts",
                         [list(inv.bookmarks)]).to_pylist() if inv.bookmarks else []
        html = report.render(inv, events=written, findings=findings, bookmarks=marks,
                             states=states, figures=_figures(con, sel, folds),
                             plotly_js=report_charts.plotly_js())
        (work / "report.html").write_text(html, encoding="utf-8")
        files = tuple(sorted(str(p.relative_to(work)) for p in work.rglob("*") if p.is_file()))
        target = out / inv.id
        if target.exists():
            shutil.rmtree(target)
        work.rename(target)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    zip_path = Path(shutil.make_archive(str(out / inv.id), "zip", root_dir=target))
    return Bundle(target, zip_path, written, truncated, files)
