"""Find export files and read each one into Arrow. One bad file never stops the others.

Files reach DuckDB as Arrow tables (the database runs with external access off), each with
`__source` (absolute path) and `__row` (row or line number), plus hive partition columns
taken from `key=value` folder names.
"""

from __future__ import annotations

import glob
import os
import stat
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from eventlab.errors import SourceError
from eventlab.ingest.concat_json import looks_like_json, read_docs
from eventlab.ingest.formats import guess_format
from eventlab.ingest.roots import outside_message, under_roots

# An unquoted empty CSV cell is NULL, a quoted one ("") the empty string: what DuckDB's CSV
# writer produces, so a CSV from `eventlab export` loads back with its NULLs (payload,
# metadata) as NULLs.
_CSV_NULLS = pacsv.ConvertOptions(strings_can_be_null=True, quoted_strings_can_be_null=False)


@dataclass(frozen=True)
class FileRef:
    """One input file: absolute path (its identity in the store), format, size, modification
    time, and the resolved path it is read from (links followed when it was found)."""

    path: str
    fmt: str
    size: int
    mtime: float
    real: str = ""


UNKNOWN_FORMAT = "unknown format (not .parquet, .jsonl, .ndjson, .json or .csv)"
"""A file whose format its name does not tell; the caller names the way to give it."""


@dataclass
class BadLine:
    """A line that cannot be a row (JSONL: not UTF-8 text; CSV: a different number of
    fields than the header); kept for the quarantine with its raw bytes, its file and line
    (`row`: the 0-based line index)."""

    source: str
    row: int
    raw: bytes
    detail: str
    reason: str = "not UTF-8"


class Discovery(NamedTuple):
    """What `discover` found: the files to read; problems ({"file", "error"}: a path that
    matched nothing or cannot be read); entries skipped on purpose ({"file", "reason"}:
    FIFOs, sockets, devices, links out of the data folders), listed so nothing goes unsaid."""

    files: list[FileRef]
    problems: list[dict[str, str]]
    skipped: list[dict[str, str]]


_NOT_REGULAR = ((stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISSOCK, "a socket"),
                (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                (stat.S_ISDIR, "a folder"))


def _not_regular(mode: int) -> str:
    """What a non-regular file is, for the skipped list."""
    return next((name for test, name in _NOT_REGULAR if test(mode)), "not a regular file")


def _leftover(name: str) -> bool:
    """Writer leftovers (_SUCCESS, _temporary/, .crc, .hidden/) are not data."""
    return name.startswith((".", "_"))


def _walk(folder: str) -> list[str]:
    """Every entry below `folder` that is not a folder (links to folders included, as
    entries: they are not followed), writer leftovers left out."""
    out = []
    for here, dirs, names in os.walk(folder, followlinks=False):
        dirs[:] = [d for d in dirs if not _leftover(d)]
        links = [d for d in dirs if os.path.islink(os.path.join(here, d))]
        out += [os.path.join(here, n) for n in names + links if not _leftover(n)]
    return sorted(out)


def _fixed_part(path: str) -> str:
    """The folder a glob starts from (the path itself when it has no wildcard)."""
    if not any(ch in path for ch in "*?["):
        return path
    cut = min(path.index(ch) for ch in "*?[" if ch in path)
    return os.path.dirname(path[:cut]) or "."


def discover(paths: list[str], fmt: str | None = None, *,
             roots: Sequence[str] | None = None) -> Discovery:
    """Expand files, folders (recursively), globs and hive folders into input files.

    With `roots` (the data folders of a path typed in the browser, `ingest.roots`), a path
    outside them is a problem, and an entry whose resolved path leaves them (a symbolic link
    out) is skipped and listed. Without roots (the CLI) links are followed. Either way only
    regular files are read: FIFOs, sockets and devices are skipped and listed (reading a
    FIFO would wait forever).
    """
    found: dict[str, FileRef] = {}
    problems: list[dict[str, str]] = []
    skipped: list[dict[str, str]] = []
    for raw in paths:
        p = os.path.expanduser(raw)
        if roots is not None and not under_roots(_fixed_part(p), roots):
            problems.append({"file": raw, "error": outside_message(raw, roots)})
            continue
        walked = False
        if any(ch in p for ch in "*?["):
            candidates = sorted(glob.glob(p, recursive=True))
        elif os.path.isdir(p):
            candidates, walked = _walk(p), True
        else:
            candidates = [p]
        if not candidates:
            problems.append({"file": raw, "error": "no such file, folder or matching files"})
            continue
        for c in candidates:
            ab = os.path.abspath(c)
            if c != p and _leftover(Path(c).name):
                continue
            try:
                link = stat.S_ISLNK(os.lstat(c).st_mode)
            except OSError:
                problems.append({"file": raw, "error": "no such file"})
                continue
            if roots is not None and not under_roots(c, roots):
                skipped.append({"file": ab, "reason": "leads outside the data folders (a "
                                "symbolic link or ..): not read"})
                continue
            try:
                st = os.stat(c)
            except OSError:
                skipped.append({"file": ab, "reason": "a broken symbolic link: not read"})
                continue
            if not stat.S_ISREG(st.st_mode):
                if stat.S_ISDIR(st.st_mode) and not link and not walked:
                    continue  # a folder a glob matched: its files match the glob or not
                what = _not_regular(st.st_mode)
                skipped.append({"file": ab, "reason": (f"a symbolic link to {what}"
                                                       if link else what)
                                + ", not a regular file: not read"})
                continue
            f = fmt or guess_format(c) or ("jsonl" if looks_like_json(c) else None)
            if f is None:
                if not walked:
                    problems.append({"file": c, "error": UNKNOWN_FORMAT, "needs": "format"})
                continue
            found[ab] = FileRef(ab, f, st.st_size, st.st_mtime, os.path.realpath(c))
    return Discovery(list(found.values()), problems, skipped)


def hive_values(path: str) -> dict[str, str]:
    """`key=value` folder names on the path, in order (hive partitioning)."""
    out: dict[str, str] = {}
    for part in Path(path).parent.parts:
        key, eq, value = part.partition("=")
        if eq and key and not key.startswith("."):
            out[key] = value
    return out


def with_position(table: pa.Table, ref: FileRef) -> pa.Table:
    """The table with its hive columns (text), `__source` (the path) and `__row` (0-based)."""
    for key, value in hive_values(ref.path).items():
        if key not in table.column_names:
            table = table.append_column(key, _constant(value, table.num_rows))
    n = table.num_rows
    table = table.append_column("__source", _repeated(ref.path, n))
    return table.append_column("__row", pa.array(np.arange(n, dtype=np.int64)))


def _repeated(value: str, n: int) -> pa.DictionaryArray:
    """A string column holding `value` n times as a one-value dictionary, built in C (a
    Python list of n references converted value by value cost ~0.3 s per million rows)."""
    return pa.DictionaryArray.from_arrays(pa.array(np.zeros(n, dtype=np.int32)),
                                          pa.array([value], pa.string()))


def _constant(value: str, n: int) -> pa.Array:
    """`_repeated` decoded to plain strings: a hive column must have the type a file's own
    column of that name would have (`file_ingest._type_conflicts` compares them). `__source`
    stays a dictionary: DuckDB reads it as VARCHAR without the file path copied into every
    row (per 5M rows: ~0.4 GB of copies, ~2 CPU-s of decoding and scanning)."""
    return _repeated(value, n).dictionary_decode()


def read_file(ref: FileRef) -> tuple[pa.Table, list[BadLine]]:
    """Read one file completely. Raises SourceError saying the problem (the caller, which
    lists failed files by name, names the file).

    It is read from the resolved path found by `discover`, which must still be a regular
    file (not swapped for a link or a FIFO since)."""
    where = ref.real or ref.path
    try:
        if not stat.S_ISREG(os.lstat(where).st_mode):
            raise SourceError("no longer a regular file; not read")
        if ref.fmt == "parquet":
            table = pq.read_table(where)
            bad: list[BadLine] = []
        elif ref.fmt == "csv":
            table, bad = _read_csv(ref, where)
        elif ref.fmt == "jsonl":
            table, bad = _read_jsonl(ref)
        else:
            raise SourceError(f"unknown format {ref.fmt!r}")
    except SourceError:
        raise
    except (pa.ArrowException, OSError, ValueError) as exc:
        said = str(exc).replace(f"'{where}'", "it").replace(f"'{ref.path}'", "it")
        raise SourceError(f"cannot read as {ref.fmt}: {said}") from exc
    if ref.fmt == "jsonl":
        return table, bad
    clash = [c for c in table.column_names if c.startswith("__")]
    if clash:
        raise SourceError("column names starting with '__' are reserved "
                          f"({', '.join(clash)})")
    return with_position(table, ref), bad


def _read_csv(ref: FileRef, where: str) -> tuple[pa.Table, list[BadLine]]:
    """The rows of a CSV file; a row with more or fewer fields than the header is left out
    and returned as a BadLine naming its line (line numbers are known only on one thread:
    the file is read again that way when it has such a row)."""
    bad: list[BadLine] = []
    unnumbered: list[str] = []

    def keep(row: pacsv.InvalidRow) -> str:
        if row.number is None:
            unnumbered.append(row.text)
        else:
            bad.append(BadLine(ref.path, row.number - 1, row.text.encode(),
                               f"line {row.number} has {row.actual_columns} fields, the "
                               f"header {row.expected_columns}", "wrong number of fields"))
        return "skip"

    def read(threads: bool) -> pa.Table:
        return pacsv.read_csv(where, convert_options=_CSV_NULLS,
                              read_options=pacsv.ReadOptions(use_threads=threads),
                              parse_options=pacsv.ParseOptions(invalid_row_handler=keep))

    table = read(threads=True)
    if unnumbered:
        table = read(threads=False)
    return table, bad


def _read_jsonl(ref: FileRef) -> tuple[pa.Table, list[BadLine]]:
    """JSON documents as text (JSON lines, or concatenated JSON as Firehose writes it; gzip
    or not: `ingest.concat_json`), parsed inside DuckDB. A span that is not JSON (or not
    UTF-8) is a BadLine naming its line, or its object index and byte offset."""
    docs = read_docs(ref.real or ref.path, ref.path)
    bad = [BadLine(ref.path, row, p.raw, f"{p.where(by_line=row == p.line)} is "
                   + ("not UTF-8 text" if p.reason == "not UTF-8" else "not valid JSON")
                   + (f": {p.error}" if p.error else ""), p.reason)
           for row, p in docs.bad]
    return docs.table, bad
