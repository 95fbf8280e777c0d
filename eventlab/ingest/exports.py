"""Find export files and read each one into Arrow. One bad file never stops the others.

Files reach DuckDB as Arrow tables (the database runs with external access off), each with
`__source` (absolute path) and `__row` (row or line number), plus hive partition columns
taken from `key=value` folder names.
"""

from __future__ import annotations

import glob
import os
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from eventlab.errors import SourceError
from eventlab.ingest.formats import guess_format

# An unquoted empty CSV cell is NULL, a quoted one ("") the empty string: what DuckDB's CSV
# writer produces, so a CSV from `eventlab export` loads back with its NULLs (payload,
# metadata) as NULLs.
_CSV_NULLS = pacsv.ConvertOptions(strings_can_be_null=True, quoted_strings_can_be_null=False)


@dataclass(frozen=True)
class FileRef:
    """One input file: absolute path, format, size and modification time."""

    path: str
    fmt: str
    size: int
    mtime: float


@dataclass
class BadLine:
    """A JSONL line that is not UTF-8 text; kept for the quarantine with its raw bytes."""

    source: str
    row: int
    raw: bytes
    detail: str


def discover(paths: list[str], fmt: str | None = None) -> tuple[list[FileRef], list[dict]]:
    """Expand files, folders (recursively), globs and hive folders into input files.

    Returns (files, problems); a problem is {"file", "error"} for a path that matched nothing.
    """
    found: dict[str, FileRef] = {}
    problems: list[dict] = []
    for raw in paths:
        p = os.path.expanduser(raw)
        if any(ch in p for ch in "*?["):
            candidates = sorted(glob.glob(p, recursive=True))
        elif os.path.isdir(p):
            # Writer leftovers (_SUCCESS, _temporary/, .crc, .hidden/) are not data.
            candidates = sorted(
                str(f) for f in Path(p).rglob("*")
                if f.is_file() and not any(part.startswith((".", "_"))
                                           for part in f.relative_to(p).parts))
            candidates = [c for c in candidates if fmt or guess_format(c)]
        else:
            candidates = [p]
        if not candidates:
            problems.append({"file": raw, "error": "no such file, folder or matching files"})
            continue
        for c in candidates:
            if not os.path.isfile(c):
                if c == p:
                    problems.append({"file": raw, "error": "no such file"})
                continue
            name = Path(c).name
            if name.startswith((".", "_")):
                continue  # _SUCCESS, .crc and other writer leftovers
            f = fmt or guess_format(c)
            if f is None:
                problems.append({"file": c, "error": "unknown format; pass --format "
                                 "parquet|jsonl|csv"})
                continue
            st = os.stat(c)
            ab = os.path.abspath(c)
            found[ab] = FileRef(ab, f, st.st_size, st.st_mtime)
    return list(found.values()), problems


def hive_values(path: str) -> dict[str, str]:
    """`key=value` folder names on the path, in order (hive partitioning)."""
    out: dict[str, str] = {}
    for part in Path(path).parent.parts:
        key, eq, value = part.partition("=")
        if eq and key and not key.startswith("."):
            out[key] = value
    return out


def _with_position(table: pa.Table, ref: FileRef) -> pa.Table:
    for key, value in hive_values(ref.path).items():
        if key not in table.column_names:
            table = table.append_column(key, pa.array([value] * table.num_rows, pa.string()))
    n = table.num_rows
    table = table.append_column("__source", pa.array([ref.path] * n, pa.string()))
    return table.append_column("__row", pa.array(range(n), pa.int64()))


def read_file(ref: FileRef) -> tuple[pa.Table, list[BadLine]]:
    """Read one file completely. Raises SourceError naming the file and the problem."""
    try:
        if ref.fmt == "parquet":
            table = pq.read_table(ref.path)
            bad: list[BadLine] = []
        elif ref.fmt == "csv":
            table = pacsv.read_csv(ref.path, convert_options=_CSV_NULLS)
            bad = []
        elif ref.fmt == "jsonl":
            table, bad = _read_jsonl(ref)
        else:
            raise SourceError(f"{ref.path}: unknown format {ref.fmt!r}")
    except SourceError:
        raise
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise SourceError(f"{ref.path}: cannot read as {ref.fmt}: {exc}") from exc
    if ref.fmt == "jsonl":
        return table, bad
    clash = [c for c in table.column_names if c.startswith("__")]
    if clash:
        raise SourceError(f"{ref.path}: column names starting with '__' are reserved "
                          f"({', '.join(clash)})")
    return _with_position(table, ref), bad


def _read_jsonl(ref: FileRef) -> tuple[pa.Table, list[BadLine]]:
    """Lines as text; the JSON itself is parsed inside DuckDB. Blank lines are skipped."""
    data = Path(ref.path).read_bytes()
    docs: list[str] = []
    rows: list[int] = []
    bad: list[BadLine] = []
    for i, line in enumerate(data.split(b"\n")):
        if not line.strip():
            continue
        try:
            docs.append(line.decode("utf-8"))
            rows.append(i)
        except UnicodeDecodeError as exc:
            bad.append(BadLine(ref.path, i, line, f"line {i + 1} is not UTF-8 text: {exc}"))
    n = len(docs)
    return pa.table({"__doc": pa.array(docs, pa.string()),
                     "__source": pa.array([ref.path] * n, pa.string()),
                     "__row": pa.array(rows, pa.int64())}), bad
