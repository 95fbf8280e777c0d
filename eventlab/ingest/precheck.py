"""Before loading files: how many of their rows have an event id that is already stored.

An export loaded back would store every event twice (or, with the default, skip them): this
says so before the load. Files are found, read and mapped exactly as `file_ingest` does
(`discover`, `read_ahead`, `map_chunk`), then counted with read-only queries against
`events` on a reading cursor: nothing is stored. Big inputs are sampled (the first
`max_files` files and `max_rows` rows) and the check says so. It is a separate step, so an
ordinary load costs what it did.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

from eventlab.errors import MappingError, SourceError
from eventlab.ingest.exports import BadLine, FileRef, discover
from eventlab.ingest.file_ingest import IngestReport, drop_unchanged, map_chunk
from eventlab.ingest.mapping import MappingSpec
from eventlab.ingest.readahead import read_ahead
from eventlab.ingest.roots import check_typed_path, data_roots
from eventlab.store import db
from eventlab.store.eventstore import EventStore

MAX_FILES = 200
MAX_ROWS = 1_000_000
ORIGINS_SHOWN = 5

Chunk = list[tuple[FileRef, pa.Table, list[BadLine]]]


@dataclass
class PrecheckReport:
    """What a load of these files would meet; `to_dict` is `eventlab ingest --check --json`."""

    files_found: int = 0
    files_checked: int = 0
    files_unchanged: int = 0
    """Files loaded before with the same size and time: a load skips them whole."""
    rows_checked: int = 0
    rows_known_id: int = 0
    """Rows whose event id is already stored from another source position."""
    rows_loaded: int = 0
    """Rows already stored from this very position (file and row): a load skips them."""
    rows_quarantine: int = 0
    known_from: list[dict[str, Any]] = field(default_factory=list)
    """Where the stored copies came from: `{"origin", "events"}`, most first (a few)."""
    sampled: bool = False
    files_failed: list[dict[str, str]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for JSON output."""
        return dict(self.__dict__)

    def origins(self) -> str:
        """The stored sources of the known ids, as one line."""
        return ", ".join(f"{o['origin']} ({o['events']:,})" for o in self.known_from)

    def summary(self) -> str:
        """What the check found, in a few lines (the page and the terminal say the same)."""
        scope = (f"checked the first {self.files_checked} of {self.files_found} file(s), "
                 f"{self.rows_checked:,} rows (sampled: a big input)" if self.sampled else
                 f"checked {self.files_checked} file(s), {self.rows_checked:,} rows")
        lines = [f"{self.rows_known_id:,} of {self.rows_checked:,} rows have an event id "
                 "already stored" + (f" (from: {self.origins()})" if self.known_from else "")
                 + "."]
        lines.append(scope + "; nothing was stored.")
        if self.rows_loaded:
            lines.append(f"{self.rows_loaded:,} rows are already loaded from these same files "
                         "(a load skips them).")
        if self.files_unchanged:
            lines.append(f"{self.files_unchanged} file(s) unchanged since they were loaded "
                         "(a load skips them).")
        if self.rows_quarantine:
            lines.append(f"{self.rows_quarantine:,} rows cannot be mapped (a load keeps them "
                         "in the quarantine).")
        lines += [f"FAILED {f['file']}: {f['error']}" for f in self.files_failed]
        return "\n".join(lines)


def precheck_paths(store: EventStore, paths: list[str], *, fmt: str | None = None,
                   spec: MappingSpec | None = None, roots: Sequence[str] | None = None,
                   max_files: int = MAX_FILES, max_rows: int = MAX_ROWS) -> PrecheckReport:
    """Count the rows of these files whose event id is already stored. Stores nothing."""
    spec = spec or MappingSpec()
    report = PrecheckReport()
    refs, problems, skipped = discover(paths, fmt, roots=roots)
    report.files_failed += problems + [{"file": s["file"], "error": s["reason"]}
                                       for s in skipped]
    scratch = IngestReport()
    refs = drop_unchanged(store, refs, scratch)
    report.files_unchanged = len(scratch.files_skipped)
    report.files_found = len(refs) + report.files_unchanged
    sample = _read_sample(refs, max_files, max_rows, report)
    by_fmt: dict[str, Chunk] = {}
    for item in sample:
        by_fmt.setdefault(item[0].fmt, []).append(item)
    for chunk in by_fmt.values():
        try:
            _count(store, chunk, spec, report)
        except (db.DuckError, MappingError):
            for item in chunk:  # as a load does: find the file that fails, count the others
                try:
                    _count(store, [item], spec, report)
                except (db.DuckError, MappingError) as exc:
                    report.files_failed.append(
                        {"file": item[0].path, "error": str(exc).strip().splitlines()[0][:500]})
    report.known_from = report.known_from[:ORIGINS_SHOWN]
    return report


def _read_sample(refs: list[FileRef], max_files: int, max_rows: int,
                 report: PrecheckReport) -> Chunk:
    """The files as a load reads them, up to `max_files` files and `max_rows` rows."""
    out: Chunk = []
    rows = 0
    report.sampled = len(refs) > max_files
    for ref, table, bad, error in read_ahead(refs[:max_files]):
        if table is None:
            report.files_failed.append({"file": ref.path, "error": str(error)})
            continue
        if rows + table.num_rows > max_rows:
            table = table.slice(0, max_rows - rows)
            report.sampled = True
        out.append((ref, table, bad))
        report.files_checked += 1
        rows += table.num_rows
        if rows >= max_rows:
            report.sampled = report.sampled or report.files_checked < len(refs)
            break
    return out


_SAME_POSITION = ("EXISTS (SELECT 1 FROM events e WHERE e.source = c.__source "
                  "AND e.\"offset\" = c.__row)")
_KNOWN = "coalesce(c.event_id_src IN (SELECT event_id FROM events), false)"


def _count(store: EventStore, chunk: Chunk, spec: MappingSpec, report: PrecheckReport) -> None:
    """Map one chunk on a reading cursor and count; the load's rules (`file_ingest._write`):
    a row at a stored position is already loaded, else a stored id is a known id."""
    if not any(t.num_rows for _, t, _ in chunk):
        report.rows_quarantine += sum(len(bad) for _, _, bad in chunk)
        return
    with store.reading() as cur:
        sel = map_chunk(cur, chunk, spec).select()
        flags = (f"SELECT c.event_id_src, c.__reason IS NOT NULL AS bad, {_SAME_POSITION} AS "
                 f"loaded, {_KNOWN} AS known FROM ({sel.text}) c")
        rows, bad, loaded, known = db.rows(
            cur, f"SELECT count(*), count(*) FILTER (bad), count(*) FILTER (NOT bad AND loaded), "
                 f"count(*) FILTER (NOT bad AND NOT loaded AND known) FROM ({flags})",
            sel.params)[0]
        origins: list[tuple[str, int]] = []
        if known:
            origins = db.rows(
                cur, "SELECT coalesce(e.source || ' topic ' || e.topic, e.source) AS origin, "
                     "count(*) FROM events e WHERE e.event_id IN (SELECT event_id_src FROM "
                     f"({flags}) WHERE NOT bad AND NOT loaded AND known) GROUP BY ALL "
                     f"ORDER BY 2 DESC, 1 LIMIT {ORIGINS_SHOWN}", sel.params)
    lines = sum(len(bad_lines) for _, _, bad_lines in chunk)
    report.rows_checked += rows + lines
    report.rows_quarantine += bad + lines
    report.rows_loaded += loaded
    report.rows_known_id += known
    merged = {o["origin"]: o["events"] for o in report.known_from}
    for origin, n in origins:
        merged[origin] = merged.get(origin, 0) + n
    report.known_from = [{"origin": o, "events": n} for o, n in
                         sorted(merged.items(), key=lambda kv: (-kv[1], kv[0]))]


def precheck_typed_path(store: EventStore, path: str, *, db_path: str | Path,
                        fmt: str | None = None, preset: str = "auto") -> PrecheckReport:
    """The Sources page's path field, checked as `background.start_path_ingest` would load
    it: only below the data folders (`ingest.roots`); a path outside them is refused."""
    if not path.strip():
        raise SourceError("enter a file, folder or glob on the server to check")
    roots = data_roots(db_path)
    check_typed_path(path, roots)
    return precheck_paths(store, [path.strip()], fmt=fmt, spec=MappingSpec(preset=preset),
                          roots=roots)
