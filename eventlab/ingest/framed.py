"""Schema-registry framed records in a raw Kafka batch: decoded to JSON before the mapping.

`decode_table` looks for values and keys that start with the magic byte 0 (one vectorised
check: a batch of JSON records costs nothing more and comes back unchanged). When there are
some, it adds columns to the batch: `decoded` / `decoded_key` (the JSON text the mapping reads
instead of `value` / `key`; the stored `value` and `key` stay the original bytes),
`schema_id`, `schema_type`, `key_schema_id`, and `__schema_reason` / `__schema_detail` for the
records that go to the quarantine (unknown schema id, broken frame, registry unavailable,
payload not matching its schema). Records are grouped by schema id and each group is handed
to its decoder in one call.
"""

from __future__ import annotations

from collections import defaultdict

import pyarrow as pa
import pyarrow.compute as pc

from eventlab.schemas.catalog import SchemaCatalog, reason_of
from eventlab.schemas.wire import HEADER_BYTES

COLUMNS = ("decoded", "decoded_key", "schema_id", "schema_type", "key_schema_id",
           "__schema_reason", "__schema_detail")
"""What `decode_table` adds to a batch that has framed records."""
_TYPES = {"decoded": pa.binary(), "decoded_key": pa.binary(), "schema_id": pa.int32(),
          "schema_type": pa.string(), "key_schema_id": pa.int32(),
          "__schema_reason": pa.string(), "__schema_detail": pa.string()}


def _framed_rows(column: pa.ChunkedArray | pa.Array) -> pa.Array | None:
    """Indices of the rows starting with byte 0, or None when there is none."""
    mask = pc.fill_null(pc.equal(pc.binary_slice(column, 0, 1), b"\x00"), False)
    if not pc.any(mask).as_py():
        return None
    return pc.indices_nonzero(mask)


def has_framed(table: pa.Table) -> bool:
    """True when some value or key of the batch starts with the magic byte."""
    return any(_framed_rows(table[c]) is not None for c in ("value", "key"))


class _Column:
    """The decode results of one column (values or keys), filled row by row."""

    def __init__(self, n: int) -> None:
        self.text: list[bytes | None] = [None] * n
        self.schema_id: list[int | None] = [None] * n
        self.schema_type: list[str | None] = [None] * n
        self.reason: dict[int, tuple[str, str]] = {}


def _decode_column(column: pa.ChunkedArray, n: int, catalog: SchemaCatalog,
                   as_key: bool) -> _Column | None:
    rows = _framed_rows(column)
    if rows is None:
        return None
    out = _Column(n)
    what = "key" if as_key else "value"
    groups: dict[int, list[tuple[int, bytes]]] = defaultdict(list)
    for row, data in zip(rows.to_pylist(), pc.take(column, rows).to_pylist(), strict=True):
        if len(data) < HEADER_BYTES:
            out.reason[row] = ("broken frame", f"{what} of {len(data)} bytes starts with the "
                                               "magic byte 0 but has no 4-byte schema id")
            continue
        groups[int.from_bytes(data[1:HEADER_BYTES], "big")].append((row, data))
    for schema_id, members in groups.items():
        catalog.records[schema_id] += len(members)
        for row, _ in members:
            out.schema_id[row] = schema_id
        try:
            decoder = catalog.decoder(schema_id)
        except Exception as exc:  # noqa: BLE001 - every lookup failure quarantines its records
            reason = reason_of(exc)
            for row, _ in members:
                out.reason[row] = (reason, f"{what}: {exc}")
            continue
        kind = decoder.schema.schema_type
        results = decoder.decode([d[HEADER_BYTES:] for _, d in members], as_key)
        for (row, _), result in zip(members, results, strict=True):
            out.schema_type[row] = kind
            if isinstance(result, Exception):
                out.reason[row] = ("payload does not match schema", f"{what}: {result}")
            else:
                out.text[row] = result
    return out


def decode_table(table: pa.Table, catalog: SchemaCatalog) -> pa.Table:
    """The batch with the decoded columns (`COLUMNS`) added, or the batch itself when no
    value or key is framed."""
    n = table.num_rows
    values = _decode_column(table["value"], n, catalog, as_key=False)
    keys = _decode_column(table["key"], n, catalog, as_key=True)
    if values is None and keys is None:
        return table
    empty = [None] * n
    reason: list[str | None] = list(empty)
    detail: list[str | None] = list(empty)
    for col in (keys, values):  # a value's problem wins over its key's
        if col is not None:
            for row, (r, d) in col.reason.items():
                reason[row], detail[row] = r, d
    data = {
        "decoded": values.text if values else empty,
        "decoded_key": keys.text if keys else empty,
        "schema_id": values.schema_id if values else empty,
        "schema_type": values.schema_type if values else empty,
        "key_schema_id": keys.schema_id if keys else empty,
        "__schema_reason": reason, "__schema_detail": detail,
    }
    for name in COLUMNS:
        table = table.append_column(pa.field(name, _TYPES[name]),
                                    pa.array(data[name], _TYPES[name]))
    return table
