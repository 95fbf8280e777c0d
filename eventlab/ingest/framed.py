"""Schema-registry framed records in a raw Kafka batch: decoded to JSON before the mapping.

`decode_table` looks for values and keys that start with the magic byte 0 (one vectorised
check: a batch of JSON records costs nothing more and comes back unchanged). When there are
some, it adds columns to the batch: `decoded` / `decoded_key` (the JSON text the mapping reads
instead of `value` / `key`; the stored `value` and `key` stay the original bytes),
`schema_id`, `schema_type`, `key_schema_id`, and `__schema_reason` / `__schema_detail` for the
records that go to the quarantine (unknown schema id, broken frame, registry unavailable,
payload not matching its schema). Records are grouped by schema id and each group is handed
to its decoder in one call.

The Kafka ingest decodes in its reader process (`kafka.reader_proc`): `decode_table` there, with
`defer=True` and only the schema texts it was handed (the store's, the folder's, and the ones
the ingesting process fetched so far), leaves the records of an id it does not know (both of
their columns) to the ingesting process, which finishes the batch with `complete` (same
function, its own catalog: registry fetches, `save_pending` and the `records` counts stay on
that side).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from eventlab.errors import SchemaNotFound
from eventlab.schemas.catalog import SchemaCatalog, reason_of
from eventlab.schemas.model import Decoder
from eventlab.schemas.wire import HEADER_BYTES

COLUMNS = ("decoded", "decoded_key", "schema_id", "schema_type", "key_schema_id",
           "__schema_reason", "__schema_detail")
"""What `decode_table` adds to a batch that has framed records."""
_TYPES = {"decoded": pa.binary(), "decoded_key": pa.binary(), "schema_id": pa.int32(),
          "schema_type": pa.string(), "key_schema_id": pa.int32(),
          "__schema_reason": pa.string(), "__schema_detail": pa.string()}
DEFERRED = "__schema_deferred"
"""The column `decode_table(defer=True)` adds: True for the records left to `complete`."""


def _framed_mask(column: pa.Array) -> pa.Array | None:
    """True for the rows starting with byte 0, or None when there is none."""
    mask = pc.fill_null(pc.equal(pc.binary_slice(column, 0, 1), b"\x00"), False)
    return mask if pc.any(mask).as_py() else None


class _Column:
    """The decode results of one column (values or keys)."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.text: pa.Array = pa.nulls(n, pa.binary())
        self.schema_id: pa.Array = pa.nulls(n, pa.int32())
        self.schema_type: pa.Array = pa.nulls(n, pa.string())
        self.reason: dict[int, tuple[str, str]] = {}
        self.deferred: list[np.ndarray] = []


def _scatter(n: int, rows: np.ndarray, values: list, type_: pa.DataType) -> pa.Array:
    """An array of n nulls with `values` at `rows` (one take, no Python loop over rows)."""
    where = np.full(n, len(values), dtype=np.int64)
    where[rows] = np.arange(len(values))
    return pc.take(pa.array([*values, None], type_), pa.array(where))


def _scatter_array(n: int, rows: np.ndarray, values: pa.Array) -> pa.Array:
    """`_scatter` of an Arrow array."""
    where = np.full(n, len(values), dtype=np.int64)
    where[rows] = np.arange(len(values))
    return pc.take(pa.concat_arrays([values, pa.nulls(1, values.type)]), pa.array(where))


def _decode_group(decoder: Decoder, payloads: pa.Array, as_key: bool
                  ) -> tuple[pa.Array, dict[int, str]]:
    """A group's JSON texts as a binary array: a whole batch at a time when the decoder
    can (`decode_array`), else one Python list."""
    decode_array = getattr(decoder, "decode_array", None)
    if decode_array is not None:
        return decode_array(payloads, as_key)
    decoded, errors = decoder.decode(payloads.to_pylist(), as_key)
    return pa.array(decoded, pa.binary()), errors


def _decode_column(column: pa.ChunkedArray, n: int, catalog: SchemaCatalog,
                   as_key: bool, defer: bool = False) -> _Column | None:
    column = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    mask = _framed_mask(column)
    if mask is None:
        return None
    out = _Column(n)
    what = "key" if as_key else "value"
    lengths = pc.fill_null(pc.binary_length(column), 0)
    short = pc.and_(mask, pc.less(lengths, HEADER_BYTES))
    for row in pc.indices_nonzero(short).to_pylist():
        out.reason[row] = ("broken frame", f"{what} of {lengths[row].as_py()} bytes starts "
                                           "with the magic byte 0 but has no 4-byte schema id")
    good = pc.and_(mask, pc.invert(short))
    id_bytes = pc.if_else(good, pc.binary_slice(column, 1, HEADER_BYTES), None)
    ids = np.frombuffer(pc.cast(id_bytes, pa.binary(4)).buffers()[1], dtype=">u4")[:n]
    good_np = good.to_numpy(zero_copy_only=False)
    for row in np.flatnonzero(good_np & (ids > 0x7FFFFFFF)).tolist():  # registry ids are int32
        out.reason[row] = ("broken frame", f"{what}: schema id {int(ids[row])} is out of range")
    good_np = good_np & (ids <= 0x7FFFFFFF)
    payloads = pc.binary_slice(column, HEADER_BYTES, max(HEADER_BYTES, pc.max(lengths).as_py()))
    id_col = np.zeros(n, dtype=np.int32)
    kinds: dict[int, str] = {}
    texts: list[tuple[np.ndarray, list[bytes | None]]] = []
    for schema_id in np.unique(ids[good_np]).tolist():
        rows = np.flatnonzero(good_np & (ids == schema_id))
        catalog.records[schema_id] += len(rows)
        id_col[rows] = schema_id
        try:
            decoder = catalog.decoder(schema_id)
        except Exception as exc:  # noqa: BLE001 - every lookup failure quarantines its records
            if defer and isinstance(exc, SchemaNotFound):
                out.deferred.append(rows)
                continue
            reason = reason_of(exc)
            for row in rows.tolist():
                out.reason[row] = (reason, f"{what}: {exc}")
            continue
        kinds[schema_id] = decoder.schema.schema_type
        whole = len(rows) == n
        group = payloads if whole else pc.take(payloads, pa.array(rows))
        decoded, errors = _decode_group(decoder, group, as_key)
        for i, why in errors.items():
            out.reason[int(rows[i])] = ("payload does not match schema", f"{what}: {why}")
        texts.append((rows, decoded))
    if len(texts) == 1 and len(texts[0][0]) == n:
        out.text = texts[0][1]
    elif texts:
        rows = np.concatenate([r for r, _ in texts])
        out.text = _scatter_array(n, rows, pa.concat_arrays([t for _, t in texts]))
    out.schema_id = pa.array(id_col, pa.int32(), mask=~good_np)
    if kinds:
        names = sorted(set(kinds.values()))
        codes = np.full(n, -1, dtype=np.int32)
        for schema_id, kind in kinds.items():
            codes[good_np & (id_col == schema_id)] = names.index(kind)
        out.schema_type = pa.DictionaryArray.from_arrays(
            pa.array(codes, mask=codes < 0), pa.array(names, pa.string())).cast(pa.string())
    return out


def decode_table(table: pa.Table, catalog: SchemaCatalog, *, defer: bool = False) -> pa.Table:
    """The batch with the decoded columns (`COLUMNS`) added, or the batch itself when no
    value or key is framed. `defer`: a record whose value or key has a schema id the catalog
    does not find is not quarantined but marked in a `DEFERRED` column, for `complete`."""
    n = table.num_rows
    values = _decode_column(table["value"], n, catalog, as_key=False, defer=defer)
    keys = _decode_column(table["key"], n, catalog, as_key=True, defer=defer)
    if values is None and keys is None:
        return table
    problems: dict[int, tuple[str, str]] = {}
    for col in (keys, values):  # a value's problem wins over its key's
        if col is not None:
            problems.update(col.reason)
    if problems:
        rows = np.array(sorted(problems), dtype=np.int64)
        reason = _scatter(n, rows, [problems[r][0] for r in rows.tolist()], pa.string())
        detail = _scatter(n, rows, [problems[r][1] for r in rows.tolist()], pa.string())
    else:
        reason = detail = pa.nulls(n, pa.string())
    none = _Column(n)
    data = {
        "decoded": (values or none).text, "decoded_key": (keys or none).text,
        "schema_id": (values or none).schema_id, "schema_type": (values or none).schema_type,
        "key_schema_id": (keys or none).schema_id,
        "__schema_reason": reason, "__schema_detail": detail,
    }
    for name in COLUMNS:
        table = table.append_column(pa.field(name, _TYPES[name]), data[name])
    if defer:
        later = np.zeros(n, dtype=bool)
        for col in (keys, values):
            for rows in col.deferred if col is not None else ():
                later[rows] = True
        table = table.append_column(pa.field(DEFERRED, pa.bool_()), pa.array(later))
    return table


def complete(table: pa.Table, catalog: SchemaCatalog) -> pa.Table:
    """A batch the reader process decoded with `decode_table(defer=True)`, as
    `decode_table(raw batch, catalog)` would have made it: the deferred records decoded here
    (their rows only), the schema ids the reader used looked up in `catalog` too (so a folder's
    schema is saved with the events) and every framed record counted in `catalog.records`."""
    if DEFERRED not in table.column_names:
        return table  # nothing framed (the reader looked)
    later = table[DEFERRED].combine_chunks()
    table = table.drop_columns([DEFERRED])
    done = pc.invert(later)
    for name in ("schema_id", "key_schema_id"):
        ids = pc.filter(table[name], done).drop_null()
        for item in pc.value_counts(ids).to_pylist():
            schema_id = item["values"]
            catalog.records[schema_id] += item["counts"]
            try:
                catalog.decoder(schema_id)
            except Exception:  # noqa: BLE001, S112 - the reader quarantined it with this reason
                continue
    if not pc.any(later).as_py():
        return table
    raw = table.drop_columns(list(COLUMNS))
    if pc.all(later).as_py():
        return decode_table(raw, catalog)
    rows = pc.indices_nonzero(later)
    mine = decode_table(raw.take(rows), catalog)
    n = table.num_rows
    where = np.arange(n, dtype=np.int64)
    where[rows.to_numpy()] = n + np.arange(len(rows))
    index = pa.array(where)
    for name in COLUMNS:
        merged = pa.concat_arrays([table[name].combine_chunks(),
                                   mine[name].combine_chunks().cast(_TYPES[name])])
        table = table.set_column(table.schema.get_field_index(name),
                                 pa.field(name, _TYPES[name]), pc.take(merged, index))
    return table
