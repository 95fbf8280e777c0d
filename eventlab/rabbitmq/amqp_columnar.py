"""The common AMQP 1.0 layout read for a whole batch at once, column by column.

`amqp_fast` reads one message at a time in Python: about 15 µs a message, most of a stream
ingest's time (profiled: `sections`, `_list` and `_scalar`). Messages of one stream nearly always
share their layout, so this reads every message of a batch in lockstep with numpy: one step per
section and per field reads the constructor byte of every message at its own position and moves
each by its own width. A step costs the same for 1 or 20,000 messages.

`batch` gives the body and header arrays for the rows it could read exactly as
`records.message_parts` would, and the rows it left alone: any value other than a string,
binary, symbol, integer, timestamp, boolean or null (a float, a UUID, a nested or described
value), a property key that is not valid UTF-8 text, a repeated key, an `amqp-value` body
that is not a string or binary, a section or field running past the end. Those rows go to the
per-message reader (`records.message_parts`), so they come out exactly as before.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

_HEADER, _DELIVERY_ANN, _MESSAGE_ANN, _PROPERTIES, _APP_PROPS = 0x70, 0x71, 0x72, 0x73, 0x74
_DATA, _VALUE, _FOOTER = 0x75, 0x77, 0x78
_PROPERTY_FIELDS = 13
_HEADER_FIELDS = 5
_MAX_SECTIONS = 16
_PAD = 16
_TWELVE = np.arange(12)[None, :]

# constructor -> kind: 1 bytes (8-bit length), 2 bytes (32-bit length), 3 null, 4 unsigned
# integer, 5 signed integer, 6 boolean, 7 other fixed width (read past, never kept)
_VAR8, _VAR32, _NULL, _UINT, _SINT, _BOOL, _OTHER = 1, 2, 3, 4, 5, 6, 7
_KIND = np.zeros(256, np.int8)
_WIDTH = np.zeros(256, np.int64)
for _c in (0xA0, 0xA1, 0xA3):
    _KIND[_c] = _VAR8
for _c in (0xB0, 0xB1, 0xB3):
    _KIND[_c] = _VAR32
_KIND[0x40] = _NULL
for _c, _w in ((0x43, 0), (0x44, 0), (0x50, 1), (0x52, 1), (0x53, 1), (0x60, 2), (0x70, 4),
               (0x80, 8)):
    _KIND[_c], _WIDTH[_c] = _UINT, _w
for _c, _w in ((0x51, 1), (0x54, 1), (0x55, 1), (0x61, 2), (0x71, 4), (0x81, 8), (0x83, 8)):
    _KIND[_c], _WIDTH[_c] = _SINT, _w
for _c, _w in ((0x41, 0), (0x42, 0), (0x56, 1)):
    _KIND[_c], _WIDTH[_c] = _BOOL, _w
for _c, _w in ((0x72, 4), (0x82, 8), (0x98, 16)):
    _KIND[_c], _WIDTH[_c] = _OTHER, _w
"""0x73 char and the decimals are unknown here as in `amqp_fast` (rstream cannot read them)."""


@dataclass
class _Entries:
    """Header entries found so far: sort key, row, key and value arrays, chunk by chunk."""

    order: list[np.ndarray] = field(default_factory=list)
    rows: list[np.ndarray] = field(default_factory=list)
    keys: list[pa.Array] = field(default_factory=list)
    values: list[pa.Array] = field(default_factory=list)


class _Batch:
    """The messages of a batch in one buffer, each read at its own position."""

    def __init__(self, messages: Sequence[bytes]) -> None:
        lengths = np.fromiter((len(m) for m in messages), np.int64, len(messages))
        self.start = np.zeros(len(messages), np.int64)
        np.cumsum(lengths[:-1], out=self.start[1:])
        self.end = self.start + lengths
        joined = b"".join(messages)
        self.raw = joined
        self.buf = np.frombuffer(joined + bytes(_PAD), np.uint8)
        self.last = len(self.buf) - _PAD
        self.ok = np.ones(len(messages), bool)

    def u8(self, at: np.ndarray) -> np.ndarray:
        return self.buf[np.minimum(at, self.last)].astype(np.int64)

    def u32(self, at: np.ndarray) -> np.ndarray:
        at = np.minimum(at, self.last)
        b = self.buf
        return ((b[at].astype(np.int64) << 24) | (b[at + 1].astype(np.int64) << 16)
                | (b[at + 2].astype(np.int64) << 8) | b[at + 3].astype(np.int64))

    def ints(self, at: np.ndarray, width: np.ndarray, signed: np.ndarray) -> np.ndarray:
        """Big-endian integers of 0-8 bytes at `at` (as uint64; signed ones two's complement
        in 64 bits)."""
        at = np.minimum(at, self.last)
        out = np.zeros(len(at), np.uint64)
        for i in range(8):
            has = width > i
            if not has.any():
                break
            out[has] = (out[has] << np.uint64(8)) | self.buf[at[has] + i].astype(np.uint64)
        for w in (1, 2, 4):
            neg = signed & (width == w)
            if neg.any():
                top = np.uint64(1 << (8 * w - 1))
                sel = neg & ((out & top) != 0)
                out[sel] = out[sel] | np.uint64((~((1 << (8 * w)) - 1)) & 0xFFFFFFFFFFFFFFFF)
        return out

    def slices(self, at: np.ndarray, lengths: np.ndarray) -> pa.Array:
        """The bytes at `at` of `lengths`, as one binary array: Arrow binary views over the
        batch's buffer (16 bytes a row built with numpy), then one copying cast in C++. A
        numpy gather of every byte or a Python slice per row cost several times more."""
        n = len(at)
        views = np.zeros((n, 16), np.uint8)
        views[:, 0:4] = lengths.astype("<i4").view(np.uint8).reshape(n, 4)
        head = self.buf[np.minimum(at[:, None] + _TWELVE, self.last + _PAD - 1)]
        head[lengths[:, None] <= _TWELVE] = 0
        short = lengths <= 12
        views[short, 4:16] = head[short]
        long_ = ~short
        views[long_, 4:8] = head[long_, :4]
        views[long_, 12:16] = at[long_].astype("<i4").view(np.uint8).reshape(-1, 4)
        return pa.Array.from_buffers(pa.binary_view(), n, [
            None, pa.py_buffer(views), pa.py_buffer(self.raw)]).cast(pa.binary())

    def scalar(self, rows: np.ndarray, at: np.ndarray, limit: np.ndarray
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(kind, constructor, data start, data length, next position) of the scalar whose
        constructor is at `at`; rows running past `limit` or of an unknown kind fail."""
        ctor = self.u8(at)
        kind = _KIND[ctor]
        p = at + 1
        length = _WIDTH[ctor].copy()
        data = p.copy()
        v8 = kind == _VAR8
        length[v8] = self.u8(p[v8])
        data[v8] = p[v8] + 1
        v32 = kind == _VAR32
        length[v32] = self.u32(p[v32])
        data[v32] = p[v32] + 4
        nxt = data + length
        bad = (kind == 0) | (nxt > limit)
        self.ok[rows[bad]] = False
        length[bad] = 0
        return kind, ctor, data, length, nxt

    def text(self, rows: np.ndarray, kind: np.ndarray, ctor: np.ndarray, data: np.ndarray,
             length: np.ndarray, *, keep_null: bool, other_fails: bool = True
             ) -> tuple[np.ndarray, pa.Array | None]:
        """(positions kept, values as bytes) of scalars: strings as they are, integers and
        timestamps as decimal text, booleans as true/false; nulls kept as null under
        `keep_null`, else dropped; other kinds fail their rows (values come back None
        when nothing is kept)."""
        if other_fails:
            self.ok[rows[kind == _OTHER]] = False
        var = (kind == _VAR8) | (kind == _VAR32)
        num = (kind == _UINT) | (kind == _SINT)
        boolean = kind == _BOOL
        null = kind == _NULL
        keep = var | num | boolean | (null if keep_null else np.zeros(len(kind), bool))
        idx = np.flatnonzero(keep)
        if not len(idx):
            return idx, None
        if var[idx].all():
            return idx, self.slices(data[idx], length[idx])
        if num[idx].all() and len(np.unique(kind[idx])) == 1:
            raw = self.ints(data[idx], length[idx], kind[idx] == _SINT)
            ints = pa.array(raw.view(np.int64) if kind[idx[0]] == _SINT else raw)
            return idx, ints.cast(pa.string()).cast(pa.binary())
        out: list[bytes | None] = [None] * len(idx)
        sub = var[idx]
        if sub.any():
            for j, v in zip(np.flatnonzero(sub).tolist(),
                            self.slices(data[idx][sub], length[idx][sub]).to_pylist(),
                            strict=True):
                out[j] = v
        sub = num[idx]
        if sub.any():
            k = idx[sub]
            raw = self.ints(data[k], length[k], kind[k] == _SINT)
            signed = kind[k] == _SINT
            values = [int(v) - (1 << 64) if s and v >> 63 else int(v)
                      for v, s in zip(raw.tolist(), signed.tolist(), strict=True)]
            for j, v in zip(np.flatnonzero(sub).tolist(), values, strict=True):
                out[j] = str(v).encode()
        sub = boolean[idx]
        if sub.any():
            k = idx[sub]
            truth = (ctor[k] == 0x41) | ((ctor[k] == 0x56) & (self.u8(data[k]) == 1))
            for j, t in zip(np.flatnonzero(sub).tolist(), truth.tolist(), strict=True):
                out[j] = b"true" if t else b"false"
        return idx, pa.array(out, pa.binary())


def _compound(b: _Batch, rows: np.ndarray, at: np.ndarray, ctor: np.ndarray, lists: bool
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(count, first element position, end) of the list (or map) whose constructor was at
    `at - 1`; any other constructor fails its row."""
    small, wide, empty = (0xC0, 0xD0, 0x45) if lists else (0xC1, 0xD1, -1)
    count = np.zeros(len(rows), np.int64)
    first = at.copy()
    end = at.copy()
    s = ctor == small
    count[s] = b.u8(at[s] + 1)
    first[s] = at[s] + 2
    end[s] = at[s] + 1 + b.u8(at[s])
    w = ctor == wide
    count[w] = b.u32(at[w] + 4)
    first[w] = at[w] + 8
    end[w] = at[w] + 4 + b.u32(at[w])
    b.ok[rows[~(s | w | (ctor == empty)) | (end > b.end[rows])]] = False
    return count, first, end


def _emit(entries: _Entries, rows: np.ndarray, order: np.ndarray, keys: pa.Array,
          values: pa.Array) -> None:
    entries.rows.append(rows)
    entries.order.append(order)
    entries.keys.append(keys)
    entries.values.append(values)


def _list_section(b: _Batch, rows: np.ndarray, at: np.ndarray, ctor: np.ndarray,
                  names: tuple[str, ...] | None, entries: _Entries) -> np.ndarray:
    """Read a list section (properties when `names`, else the header); returns where each
    row goes next."""
    count, pos, end = _compound(b, rows, at, ctor, lists=True)
    most = _PROPERTY_FIELDS if names is not None else _HEADER_FIELDS
    b.ok[rows[count > most]] = False
    for i in range(int(count[b.ok[rows]].max(initial=0))):
        live = np.flatnonzero(b.ok[rows] & (count > i))
        if not len(live):
            break
        r = rows[live]
        kind, c, data, length, nxt = b.scalar(r, pos[live], b.end[r])
        pos[live] = nxt
        if names is not None:
            keep, values = b.text(r, kind, c, data, length, keep_null=False)
            if values is not None:
                _emit(entries, r[keep], np.full(len(keep), i, np.int64),
                      pa.array([names[i]] * len(keep), pa.string()), values)
    b.ok[rows[pos != end]] = False
    return end


def _map_section(b: _Batch, rows: np.ndarray, at: np.ndarray, ctor: np.ndarray,
                 group: int | None, entries: _Entries) -> np.ndarray:
    """Read a map section (kept as headers of `group` unless None); returns where each row
    goes next."""
    count, pos, end = _compound(b, rows, at, ctor, lists=False)
    b.ok[rows[(count % 2 == 1) | (count > 2 * 50_000)]] = False
    for i in range(int(count[b.ok[rows]].max(initial=0)) // 2):
        live = np.flatnonzero(b.ok[rows] & (count > 2 * i))
        if not len(live):
            break
        r = rows[live]
        kk, _kc, kd, kl, nxt = b.scalar(r, pos[live], b.end[r])
        vk, vc, vd, vl, nxt = b.scalar(r, nxt, b.end[r])
        pos[live] = nxt
        if group is None:
            continue
        b.ok[r[(kk != _VAR8) & (kk != _VAR32)]] = False  # a key that is not text
        keep, values = b.text(r, vk, vc, vd, vl, keep_null=True)
        if values is not None:
            keys = b.slices(kd[keep], kl[keep])
            b.ok[r[keep][~_utf8(keys)]] = False
            _emit(entries, r[keep], group + np.full(len(keep), i, np.int64),
                  keys.cast(pa.string(), safe=False), values)
    b.ok[rows[pos != end]] = False
    return end


def _utf8(keys: pa.Array) -> np.ndarray:
    """Which keys are valid UTF-8 (one validating cast; a per-key look only when one is
    not)."""
    try:
        keys.cast(pa.string())
        return np.ones(len(keys), bool)
    except pa.ArrowInvalid:
        return np.array([_decodes(k) for k in keys.to_pylist()], bool)


def _decodes(key: bytes) -> bool:
    try:
        key.decode("utf-8")
        return True
    except UnicodeDecodeError:
        return False


def _repeated_keys(b: _Batch, rows: np.ndarray, order: np.ndarray, keys: pa.Array) -> None:
    """Fail rows with a key twice in one map (rstream keeps a dict: the per-message reader
    reproduces what that does). One dictionary encoding and one sort, no per-row look."""
    in_map = order >= _ANN_GROUP
    if not in_map.any():
        return
    encoded = pc.dictionary_encode(pc.filter(keys, pa.array(in_map)))
    size = max(len(encoded.dictionary), 1)
    codes = encoded.indices.to_numpy().astype(np.int64)
    composite = np.sort((rows[in_map] * 4 + order[in_map] // _GROUP) * size + codes)
    twice = composite[1:][composite[1:] == composite[:-1]]
    b.ok[twice // size // 4] = False


_GROUP = 1 << 20
_ANN_GROUP = _GROUP
_APP_GROUP = 2 * _GROUP


def batch(messages: Sequence[bytes], property_names: tuple[str, ...]
          ) -> tuple[pa.Array, pa.Array, pa.Array, np.ndarray]:
    """(bodies, header list offsets, headers, rows left alone) of a batch.

    Bodies: binary, one per message (empty for a row left alone). Headers: (key, value)
    structs of every row in `records.message_parts`' order, cut per row by the int32
    offsets (n + 1; a row left alone has none). Rows left alone: their indices, for the
    per-message reader."""
    n = len(messages)
    b = _Batch(messages)
    entries = _Entries()
    pos = b.start.copy()
    body_at = np.zeros(n, np.int64)
    body_len = np.zeros(n, np.int64)
    is_data = np.zeros(n, bool)
    value_kind = np.full(n, _NULL, np.int8)
    seen = np.zeros((n, 3), bool)  # properties, annotations, application properties
    for _ in range(_MAX_SECTIONS):
        live = np.flatnonzero(b.ok & (pos < b.end))
        if not len(live):
            break
        at = pos[live]
        good = ((pos[live] + 4 <= b.end[live]) & (b.u8(at) == 0) & (b.u8(at + 1) == 0x53))
        b.ok[live[~good]] = False
        live, at = live[good], at[good]
        code, ctor = b.u8(at + 2), b.u8(at + 3)
        at = at + 4
        nxt = at.copy()
        m = code == _DATA
        if m.any():
            r = live[m]
            kind, _c, data, length, end = b.scalar(r, at[m] - 1, b.end[r])
            b.ok[r[(ctor[m] != 0xA0) & (ctor[m] != 0xB0)]] = False
            body_at[r], body_len[r], is_data[r] = data, length, True
            nxt[m] = end
        m = code == _VALUE
        if m.any():
            r = live[m]
            kind, _c, data, length, end = b.scalar(r, at[m] - 1, b.end[r])
            b.ok[r[(kind != _VAR8) & (kind != _VAR32) & (kind != _NULL)]] = False
            value = r[~is_data[r]]
            body_at[value], body_len[value] = data[~is_data[r]], length[~is_data[r]]
            value_kind[r] = kind
            nxt[m] = end
        for code_, slot in ((_PROPERTIES, 0), (_HEADER, -1)):
            m = code == code_
            if m.any():
                r = live[m]
                if slot >= 0:
                    b.ok[r[seen[r, slot]]] = False
                    seen[r, slot] = True
                nxt[m] = _list_section(b, r, at[m], ctor[m],
                                       property_names if slot >= 0 else None, entries)
        for code_, slot, group in ((_MESSAGE_ANN, 1, _ANN_GROUP), (_APP_PROPS, 2, _APP_GROUP),
                                   (_DELIVERY_ANN, -1, None), (_FOOTER, -1, None)):
            m = code == code_
            if m.any():
                r = live[m]
                if slot >= 0:
                    b.ok[r[seen[r, slot]]] = False
                    seen[r, slot] = True
                nxt[m] = _map_section(b, r, at[m], ctor[m], group, entries)
        known = np.isin(code, (_DATA, _VALUE, _PROPERTIES, _HEADER, _MESSAGE_ANN, _APP_PROPS,
                               _DELIVERY_ANN, _FOOTER))
        b.ok[live[~known]] = False
        pos[live] = nxt
    else:
        b.ok[pos < b.end] = False
    # a value section after a data section does not replace the body; a data section after
    # a value section does (as `amqp_fast`): recorded above in section order
    body_len[~b.ok] = 0
    body_at[~b.ok] = 0
    bodies = b.slices(body_at, body_len)
    if entries.rows:
        rows = np.concatenate(entries.rows)
        order = rows * (3 * _GROUP) + np.concatenate(entries.order)
        keys = pa.concat_arrays(entries.keys)
        values = pa.concat_arrays(entries.values)
        _repeated_keys(b, rows, np.concatenate(entries.order), keys)
        keep = b.ok[rows]
        sort = np.argsort(order[keep], kind="stable")
        where = np.flatnonzero(keep)[sort]
        rows = rows[where]
        keys, values = keys.take(pa.array(where)), values.take(pa.array(where))
    else:
        rows = np.zeros(0, np.int64)
        keys, values = pa.array([], pa.string()), pa.array([], pa.binary())
    offsets = np.zeros(n + 1, np.int32)
    np.cumsum(np.bincount(rows, minlength=n), out=offsets[1:])
    return bodies, pa.array(offsets, pa.int32()), pa.StructArray.from_arrays(
        [keys, values], names=["key", "value"]), np.flatnonzero(~b.ok)
