"""JSON documents back to back: JSON lines, and concatenated JSON as Firehose writes it.

Firehose puts SNS/SQS messages into S3 as JSON objects with no delimiter between them (`{..}{..}`)
unless a delimiter processor adds newlines, and often gzip-compresses the object. This module
reads such a file, gzip or not (told by its magic bytes, not its name), a block at a time (a
2 GB file is never read in one go), and cuts it into one text per object for DuckDB to parse.

How it cuts, fast: candidate cuts are newlines and `}{` (found with `bytes.find`, in C); each
piece is checked with orjson (in C). A piece that is not valid JSON (a `}{` inside a string, a
pretty-printed object over several lines, objects apart by blanks only, a truly bad object) is
decoded exactly with the standard library from its start, a window at a time; what still fails
is one bad span, kept with its raw bytes, its object index and byte offset, and the next object
is looked for inside it (`_restart`). `bench/ingest_firehose.py` measures this against a plain
`raw_decode` loop; DuckDB's `read_json_objects` would be faster but needs file access, which the
store's connections do not have, and cannot say which object was bad.

Rows are numbered by line (as JSON lines always were) when every object starts on its own line,
else by object index (`__row`).
"""

from __future__ import annotations

import gzip
import json
import re
import zlib
from array import array
from dataclasses import dataclass
from typing import IO

import orjson
import pyarrow as pa

GZIP_MAGIC = b"\x1f\x8b"
BLOCK = 8 << 20
"""Bytes read (after decompression) per step."""
_BLANK = b" \t\r\n"
_WINDOW = 1 << 16
_DECODER = json.JSONDecoder()
UNDECIDED = -1
_TWO_ON_A_LINE = re.compile(rb"\}[ \t\r\f\v]*\{")
"""Where a line may hold two objects: such blocks are cut piece by piece."""


class ArchiveError(ValueError):
    """The file itself cannot be read to its end (a truncated or corrupt gzip stream)."""


@dataclass
class Piece:
    """A bad span (not JSON, or not UTF-8): its bytes, where it starts in the (decompressed)
    content, its object index and line, the decoder's message and the quarantine reason."""

    raw: bytes
    offset: int
    index: int
    line: int
    error: str | None = None
    reason: str = "invalid JSON"

    def where(self, by_line: bool) -> str:
        """`line N` (rows numbered by line), else `object N at byte B` (from 0)."""
        return f"line {self.line + 1}" if by_line else \
            f"object {self.index} at byte {self.offset:,}"


def open_content(path: str) -> IO[bytes]:
    """The file's content: decompressed when it starts with the gzip magic bytes."""
    f = open(path, "rb")  # noqa: SIM115 - returned to the caller, who closes it
    head = f.read(2)
    f.seek(0)
    return gzip.GzipFile(fileobj=f, mode="rb") if head == GZIP_MAGIC else f


def looks_like_json(path: str) -> bool:
    """Does the file (gzip or not) start with `{` after blanks? For files with no extension
    (Firehose object names have none). A gzip file whose start cannot be decompressed counts
    as JSON, so reading it lists the failure instead of passing it over."""
    try:
        with open(path, "rb") as f:
            head = f.read(_WINDOW)
    except OSError:
        return False
    if head[:2] == GZIP_MAGIC:
        try:
            head = zlib.decompressobj(wbits=31).decompress(head, 4096)
        except zlib.error:
            return True
    return head.lstrip(_BLANK)[:1] == b"{"


def _exact(buf: bytes, start: int) -> tuple[int | None, bool]:
    """(end of the JSON value starting at `start`, or None when it is not valid JSON; whether
    the failure is at the end of `buf`, i.e. the value may go on in the next block). The
    standard library decoder reads a growing window so a bad object costs little. Nesting
    too deep for it gives (UNDECIDED, False): the piece is kept as cut, for DuckDB to judge."""
    size = _WINDOW
    while True:
        window = buf[start:start + size]
        text = window.decode("utf-8", "surrogateescape")
        try:
            _, end = _DECODER.raw_decode(text)
        except RecursionError:
            return UNDECIDED, False
        except json.JSONDecodeError as exc:
            at_end = exc.pos >= len(text) - 8
            if at_end and start + size < len(buf):
                size *= 4
                continue
            return None, at_end
        return len(text[:end].encode("utf-8", "surrogateescape")), False


def _restart(buf: bytes, start: int, end: int) -> int:
    """Where the next object starts inside a bad piece [start, end) (an object cut short and
    followed by the next one with no `}` between): the first `{` from which the rest of the
    piece is one valid object; else `end` (also for a piece too long to try every `{`)."""
    at = buf.find(b"{", start + 1, end) if end - start <= _BIG else -1
    while at >= 0:
        try:
            orjson.loads(buf[at:end])
            return at
        except orjson.JSONDecodeError:
            at = buf.find(b"{", at + 1, end)
    return end


def _utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


WAIT, GOOD, BAD = "wait", "good", "bad"
_BIG = 1 << 20
"""Pieces longer than this are decoded exactly first (never parsed whole with orjson)."""


def _decide(buf: bytes, pos: int, end: int, final: bool) -> tuple[str, int, str]:
    """(GOOD | BAD | WAIT, where the piece starting at `pos` ends, why it is bad). `end` is the
    next candidate cut (len(buf) when none); WAIT: it may go on in the next block."""
    n = len(buf)
    if end >= n or end - pos > _BIG:
        # No cut in the rest of the block (objects apart by blanks only, or one longer than
        # the rest), or a long piece: decode exactly, never the whole rest at once.
        exact, at_end = _exact(buf, pos)
        if exact is not None and exact != UNDECIDED and (final or pos + exact < n):
            stop = pos + exact
            return (GOOD if _utf8(buf[pos:stop]) else BAD), stop, "not UTF-8 text"
        if not final and (end >= n or at_end):
            return WAIT, end, ""
    try:
        orjson.loads(buf[pos:end])
        return GOOD, end, ""
    except orjson.JSONDecodeError as exc:
        msg = str(exc)
    exact, at_end = _exact(buf, pos)
    if exact is None and at_end and not final:
        return WAIT, end, ""  # an object longer than the block, or with `}{` inside
    if exact == UNDECIDED:  # deeper than Python's decoder goes: DuckDB judges
        return (GOOD if _utf8(buf[pos:end]) else BAD), end, msg
    if exact is not None:
        stop = pos + exact
        return (GOOD if _utf8(buf[pos:stop]) else BAD), stop, msg
    return BAD, _restart(buf, pos, end), msg


class Splitter:
    """Feed the content in blocks; the objects complete so far are collected as Arrow text
    (in parts of about `PART` bytes: the Python copies never hold more), bad spans as Pieces."""

    PART = 64 << 20

    def __init__(self) -> None:
        self.buf = b""
        self.base = 0        # byte offset of buf[0] in the whole content
        self.index = 0       # object index of the next piece
        self.one_per_line = True
        self.lines: list[int] = []
        self.indexes: list[int] = []
        self.bad: list[Piece] = []
        self.parts: list[pa.Array] = []
        self._docs: list[bytes] = []
        self._size = 0
        self._line = 0       # line index at buf[_counted]
        self._counted = 0
        self._last_line = -1
        self._clean = True   # nothing undecided is kept: the JSON-lines fast path may run

    def feed(self, data: bytes, final: bool = False) -> None:
        """Cut what was fed so far into pieces (all the rest when `final`)."""
        buf = self.buf + data if self.buf else data
        used = self._json_lines(buf) if self._clean else 0
        if used:
            buf = buf[used:]
            self.base += used
        self._counted = 0
        n = len(buf)
        pos = 0
        bad_from: int | None = None
        bad_msg = ""
        brace = newline = 0  # next candidate cuts: after `}` of `}{`, after a newline
        while True:
            while pos < n and buf[pos] in _BLANK:
                pos += 1
            if pos >= n:
                break
            if brace <= pos:
                brace = buf.find(b"}{", pos)
                brace = n if brace < 0 else brace + 1
            if newline <= pos:
                newline = buf.find(b"\n", pos)
                newline = n if newline < 0 else newline + 1
            verdict, end, msg = _decide(buf, pos, min(brace, newline), final)
            if verdict == WAIT:
                break  # the piece may go on in the next block
            good = verdict == GOOD
            if good:
                if bad_from is not None:
                    self._add_bad(buf, bad_from, pos, bad_msg)
                    bad_from, bad_msg = None, ""
                self._add_good(buf[pos:end].rstrip(_BLANK), self._start_line(buf, pos))
            elif bad_from is None or buf.find(b"\n", bad_from, pos) >= 0:
                if bad_from is not None:  # bad lines stay apart; `}{` fragments join
                    self._add_bad(buf, bad_from, pos, bad_msg)
                bad_from, bad_msg = pos, msg
            pos = end
        self._clean = bad_from is None  # else a bad span waits: no fast path over it
        if bad_from is not None:
            if final:
                self._add_bad(buf, bad_from, n, bad_msg)
                pos = n
            else:
                pos = bad_from  # decided with the next block
        self._line_at(buf, pos)
        self.base += pos
        self.buf = buf[pos:]
        if final:
            self._flush()

    def _json_lines(self, buf: bytes) -> int:
        """The fast path for JSON lines: when every whole line of `buf` is blank or one
        `{...}` (no `}{` or `} {` anywhere) and valid UTF-8, take those lines as they are
        (DuckDB parses and judges them, as it always did for JSON lines), not piece by piece.
        Returns the bytes taken (0: the block goes the careful way)."""
        cut = buf.rfind(b"\n") + 1  # whole lines only: a last line without one goes carefully
        if cut <= 0:
            return 0
        head = buf[:cut]
        if _TWO_ON_A_LINE.search(head) or not _utf8(head):
            return 0
        lines = head.split(b"\n")
        docs = [line.strip(_BLANK) for line in lines]
        if not all(d[:1] == b"{" and d[-1:] == b"}" for d in docs if d):
            return 0
        first = self._line
        for i, d in enumerate(docs):
            if d:
                if first + i == self._last_line:
                    self.one_per_line = False
                self._last_line = first + i
                self._add_good(d, first + i)
        self._line += head.count(b"\n")
        return cut

    def _line_at(self, buf: bytes, pos: int) -> int:
        self._line += buf.count(b"\n", self._counted, pos)
        self._counted = pos
        return self._line

    def _start_line(self, buf: bytes, pos: int) -> int:
        """The line a piece starts on (two on one line: rows are numbered by index)."""
        line = self._line_at(buf, pos)
        if line == self._last_line:
            self.one_per_line = False
        self._last_line = line
        return line

    def _add_good(self, doc: bytes, line: int) -> None:
        self._docs.append(doc)
        self.lines.append(line)
        self.indexes.append(self.index)
        self.index += 1
        self._size += len(doc)
        if self._size >= self.PART:
            self._flush()

    def _add_bad(self, buf: bytes, start: int, end: int, error: str) -> None:
        raw = buf[start:end].rstrip(_BLANK)
        self.bad.append(Piece(raw, self.base + start, self.index, self._start_line(buf, start),
                              error, "invalid JSON" if _utf8(raw) else "not UTF-8"))
        self.index += 1

    def _flush(self) -> None:
        """The collected objects as one Arrow array (one copy, offsets computed in C)."""
        if not self._docs:
            return
        offsets = array("q", [0])
        total = 0
        for d in self._docs:
            total += len(d)
            offsets.append(total)
        data = b"".join(self._docs)
        arr = pa.LargeStringArray.from_buffers(len(self._docs), pa.py_buffer(offsets),
                                               pa.py_buffer(data))
        arr.validate(full=True)
        self.parts.append(arr)
        self._docs, self._size = [], 0


def read_content(path: str, block: int = BLOCK) -> Splitter:
    """Read and cut one file, gzip or not. Raises ArchiveError when the gzip stream is
    truncated or corrupt, OSError when the file cannot be read."""
    splitter = Splitter()
    with open_content(path) as f:
        while True:
            try:
                data = f.read(block)
            except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
                raise ArchiveError(f"gzip stream is corrupt or truncated after "
                                   f"{splitter.base + len(splitter.buf):,} decompressed "
                                   f"bytes ({exc})") from exc
            splitter.feed(data, final=not data)
            if not data:
                return splitter


@dataclass
class Docs:
    """A file cut into objects: the good ones as a table (`__doc`, `__source`, `__row`) and the
    bad spans with their row."""

    table: pa.Table
    bad: list[tuple[int, Piece]]


def read_docs(path: str, source: str, block: int = BLOCK) -> Docs:
    """Read and cut one file. Rows are lines when every object starts on its own line (JSON
    lines, as they always were), else object indexes."""
    s = read_content(path, block)
    n = len(s.lines)
    docs = pa.chunked_array(s.parts, pa.large_string()) if s.parts else pa.chunked_array(
        [], pa.large_string())
    table = pa.table({"__doc": docs,
                      "__source": pa.array([source] * n, pa.string()),
                      "__row": pa.array(s.lines if s.one_per_line else s.indexes, pa.int64())})
    return Docs(table, [(p.line if s.one_per_line else p.index, p) for p in s.bad])
