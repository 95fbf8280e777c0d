"""Load export files into the store: idempotent by source position, bad files isolated.

Files are read into Arrow a few files ahead of the loader, in a background thread
(`ingest.readahead`; one bad file is listed and skipped), combined by column name inside
DuckDB (`UNION ALL BY NAME`), mapped to canonical events with SQL from `ingest.canonical_sql`, and
written in one transaction per chunk, sorted by (entity_id, seq) so per-entity reads touch few
row groups. Rows lacking an entity id, type or time go to `quarantine` with their raw row.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import pyarrow as pa

from eventlab.errors import MappingError, StoreError
from eventlab.ingest import native_parquet, sns_envelope
from eventlab.ingest.canonical_sql import (
    REST,
    Sql,
    doc_columns,
    final_select,
    mapped_select,
    rest_payload,
    rest_sql,
)
from eventlab.ingest.exports import BadLine, FileRef, discover, hive_values
from eventlab.ingest.formats import DUPLICATES
from eventlab.ingest.mapping import (
    ENVELOPE_PRESETS,
    Mapping,
    MappingSpec,
    envelope_hint,
    resolve,
)
from eventlab.ingest.readahead import read_ahead
from eventlab.store import db
from eventlab.store.eventstore import EventStore
from eventlab.store.schema import FILE_COLUMNS
from eventlab.store.sql import column_list, quote_ident, quote_literal

CHUNK_ROWS = 3_000_000
_INTERNAL = ("__source", "__row", "__raw", "__invalid")

Progress = Callable[[str, int, int], None]


@dataclass
class IngestReport:
    """What one ingest did; `to_dict` is the CLI's `--json` object."""

    files_read: int = 0
    files_skipped: list[str] = field(default_factory=list)
    rows_read: int = 0
    rows_stored: int = 0
    rows_skipped_duplicate: int = 0
    rows_known_id: int = 0
    """Rows whose event id was already stored from another source position."""
    duplicates: str = "skip"
    """What was done with them: "skip" (not stored) or "copy" (stored as copies)."""
    rows_quarantined: int = 0
    rows_ts_assumed_utc: int = 0
    files_failed: list[dict[str, str]] = field(default_factory=list)
    files_not_read: list[dict[str, str]] = field(default_factory=list)
    mapping: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for JSON output."""
        return dict(self.__dict__)

    def summary(self) -> str:
        """A few human lines for the terminal and the UI."""
        lines = [f"{self.files_read} file(s) read, {self.rows_read:,} rows: "
                 f"{self.rows_stored:,} stored, {self.rows_skipped_duplicate:,} already "
                 f"loaded (skipped), {self.rows_quarantined:,} quarantined "
                 f"({self.seconds:.1f} s)."]
        if self.rows_known_id:
            lines.append(f"{self.rows_known_id:,} rows have an event id that is already stored"
                         + (" (skipped: ids already stored)." if self.duplicates == "skip"
                            else " (loaded as copies)."))
        if self.files_skipped:
            lines.append(f"{len(self.files_skipped)} file(s) unchanged since they were "
                         "loaded: skipped.")
        if self.rows_ts_assumed_utc:
            lines.append(f"{self.rows_ts_assumed_utc:,} timestamps had no time zone and were "
                         "taken as UTC.")
        lines += [f"warning: {w}" for w in self.warnings]
        lines += [f"skipped {f['file']}: {f['reason']}" for f in self.files_not_read]
        lines += [f"FAILED {f['file']}: {f['error']}" for f in self.files_failed]
        return "\n".join(lines)


def ingest_paths(store: EventStore, paths: list[str], *, fmt: str | None = None,
                 spec: MappingSpec | None = None, progress: Progress | None = None,
                 chunk_rows: int = CHUNK_ROWS,
                 roots: Sequence[str] | None = None,
                 duplicates: str = "skip") -> IngestReport:
    """Ingest files, folders, globs or hive folders. Never raises for one bad file.

    `duplicates`: what to do with a row whose event id is already stored from another source
    position (an export loaded back): "skip" it (the default) or "copy" it (store it as one
    more copy of that event). Either way the report counts them (`rows_known_id`).

    `roots`: read only below these folders (a path typed in the browser: `ingest.roots`);
    None reads wherever the paths lead (the CLI). FIFOs, devices and links out of the roots
    are listed in `files_not_read`, never read."""
    if duplicates not in DUPLICATES:
        raise ValueError(f"duplicates must be one of {', '.join(DUPLICATES)}")
    started = time.perf_counter()
    spec = spec or MappingSpec()
    report = IngestReport(duplicates=duplicates)
    refs, problems, skipped = discover(paths, fmt, roots=roots)
    report.files_failed += problems
    report.files_not_read += skipped
    refs = drop_unchanged(store, refs, report)
    by_fmt: dict[str, list[FileRef]] = {}
    for ref in refs:
        by_fmt.setdefault(ref.fmt, []).append(ref)
    count = _Counter(progress, len(refs))
    for group in by_fmt.values():
        if store.readable and group[0].fmt == "parquet":
            _load_native(store, group, spec, report, duplicates, chunk_rows, count)
        else:
            _load_read(store, group, spec, report, duplicates, chunk_rows, count)
    if report.rows_stored or report.rows_quarantined:
        store.refresh_summaries()  # reads only the rows just stored (store.summaries)
    report.seconds = round(time.perf_counter() - started, 3)
    return report


@dataclass
class _Counter:
    """Files done, for the progress callback."""

    progress: Progress | None
    total: int
    done: int = 0

    def step(self) -> None:
        self.done += 1
        if self.progress:
            self.progress("read", self.done, self.total)


def _load_read(store: EventStore, refs: list[FileRef], spec: MappingSpec, report: IngestReport,
               duplicates: str, chunk_rows: int, count: _Counter) -> None:
    """Read the files into Arrow (a few ahead of the loader) and load them in chunks."""
    chunk: list[tuple[FileRef, pa.Table, list[BadLine]]] = []
    rows = 0
    for ref, table, bad, error in read_ahead(refs):
        count.step()
        if table is None:
            report.files_failed.append({"file": ref.path, "error": str(error)})
            continue
        chunk.append((ref, table, bad))
        rows += table.num_rows + len(bad)
        if rows >= chunk_rows:
            _load_chunk(store, chunk, spec, report, duplicates)
            chunk, rows = [], 0
    if chunk:
        _load_chunk(store, chunk, spec, report, duplicates)


def _load_native(store: EventStore, refs: list[FileRef], spec: MappingSpec,
                 report: IngestReport, duplicates: str, chunk_rows: int,
                 count: _Counter) -> None:
    """Parquet files DuckDB reads itself (`ingest.native_parquet`), in chunks of whole files
    as `_load_read` makes them; a file it cannot take goes the pyarrow way, in its turn."""
    chunk: list[tuple[FileRef, native_parquet.Footer]] = []
    rows = 0
    others: list[FileRef] = []
    for ref in refs:
        found = native_parquet.footer(ref, store.readable)
        if found is None:
            if chunk:
                _native_chunk(store, chunk, spec, report, duplicates)
                chunk, rows = [], 0
            others.append(ref)
            continue
        if others:
            _load_read(store, others, spec, report, duplicates, chunk_rows, count)
            others = []
        count.step()
        chunk.append((ref, found))
        rows += found.rows
        if rows >= chunk_rows:
            _native_chunk(store, chunk, spec, report, duplicates)
            chunk, rows = [], 0
    if chunk:
        _native_chunk(store, chunk, spec, report, duplicates)
    if others:
        _load_read(store, others, spec, report, duplicates, chunk_rows, count)


def _native_chunk(store: EventStore, chunk: list[tuple[FileRef, native_parquet.Footer]],
                  spec: MappingSpec, report: IngestReport, duplicates: str) -> None:
    """Load a chunk read by DuckDB; on any DuckDB or mapping error (a corrupt page, types
    the Arrow path would read otherwise, a mapping that does not fit) the chunk is read with
    pyarrow and loaded as before, so a bad file is isolated and named exactly as before."""
    items = [(ref, f.schema, []) for ref, f in chunk]
    warnings = _type_conflicts([(ref, f.schema) for ref, f in chunk])
    mark = len(report.warnings)
    try:
        _load_tables(store, items, spec, report, duplicates, [f.rows for _, f in chunk])
    except (db.DuckError, MappingError, OSError, StoreError):  # a damaged store fails again
        _load_read(store, [ref for ref, _ in chunk], spec, report, duplicates, 1 << 62,
                   _Counter(None, 0))
        return
    report.warnings[mark:mark] = warnings


def drop_unchanged(store: EventStore, refs: list[FileRef],
                    report: IngestReport) -> list[FileRef]:
    """Files already loaded with the same size and mtime are skipped whole."""
    if not refs:
        return refs
    with store.reading() as cur:
        known = {p: (s, m, n) for p, s, m, n in db.rows(
            cur, "SELECT path, size, mtime, rows_read FROM ingested_files "
                 "WHERE list_contains(?, path)", [[r.path for r in refs]])}
    keep = []
    for ref in refs:
        k = known.get(ref.path)
        if k and k[0] == ref.size and abs(k[1] - ref.mtime) < 1e-6:
            report.files_skipped.append(ref.path)
            report.rows_read += k[2]
            report.rows_skipped_duplicate += k[2]
        else:
            keep.append(ref)
    return keep


def _load_chunk(store: EventStore, chunk: list[tuple[FileRef, pa.Table, list[BadLine]]],
                spec: MappingSpec, report: IngestReport, duplicates: str) -> None:
    """Load files together; if that fails, load them one by one so a bad one is isolated."""
    if chunk[0][0].fmt != "jsonl":
        report.warnings += _type_conflicts([(ref, t) for ref, t, _ in chunk])
    try:
        _load_tables(store, chunk, spec, report, duplicates)
    except (db.DuckError, MappingError) as exc:
        if len(chunk) == 1:
            report.files_failed.append(_failure(chunk[0][0], exc))
            return
        for item in chunk:
            try:
                _load_tables(store, [item], spec, report, duplicates)
            except (db.DuckError, MappingError) as one_exc:
                report.files_failed.append(_failure(item[0], one_exc))


def _failure(ref: FileRef, exc: Exception) -> dict[str, str]:
    """A failed file as the report lists it; `needs: mapping` when another mapping would
    read it (the command line and the page each say how to give one)."""
    out = {"file": ref.path, "error": str(exc).strip().splitlines()[0][:500]}
    return {**out, "needs": "mapping"} if isinstance(exc, MappingError) else out


def _type_conflicts(tables: list[tuple[FileRef, pa.Table]]) -> list[str]:
    seen: dict[str, tuple[str, pa.DataType]] = {}
    out = []
    for ref, table in tables:
        for f in table.schema:
            if f.name in seen and seen[f.name][1] != f.type and not pa.types.is_null(f.type) \
                    and not pa.types.is_null(seen[f.name][1]):
                out.append(f"column {f.name!r} is {seen[f.name][1]} in {seen[f.name][0]} but "
                           f"{f.type} in {ref.path}; combined as a common type")
            seen.setdefault(f.name, (ref.path, f.type))
    return out


def _load_tables(store: EventStore, chunk: list[tuple[FileRef, pa.Table, list[BadLine]]],
                 spec: MappingSpec, report: IngestReport, duplicates: str,
                 native_rows: list[int] | None = None) -> None:
    """Load one chunk in one transaction. `native_rows`: the chunk's tables are only its
    files' schemas, DuckDB reads the files (`native_parquet`), each with this many rows."""
    counts = native_rows or [t.num_rows + len(bad) for _, t, bad in chunk]
    if not any(counts):
        # Empty files load as 0 rows (there is nothing to map).
        with store.transaction() as cur:
            _record_files(cur, chunk, counts)
        report.files_read += len(chunk)
        return
    # Registered names live on the transaction's own cursor and vanish when it closes.
    with store.transaction() as cur:
        relation = None if native_rows is None else native_parquet.prepare(
            cur, [ref for ref, _, _ in chunk], [t for _, t, _ in chunk])
        mapped = map_chunk(cur, chunk, spec, relation=relation)
        stats = _write(cur, mapped, chunk, duplicates, counts)
    mapping = mapped.mapping
    report.files_read += len(chunk)
    report.rows_read += stats["rows"]
    report.rows_stored += stats["stored"]
    report.rows_skipped_duplicate += stats["duplicates"]
    report.rows_known_id += stats["known"]
    report.rows_quarantined += stats["quarantined"]
    report.rows_ts_assumed_utc += stats["naive"]
    resolved = mapping.to_dict()
    if report.mapping and report.mapping != resolved:
        report.warnings.append(f"{chunk[0][0].fmt} files used another mapping: {resolved}")
    else:
        report.mapping = resolved


@dataclass(frozen=True)
class MappedChunk:
    """Files registered on a cursor and combined, with the mapping resolved for them: what
    the load writes and `ingest.precheck` counts (one definition of "mapped as ingest would")."""

    union: str
    """The combined relation (SQL text over the registered tables)."""
    types: dict[str, str]
    mapping: Mapping
    is_jsonl: bool
    source_cols: list[str]
    record: tuple[tuple[str, str], ...] = ()
    """(`events` column, relation column) of source record columns a file can also have
    (an SNS envelope's topic, broker time, attributes, message bytes)."""

    def select(self, carry: tuple[str, ...] = ()) -> Sql:
        """The mapped rows (`canonical_sql.mapped_select`) of this chunk; `carry`: relation
        columns passed through beside the record's."""
        return mapped_select(self.mapping, self.types, f"({self.union})", doc_mode=self.is_jsonl,
                             passthrough=(*(src for _, src in self.record), *carry))


def map_chunk(cur: db.Connection, chunk: Sequence[tuple[FileRef, pa.Table, list[BadLine]]],
              spec: MappingSpec, *, relation: str | None = None) -> MappedChunk:
    """Register the chunk's tables on `cur` (they vanish when it closes), combine them by
    column name and resolve the mapping. Raises MappingError when a required field has no
    column, a DuckDB error when the files cannot be combined. `relation`: the chunk's rows
    as DuckDB reads them itself (`native_parquet.prepare`), nothing registered."""
    names = [f"__in_{i}" for i in range(len(chunk))]
    is_jsonl = chunk[0][0].fmt == "jsonl"
    if relation is None:
        for name, (_, table, _) in zip(names, chunk, strict=True):
            db.register(cur, name, table)
    union = relation or " UNION ALL BY NAME ".join(f"SELECT * FROM {n}" for n in names)
    envelope = spec.preset in ENVELOPE_PRESETS
    if envelope and not is_jsonl:
        raise MappingError(f"the {spec.preset} preset reads JSON files, not {chunk[0][0].fmt}")
    if envelope:  # unwrapped once, into Arrow: the load's queries then read it as JSON lines
        db.register(cur, "__envelopes", db.arrow(cur, sns_envelope.unwrap(spec.preset, union)))
        union = "SELECT * FROM __envelopes"
    if is_jsonl:
        union = _jsonl_relation(cur, union)
    types = {r[0]: r[1] for r in db.rows(cur, f"DESCRIBE {union}")}
    hive = {k for ref, _, _ in chunk for k in hive_values(ref.path)}
    inner = replace(spec, preset="auto") if envelope else spec
    mapping = resolve(inner, list(types), ignore=_INTERNAL + tuple(hive) + sns_envelope.COLUMNS)
    if is_jsonl and "payload" not in spec.overrides:  # as brokers map documents
        mapping = rest_payload(mapping)
        if REST in {r.column for r in mapping.fields.values()}:
            union = (f"(SELECT *, {rest_sql('__raw', 'NOT __invalid', doc_columns(mapping))}"
                     f" FROM {union})")
            types[REST] = "JSON"
    if envelope:
        union, types, mapping = sns_envelope.complete(spec.preset, union, types, mapping)
    missing = mapping.missing_required()
    if missing:
        hint = None if envelope else envelope_hint(list(types))
        raise MappingError(
            f"the {mapping.preset} mapping finds no column for {', '.join(missing)} "
            f"(columns: {', '.join(c for c in types if c not in _INTERNAL)})"
            + (f"; these look like archived {hint.upper()} messages: use the {hint} preset"
               if hint else ""))
    source_cols = [c for c in types if c not in _INTERNAL and c not in hive]
    record = tuple(sns_envelope.RECORD.items()) if envelope else ()
    return MappedChunk(union, types, mapping, is_jsonl, source_cols, record)


def _jsonl_relation(cur: db.Connection, union: str) -> str:
    """Parse JSON lines in DuckDB into one column per top-level key (each JSON typed)."""
    keys = [r[0] for r in db.rows(
        cur, f"SELECT DISTINCT unnest(json_keys(d)) FROM (SELECT CASE WHEN json_valid(__doc) "
             f"AND json_type(CASE WHEN json_valid(__doc) THEN __doc END) = 'OBJECT' "
             f"THEN __doc END AS d FROM ({union}))")]
    keys = [k for k in keys if not k.startswith("__")]
    structure = "{" + ", ".join(json.dumps(k) + ': "JSON"' for k in sorted(keys)) + "}"
    valid = ("coalesce(json_valid(__doc) AND json_type(CASE WHEN json_valid(__doc) "
             "THEN __doc END) = 'OBJECT', false)")
    if not keys:
        return (f"(SELECT __doc AS __raw, NOT {valid} AS __invalid, * EXCLUDE (__doc) "
                f"FROM ({union}))")
    return (f"(SELECT unnest(json_transform(CASE WHEN {valid} THEN __doc END, "
            f"{quote_literal(structure)})), __doc AS __raw, NOT {valid} AS __invalid, "
            f"* EXCLUDE (__doc) FROM ({union}))")


def _write(cur: db.Connection, mapped: MappedChunk,
           chunk: list[tuple[FileRef, pa.Table, list[BadLine]]], duplicates: str,
           counts: list[int]) -> dict[str, int]:
    """Insert good rows, quarantine bad ones, record the files (`counts`: rows read from
    each). Inside the caller's tx."""
    record = mapped.record
    sel = mapped.select()
    sources = [ref.path for ref, _, _ in chunk]
    prior = db.scalar(cur, "SELECT count(*) FROM events WHERE list_contains(?, source)",
                      [sources])
    any_stored = db.scalar(cur, "SELECT count(*) > 0 FROM (SELECT 1 FROM events LIMIT 1)")
    dedupe = (" AND NOT EXISTS (SELECT 1 FROM events e WHERE e.source = c.__source "
              "AND e.\"offset\" = c.__row)") if prior else ""
    # ids already stored from other positions (an export loaded back): skipped or copied,
    # counted in the same pass over the chunk as the rest
    known_sql = "c.event_id_src IN (SELECT event_id FROM events)"
    known_count = (f"count(*) FILTER (c.__reason IS NULL AND {known_sql}{dedupe})"
                   if any_stored else "0")
    total, bad, null_seq, naive, known = db.rows(
        cur, f"SELECT count(*), count(*) FILTER (c.__reason IS NOT NULL), "
             f"count(*) FILTER (c.__reason IS NULL AND c.seq_src IS NULL), "
             f"count(*) FILTER (c.__reason IS NULL AND c.ts_assumed_utc), {known_count} "
             f"FROM ({sel.text}) c", sel.params)[0]
    derive = null_seq > 0
    join_existing = derive and any_stored
    skip = f" AND NOT coalesce({known_sql}, false)" if known and duplicates == "skip" else ""
    join = (" LEFT JOIN (SELECT entity_id, max(seq) AS max_seq FROM events GROUP BY ALL) prev "
            "ON prev.entity_id = c.entity_id") if join_existing else ""
    final = final_select(derive, join_existing) + "".join(f", c.{quote_ident(r)}"
                                                          for _, r in record)
    insert = (f"INSERT INTO events ({column_list(FILE_COLUMNS + tuple(c for c, _ in record))}) "
              f"SELECT * FROM (SELECT {final} FROM ({sel.text}) c"
              f"{join} WHERE c.__reason IS NULL{dedupe}{skip}) ORDER BY entity_id, seq")
    stored = db.rows(cur, insert, sel.params)[0][0]
    quarantined = 0
    if bad:
        q = _quarantine_select(mapped)
        quarantined = db.rows(cur, q.text, q.params)[0][0]
    lines = [b for _, _, bads in chunk for b in bads]
    if lines:
        quarantined += _quarantine_lines(cur, lines)
    _record_files(cur, chunk, counts)
    rows = total + len(lines)
    skipped_known = known if skip else 0
    return {"rows": rows, "stored": stored,
            "duplicates": rows - stored - quarantined - skipped_known, "known": known,
            "quarantined": quarantined, "naive": naive}


def _quarantine_select(mapped: MappedChunk) -> Sql:
    """Insert the chunk's bad rows (not already quarantined) with their raw row, in one scan
    of the files: the source columns ride through the mapping as one struct column (a name
    no source column has: files' names starting with `__` are refused), not joined back from
    a second read of the files."""
    raw_col = "__quarantine_raw"
    if mapped.is_jsonl:
        carried, raw = "__raw", "c.__raw"
    else:
        row = ", ".join(f"{quote_ident(c)} := {quote_ident(c)}" for c in mapped.source_cols)
        mapped = replace(mapped, union=f"SELECT *, struct_pack({row}) AS "
                                       f"{quote_ident(raw_col)} FROM ({mapped.union})")
        carried, raw = raw_col, f"CAST(to_json(c.{quote_ident(raw_col)}) AS VARCHAR)"
    sel = mapped.select(carry=(carried,))
    return Sql(f"INSERT INTO quarantine (source, \"offset\", reason, detail, raw) "
               f"SELECT c.__source, c.__row, c.__reason, c.__detail || ' at ' || c.__source || "
               f"' row ' || CAST(c.__row AS VARCHAR), encode({raw}) "
               f"FROM ({sel.text}) c WHERE c.__reason IS NOT NULL AND NOT EXISTS "
               f"(SELECT 1 FROM quarantine x WHERE x.source = c.__source "
               f"AND x.\"offset\" = c.__row)", sel.params)


def _record_files(cur: db.Connection, chunk: list[tuple[FileRef, pa.Table, list[BadLine]]],
                  counts: list[int]) -> None:
    for (ref, _, _), rows in zip(chunk, counts, strict=True):
        cur.execute("INSERT OR REPLACE INTO ingested_files (path, size, mtime, rows_read) "
                    "VALUES (?, ?, ?, ?)", [ref.path, ref.size, ref.mtime, rows])


def _quarantine_lines(cur: db.Connection, lines: list[BadLine]) -> int:
    new = 0
    for b in lines:
        exists = db.scalar(cur, "SELECT count(*) FROM quarantine WHERE source = ? AND "
                                "\"offset\" = ?", [b.source, b.row])
        if not exists:
            cur.execute("INSERT INTO quarantine (source, \"offset\", reason, detail, raw) "
                        "VALUES (?, ?, ?, ?, ?)", [b.source, b.row, b.reason, b.detail, b.raw])
            new += 1
    return new
