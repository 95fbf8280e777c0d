"""The incident bundle: a folder (and a zip of it) with the selected events as Parquet and JSON
lines, the chosen entities' state timelines, the findings, the notes and one self-contained
HTML report. Nothing in it comes from the environment: no settings, no secrets."""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from eventlab import invariants, quality
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
from eventlab.timetravel import scenario as scenarios
from eventlab.timetravel.positions import jsonable

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


def _refuse_links(out: Path, inv_id: str) -> None:
    """The bundle never writes through a symbolic link: a link where its folder or zip goes
    is refused, naming it (a person removes it or picks another --out)."""
    for entry in (out / inv_id, out / f"{inv_id}.zip"):
        if entry.is_symlink():
            raise InvestigationError(
                f"{entry} is a symbolic link; EventLab does not write a bundle through a "
                "link: remove it or choose another --out folder")


def write_bundle(con: db.Connection, inv: Investigation, out_dir: str | Path) -> Bundle:
    """Write the bundle of `inv` into `out_dir/<id>/` and `out_dir/<id>.zip` (replaced when
    they exist). Written into a fresh temporary folder first and renamed into place (a
    failure leaves nothing half-made; a rename replaces a name, it never writes through a
    link); a link at either name is refused. Each entity's timeline is
    `states/<safe id>-<hash>.json` (`export.unique_stem`), listed in `states/index.json`."""
    out = Path(out_dir).expanduser()
    if out.exists() and not out.is_dir():
        raise InvestigationError(f"--out {out} is a file; give a folder")
    if "/" in inv.id or inv.id in ("", ".", ".."):
        raise InvestigationError(f"investigation id {inv.id!r} cannot name a folder")
    try:
        out.mkdir(parents=True, exist_ok=True)
        _refuse_links(out, inv.id)
        work = Path(tempfile.mkdtemp(prefix=f".{inv.id}-", dir=out))
        aside = Path(tempfile.mkdtemp(prefix=f".{inv.id}-old-", dir=out))
    except OSError as exc:
        raise InvestigationError(f"cannot write the bundle into {out}: {exc.strerror or exc}; "
                                 "choose another --out folder") from exc
    target, zip_path = out / inv.id, out / f"{inv.id}.zip"
    try:
        written, truncated, files = _write_contents(con, inv, work)
        _refuse_links(out, inv.id)
        if target.exists():  # a real folder (links were refused): moved aside, then removed
            target.rename(aside / "bundle")
        try:
            work.rename(target)
        except OSError:
            if (aside / "bundle").exists() and not target.exists():
                (aside / "bundle").rename(target)  # the previous bundle stays
            raise
        # The zip is made inside a private folder (no one can plant a link there) and
        # renamed onto its name.
        made = Path(shutil.make_archive(str(aside / "bundle-zip"), "zip", root_dir=target))
        os.replace(made, zip_path)
    except OSError as exc:
        raise InvestigationError(f"cannot write the bundle into {out}: {exc.strerror or exc}; "
                                 "choose another --out folder") from exc
    finally:
        shutil.rmtree(work, ignore_errors=True)
        shutil.rmtree(aside, ignore_errors=True)
    return Bundle(target, zip_path, written, truncated, files)


def _write_contents(con: db.Connection, inv: Investigation,
                    work: Path) -> tuple[int, bool, tuple[str, ...]]:
    """Every file of the bundle into the fresh folder `work`: (events, truncated, files)."""
    sel = selection(inv)
    written, truncated = 0, False
    if sel is not None:
        for fmt in ("parquet", "jsonl"):
            res = export.export(con, sel, work / f"events.{fmt}", fmt, max_rows=MAX_EVENTS)
            written, truncated = res.rows, res.truncated
    reducer = _reducer()
    states: dict[str, Any] = {}
    folds: dict[str, Any] = {}
    index: dict[str, str] = {}
    (work / "states").mkdir()
    for entity in inv.entities:
        rows, fold = _timeline(con, entity, reducer)
        states[entity] = rows
        if fold is not None:
            folds[entity] = fold
        name = f"{export.unique_stem(entity)}.json"
        index[name] = entity
        _write_new(work / "states" / name, orjson.dumps(rows, option=orjson.OPT_INDENT_2))
    _write_new(work / "states" / "index.json",
               orjson.dumps(index, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS))
    replayed = _scenarios(con, inv, work)
    rep = quality.run_checks(con).to_dict()["findings"]
    findings = [f for f in rep if not inv.findings or f["kind"] in inv.findings]
    _write_new(work / "findings.json", orjson.dumps(findings, option=orjson.OPT_INDENT_2))
    broken = invariants.findings(con, inv.invariants, reducer) if inv.invariants else []
    if broken:
        _write_new(work / "invariants.json",
                   orjson.dumps(broken, option=orjson.OPT_INDENT_2, default=str))
    _write_new(work / "notes.md", (inv.notes or "").encode("utf-8"))
    _write_new(work / "investigation.json",
               orjson.dumps(inv.to_dict(), option=orjson.OPT_INDENT_2))
    marks = db.arrow(con, "SELECT event_id, entity_id, seq, event_type, ts FROM events "
                          "WHERE event_id IN (SELECT unnest(?)) ORDER BY ts",
                     [list(inv.bookmarks)]).to_pylist() if inv.bookmarks else []
    html = report.render(inv, events=written, findings=findings, bookmarks=marks,
                         states=states, figures=_figures(con, sel, folds), invariants=broken,
                         scenarios=replayed,
                         plotly_js=report_charts.plotly_js())
    _write_new(work / "report.html", html.encode("utf-8"))
    files = tuple(sorted(str(p.relative_to(work)) for p in work.rglob("*") if p.is_file()))
    return written, truncated, files


def _offered() -> list[reducer_choices.ReducerChoice]:
    try:
        return reducer_choices.configured()
    except EventLabError:
        return [reducer_choices.MERGE]


def scenario_result(con: db.Connection, saved: scenarios.Scenario,
                    offered: list[reducer_choices.ReducerChoice]) -> dict[str, Any]:
    """One scenario replayed on the store as it is now: the scenario, the reducer used, the
    real and the what-if state after the last event, and their differences (or the error
    that stopped the replay, named)."""
    out: dict[str, Any] = {**saved.to_dict(), "error": None}
    choice = saved.reducer_choice(offered)
    if choice is None:
        out["error"] = (f"the scenario's reducer ({saved.reducer.get('kind')}: "
                        f"{saved.reducer.get('path')}) is not offered by this EventLab")
        return out
    events = load_events(con, saved.entity_id)
    if not events:
        out["error"] = f"no events of entity {saved.entity_id!r} in this database"
        return out
    try:
        done = scenarios.replay(saved, Fold(events, choice.load(), snapshot_every=SNAPSHOT_EVERY))
    except EventLabError as exc:
        out["error"] = str(exc)
        return out
    out.update({"reducer_used": choice.label, "events": done.events,
                "whatif_events": done.whatif_events, "real_state": jsonable(done.real),
                "whatif_state": jsonable(done.whatif),
                "differences": [{"op": c.op, "path": c.dotted, "real": jsonable(c.old),
                                 "what_if": jsonable(c.new)} for c in done.differences]})
    return out


def _scenarios(con: db.Connection, inv: Investigation, work: Path) -> list[dict[str, Any]]:
    """`scenarios/<slug>-<hash>.json` per saved what-if scenario; returns what they hold."""
    if not inv.scenarios:
        return []
    (work / "scenarios").mkdir()
    offered = _offered()
    out = []
    for saved in inv.scenarios:
        result = scenario_result(con, saved, offered)
        _write_new(work / "scenarios" / f"{saved.id}.json",
                   orjson.dumps(result, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS,
                                default=str))
        out.append(result)
    return out


def _write_new(path: Path, data: bytes) -> None:
    """Create `path` (never there before: O_EXCL, and O_NOFOLLOW) and write `data`: two
    entries can never share a file, and nothing is written through a link."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0),
                 0o644)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
