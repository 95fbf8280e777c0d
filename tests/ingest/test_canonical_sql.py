"""The canonical SQL builders: exact SQL text and bound params, then what the SQL computes.

The first half needs no database: like datasette's filter tests, each case states the exact
fragment and params a field reference gives for one column type. The second half runs the
generated SQL on an in-memory EventLab store over a registered Arrow table.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa
import pytest

from eventlab.ingest.canonical_sql import (
    Sql,
    final_select,
    json_expr,
    mapped_select,
    text_expr,
    ts_exprs,
)
from eventlab.ingest.mapping import FieldRef, MappingSpec, resolve
from eventlab.store import db
from eventlab.store.eventstore import EventStore
from eventlab.store.schema import FILE_COLUMNS

EPOCH_DIGITS = r"-?\d{9,}(\.\d+)?"
ZONE_SUFFIX = r"\d:\d\d(:\d\d(\.\d+)?)?\s*([Zz]|[+-]\d\d(:?\d\d)?)$"
INTERNAL = ("__source", "__row")


def _col(name: str, path: str | None = None) -> FieldRef:
    return FieldRef(column=name, path=path)


def _epoch(x: str) -> str:
    """The epoch-by-magnitude expression of `x`, written out."""
    return (f"CASE WHEN abs({x}) >= 1e15 THEN to_timestamp({x} / 1e6) "
            f"WHEN abs({x}) >= 1e11 THEN to_timestamp({x} / 1e3) ELSE to_timestamp({x}) END")


def _as_pair(sql: Sql) -> tuple[str, list[Any]]:
    return sql.text, sql.params


# --- text_expr ------------------------------------------------------------------------------

@pytest.mark.parametrize(("ref", "ctype", "text", "params"), [
    (_col("name"), "VARCHAR", 'CAST("name" AS VARCHAR)', []),
    (_col("n"), "BIGINT", 'CAST("n" AS VARCHAR)', []),
    (_col("j"), "JSON", "json_extract_string(\"j\", '$')", []),
    (_col("b"), "BLOB", 'TRY(decode("b"))', []),
    (_col("s"), "STRUCT(a INTEGER)", 'CAST(to_json("s") AS VARCHAR)', []),
    (_col("m"), "MAP(VARCHAR, INTEGER)", 'CAST(to_json("m") AS VARCHAR)', []),
    (_col("l"), "INTEGER[]", 'CAST(to_json("l") AS VARCHAR)', []),
    (_col("doc", "$.a.b"), "VARCHAR", 'json_extract_string(TRY_CAST("doc" AS JSON), ?)',
     ["$.a.b"]),
    (_col("doc", "$.a"), "JSON", 'json_extract_string("doc", ?)', ["$.a"]),
    (_col("doc", "$[0]"), "STRUCT(a INTEGER)", 'json_extract_string(to_json("doc"), ?)',
     ["$[0]"]),
    (_col('we"ird'), "VARCHAR", 'CAST("we""ird" AS VARCHAR)', []),
], ids=["varchar", "number", "json", "blob", "struct", "map", "list", "varchar-path",
        "json-path", "struct-path", "quoted-name"])
def test_text_expr_of_a_column(ref: FieldRef, ctype: str, text: str, params: list) -> None:
    assert _as_pair(text_expr(ref, {ref.column: ctype})) == (text, params)


def test_text_expr_of_a_literal_binds_it_as_text() -> None:
    assert _as_pair(text_expr(FieldRef(literal="order"), {})) == ("CAST(? AS VARCHAR)",
                                                                   ["order"])
    assert _as_pair(text_expr(FieldRef(literal=7), {})) == ("CAST(? AS VARCHAR)", ["7"])
    assert _as_pair(text_expr(FieldRef(), {})) == ("CAST(? AS VARCHAR)", [None])


def test_text_expr_of_an_unknown_column_is_an_error() -> None:
    with pytest.raises(KeyError):
        text_expr(_col("nope"), {"other": "VARCHAR"})


# --- json_expr ------------------------------------------------------------------------------

@pytest.mark.parametrize(("ref", "ctype", "text", "params"), [
    (_col("j"), "JSON", '"j"', []),
    (_col("v"), "VARCHAR", 'coalesce(TRY_CAST("v" AS JSON), to_json("v"))', []),
    (_col("b"), "BLOB", 'to_json(base64("b"))', []),
    (_col("n"), "DOUBLE", 'to_json("n")', []),
    (_col("s"), "STRUCT(a INTEGER, b VARCHAR)", 'to_json("s")', []),
    (_col("t"), "TIMESTAMP WITH TIME ZONE", 'to_json("t")', []),
    (_col("v", "$.data"), "VARCHAR", 'json_extract(TRY_CAST("v" AS JSON), ?)', ["$.data"]),
    (_col("j", "$.data"), "JSON", 'json_extract("j", ?)', ["$.data"]),
    (_col("s", "$.a"), "STRUCT(a INTEGER)", 'json_extract(to_json("s"), ?)', ["$.a"]),
], ids=["json", "varchar", "blob", "number", "struct", "timestamptz", "varchar-path",
        "json-path", "struct-path"])
def test_json_expr_of_a_column(ref: FieldRef, ctype: str, text: str, params: list) -> None:
    assert _as_pair(json_expr(ref, {ref.column: ctype})) == (text, params)


def test_json_expr_of_a_literal_binds_the_value_itself() -> None:
    assert _as_pair(json_expr(FieldRef(literal=3), {})) == ("to_json(?)", [3])
    assert _as_pair(json_expr(FieldRef(literal="x"), {})) == ("to_json(?)", ["x"])


# --- ts_exprs -------------------------------------------------------------------------------

def _ts(ref: FieldRef, types: dict[str, str]) -> list[tuple[str, list[Any]]]:
    return [_as_pair(s) for s in ts_exprs(ref, types)]


def test_ts_of_a_timestamptz_column_is_the_column_and_never_naive() -> None:
    assert _ts(_col("t"), {"t": "TIMESTAMP WITH TIME ZONE"}) == [
        ('"t"', []), ('"t" IS NOT NULL', []), ("false", [])]


@pytest.mark.parametrize("ctype", ["TIMESTAMP", "TIMESTAMP_NS", "TIMESTAMP_MS", "DATE"])
def test_ts_of_a_naive_timestamp_column_is_cast_and_assumed_utc(ctype: str) -> None:
    assert _ts(_col("t"), {"t": ctype}) == [
        ('CAST("t" AS TIMESTAMPTZ)', []), ('"t" IS NOT NULL', []), ('"t" IS NOT NULL', [])]


@pytest.mark.parametrize("ctype", ["BIGINT", "INTEGER", "DOUBLE", "UBIGINT"])
def test_ts_of_a_number_column_is_epoch_by_magnitude(ctype: str) -> None:
    assert _ts(_col("t"), {"t": ctype}) == [
        (_epoch('"t"'), []), ('"t" IS NOT NULL', []), ("false", [])]


def test_ts_of_a_text_column_tries_epoch_digits_then_iso() -> None:
    t = 'CAST("t" AS VARCHAR)'
    ts, present, naive = _ts(_col("t"), {"t": "VARCHAR"})
    assert ts == (f"CASE WHEN regexp_full_match(trim({t}), ?) THEN "
                  f"{_epoch(f'TRY_CAST({t} AS DOUBLE)')} ELSE TRY_CAST({t} AS TIMESTAMPTZ) END",
                  [EPOCH_DIGITS])
    assert present == (f"nullif(trim({t}), '') IS NOT NULL", [])
    assert naive == (f"coalesce(NOT regexp_full_match(trim({t}), ?) AND NOT "
                     f"regexp_matches(trim({t}), ?), false)", [EPOCH_DIGITS, ZONE_SUFFIX])


def test_ts_of_a_json_path_repeats_the_path_param_once_per_use() -> None:
    t = 'json_extract_string("doc", ?)'
    ts, present, naive = _ts(_col("doc", "$.at"), {"doc": "JSON"})
    assert ts[0].startswith(f"CASE WHEN regexp_full_match(trim({t}), ?) THEN ")
    assert ts[1] == ["$.at", EPOCH_DIGITS, *["$.at"] * 6]
    assert present == (f"nullif(trim({t}), '') IS NOT NULL", ["$.at"])
    assert naive[1] == ["$.at", EPOCH_DIGITS, "$.at", ZONE_SUFFIX]
    for text, params in (ts, present, naive):
        assert text.count("?") == len(params)


def test_mapped_select_extracts_the_time_text_once() -> None:
    """The time field's text is one column of an inner SELECT; ts, present and naive parse
    that column (not the JSON path seven times), and the params stay in textual order."""
    mapping = resolve(MappingSpec(preset="envelope", overrides={
        "ts": FieldRef(column="meta", path="$.at")}), ["id", "type", "aggregateId", "meta"])
    types = {"id": "VARCHAR", "type": "VARCHAR", "aggregateId": "VARCHAR", "meta": "JSON"}
    sel = mapped_select(mapping, types, "src")
    assert sel.text.count('json_extract_string("meta", ?)') == 1
    assert 'json_extract_string("meta", ?) AS "__ts_text" FROM src' in sel.text
    assert sel.text.count("?") == len(sel.params) and sel.params[-1] == "$.at"


def test_ts_of_a_path_into_a_timestamp_column_goes_through_text() -> None:
    ts, _, _ = _ts(_col("t", "$.x"), {"t": "TIMESTAMP WITH TIME ZONE"})
    assert 'json_extract_string(to_json("t"), ?)' in ts[0]


# --- running the expressions ----------------------------------------------------------------

def test_mapped_select_reads_integer_columns_as_integers_and_text_through_text() -> None:
    mapping = resolve(MappingSpec(preset="envelope"), ["id", "type", "aggregateId",
                                                       "timestamp", "version", "schemaVersion"])
    types = {"id": "VARCHAR", "type": "VARCHAR", "aggregateId": "VARCHAR",
             "timestamp": "TIMESTAMP WITH TIME ZONE", "version": "UBIGINT",
             "schemaVersion": "VARCHAR"}
    sel = mapped_select(mapping, types, "src")
    assert 'TRY_CAST("version" AS BIGINT) AS "seq_src"' in sel.text
    assert ('TRY_CAST(CAST("schemaVersion" AS VARCHAR) AS INTEGER) AS "event_version"'
            in sel.text)


@pytest.fixture()
def cur() -> db.Connection:
    """A cursor of a fresh in-memory store (TimeZone UTC, as in production)."""
    return EventStore(":memory:").cursor()


def _run_ts(cur: db.Connection, values: pa.Array) -> list[tuple[Any, bool, bool]]:
    """(ts, present, assumed_utc) of each value of a one-column table `t`."""
    db.register(cur, "src", pa.table({"t": values}))
    ctype = db.rows(cur, "DESCRIBE SELECT t FROM src")[0][1]
    ts, present, naive = ts_exprs(_col("t"), {"t": ctype})
    return db.rows(cur, f"SELECT {ts.text}, {present.text}, {naive.text} FROM src",
                   ts.params + present.params + naive.params)


T = datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)  # epoch 1_700_000_000


def test_epoch_text_is_read_as_seconds_ms_or_us_by_magnitude(cur: db.Connection) -> None:
    got = _run_ts(cur, pa.array(["1700000000", "1700000000123", "1700000000123456",
                                 " 1700000000.5 "]))
    assert [g[0] for g in got] == [T, T.replace(microsecond=123000),
                                   T.replace(microsecond=123456), T.replace(microsecond=500000)]
    assert all(present and not naive for _, present, naive in got)


def test_epoch_numbers_are_read_by_magnitude_too(cur: db.Connection) -> None:
    got = _run_ts(cur, pa.array([1700000000, 1700000000123, 1700000000123456, None], pa.int64()))
    assert got == [(T, True, False), (T.replace(microsecond=123000), True, False),
                   (T.replace(microsecond=123456), True, False), (None, False, False)]


def test_iso_text_with_a_zone_is_converted_to_utc(cur: db.Connection) -> None:
    got = _run_ts(cur, pa.array(["2024-03-05T10:00:00Z", "2024-03-05T10:00:00+02:00",
                                 "2024-03-05T10:00:00.5-0530"]))
    assert got == [(datetime(2024, 3, 5, 10, tzinfo=UTC), True, False),
                   (datetime(2024, 3, 5, 8, tzinfo=UTC), True, False),
                   (datetime(2024, 3, 5, 15, 30, 0, 500000, tzinfo=UTC), True, False)]


def test_iso_text_without_a_zone_is_taken_as_utc_and_flagged(cur: db.Connection) -> None:
    got = _run_ts(cur, pa.array(["2024-03-05 10:00:00", "2024-03-05T10:00:00.250"]))
    assert got == [(datetime(2024, 3, 5, 10, tzinfo=UTC), True, True),
                   (datetime(2024, 3, 5, 10, 0, 0, 250000, tzinfo=UTC), True, True)]


def test_a_date_without_a_zone_is_flagged_as_assumed_utc(cur: db.Connection) -> None:
    """ISO 8601 date-only text has no zone: it is midnight *assumed* UTC, like a DATE column.

    The zone-suffix pattern `[+-]\\d\\d$` also matches the day ("-05") of "2024-03-05".
    """
    text = _run_ts(cur, pa.array(["2024-03-05"]))
    typed = _run_ts(cur, pa.array([datetime(2024, 3, 5).date()]))
    assert typed == [(datetime(2024, 3, 5, tzinfo=UTC), True, True)]
    assert text == [(datetime(2024, 3, 5, tzinfo=UTC), True, True)]


def test_naive_timestamp_column_is_assumed_utc(cur: db.Connection) -> None:
    got = _run_ts(cur, pa.array([datetime(2024, 1, 2, 3, 4), None], pa.timestamp("us")))
    assert got == [(datetime(2024, 1, 2, 3, 4, tzinfo=UTC), True, True), (None, False, False)]


def test_blank_or_garbage_time_text(cur: db.Connection) -> None:
    got = _run_ts(cur, pa.array(["", "   ", None, "soon"]))
    assert [(ts, present) for ts, present, _ in got] == [
        (None, False), (None, False), (None, False), (None, True)]


def test_text_and_json_expressions_on_real_columns(cur: db.Connection) -> None:
    db.register(cur, "src", pa.table({
        "doc": ['{"a": {"b": "x"}, "n": 1}', "plain text"],
        "raw": pa.array([b"bytes", b"\xff"], pa.binary()),
    }))
    types = {"doc": "VARCHAR", "raw": "BLOB"}
    parts = [text_expr(_col("doc", "$.a.b"), types), json_expr(_col("doc"), types),
             text_expr(_col("raw"), types), json_expr(_col("raw"), types)]
    sql = ", ".join(p.text for p in parts)
    got = db.rows(cur, f"SELECT {sql} FROM src", [x for p in parts for x in p.params])
    assert got == [("x", '{"a": {"b": "x"}, "n": 1}', "bytes", '"Ynl0ZXM="'),
                   (None, '"plain text"', None, '"/w=="')]


# --- mapped_select and final_select ---------------------------------------------------------

def _source(**columns: list[Any]) -> pa.Table:
    """A source table with the internal `__source` and `__row` columns added."""
    n = len(next(iter(columns.values())))
    return pa.table({**columns, "__source": ["in.jsonl"] * n, "__row": list(range(n))})


def _mapped(cur: db.Connection, table: pa.Table, spec: MappingSpec | None = None,
            columns: str = "*") -> list[tuple]:
    db.register(cur, "src", table)
    mapping = resolve(spec or MappingSpec(preset="flat"), table.column_names, ignore=INTERNAL)
    types = {r[0]: r[1] for r in db.rows(cur, "DESCRIBE SELECT * FROM src")}
    sel = mapped_select(mapping, types, "src")
    return db.rows(cur, f"SELECT {columns} FROM ({sel.text}) ORDER BY __row", sel.params)


def test_mapped_select_names_the_reason_of_each_bad_row(cur: db.Connection) -> None:
    table = _source(
        entity_id=["order-1", None, "", "order-4", "order-5", "order-6"],
        event_type=["Placed", "Placed", "Placed", "", "Placed", "Placed"],
        ts=["2024-01-01T00:00:00Z"] * 4 + [None, "next tuesday"],
    )
    got = _mapped(cur, table, columns="__reason, __detail")
    assert got == [
        (None, None),
        ("missing entity_id", "no entity id (column entity_id is empty)"),
        ("missing entity_id", "no entity id (column entity_id is empty)"),
        ("missing event_type", "no event type (column event_type is empty)"),
        ("missing time", "no event time (column ts is empty)"),
        ("unparsable time", "event time not understood (column ts)"),
    ]


def test_mapped_select_reason_order_entity_before_type_before_time(cur: db.Connection) -> None:
    table = _source(entity_id=[None], event_type=[None], ts=[None])
    assert _mapped(cur, table, columns="__reason") == [("missing entity_id",)]


def test_mapped_select_detail_describes_paths_and_literals(cur: db.Connection) -> None:
    table = _source(doc=['{"who": "", "when": "2024-01-01"}'])
    spec = MappingSpec(preset="flat", overrides={
        "entity_id": FieldRef(column="doc", path="$.who"),
        "event_type": FieldRef(literal="Imported"),
        "ts": FieldRef(column="doc", path="$.when"),
    })
    got = _mapped(cur, table, spec, columns="event_type, __reason, __detail")
    assert got == [("Imported", "missing entity_id",
                    "no entity id (column doc path $.who is empty)")]


def test_mapped_select_without_a_time_mapping_marks_every_row(cur: db.Connection) -> None:
    table = _source(entity_id=["a-1"], event_type=["X"])
    assert _mapped(cur, table, columns="__reason, __detail") == [
        ("missing time", "no event time (not mapped is empty)")]


def test_mapped_select_builds_payload_and_metadata_from_columns(cur: db.Connection) -> None:
    table = _source(entity_id=["order-1"], event_type=["Placed"], ts=["1700000000"],
                    amount=[12], actor=["ann"])
    got = _mapped(cur, table, columns="payload, metadata, ts, ts_assumed_utc, seq_src")
    assert got == [('{"amount":12}', '{"actor":"ann"}', T, False, None)]


def _final(cur: db.Connection, table: pa.Table, derive_seq: bool = True) -> list[dict]:
    db.register(cur, "src", table)
    mapping = resolve(MappingSpec(preset="flat"), table.column_names, ignore=INTERNAL)
    types = {r[0]: r[1] for r in db.rows(cur, "DESCRIBE SELECT * FROM src")}
    sel = mapped_select(mapping, types, "src")
    sql = (f"SELECT {final_select(derive_seq, False)} FROM ({sel.text}) c "
           "WHERE c.__reason IS NULL ORDER BY entity_id, seq")
    result = db.arrow(cur, sql, sel.params)
    assert tuple(result.column_names) == FILE_COLUMNS
    return result.to_pylist()


def test_final_select_derives_seq_by_time_then_source_order(cur: db.Connection) -> None:
    table = _source(entity_id=["order-1", "order-2", "order-1", "order-1"],
                    event_type=["B", "A", "A", "C"],
                    ts=["2024-01-01T00:00:05Z", "2024-01-01T00:00:00Z",
                        "2024-01-01T00:00:01Z", "2024-01-01T00:00:05Z"])
    rows = _final(cur, table)
    assert [(r["entity_id"], r["seq"], r["event_type"], r["offset"]) for r in rows] == [
        ("order-1", 1, "A", 2), ("order-1", 2, "B", 0), ("order-1", 3, "C", 3),
        ("order-2", 1, "A", 1)]


def test_final_select_keeps_a_source_seq_when_there_is_one(cur: db.Connection) -> None:
    table = _source(entity_id=["order-1", "order-1"], event_type=["A", "B"],
                    ts=["2024-01-01T00:00:09Z", "2024-01-01T00:00:01Z"],
                    seq=pa.array([10, 11], pa.int64()))
    assert [r["seq"] for r in _final(cur, table, derive_seq=False)] == [10, 11]


def test_final_select_event_id_is_md5_of_source_and_row(cur: db.Connection) -> None:
    table = _source(entity_id=["order-1", "x", "123"], event_type=["A", "B", "C"],
                    ts=["2024-01-01T00:00:00Z"] * 3)
    rows = {r["entity_id"]: r for r in _final(cur, table)}
    assert rows["order-1"]["event_id"] == hashlib.md5(b"in.jsonl:0").hexdigest()
    assert rows["123"]["event_id"] == hashlib.md5(b"in.jsonl:2").hexdigest()
    assert rows["order-1"]["source"] == "in.jsonl" and rows["123"]["offset"] == 2
    # entity type: the entity id's prefix, else "unknown"
    assert [rows[e]["entity_type"] for e in ("order-1", "x", "123")] == [
        "order", "unknown", "unknown"]
    assert rows["x"]["is_delete"] is False


def test_final_select_keeps_a_source_event_id(cur: db.Connection) -> None:
    table = _source(event_id=["abc"], entity_id=["order-1"], event_type=["A"],
                    ts=["2024-01-01T00:00:00"])
    (row,) = _final(cur, table)
    assert (row["event_id"], row["ts_assumed_utc"]) == ("abc", True)


def test_final_select_sql_continues_after_the_stored_seq_when_joined() -> None:
    joined = final_select(True, True)
    assert ('coalesce(c.seq_src, coalesce(prev.max_seq, 0) + row_number() OVER '
            '(PARTITION BY c.entity_id ORDER BY c.ts, c.__source, c.__row)) AS "seq"') in joined
    assert 'coalesce(c.seq_src, 0 + row_number()' in final_select(True, False)
    assert 'c.seq_src AS "seq", c.ts AS "ts"' in final_select(False, False)
    assert "prev." not in final_select(False, True)


def test_mapped_select_binds_exactly_one_param_per_placeholder() -> None:
    mapping = resolve(MappingSpec(preset="envelope", overrides={
        "ts": FieldRef(column="meta", path="$.at"),
        "entity_type": FieldRef(literal="order"),
    }), ["id", "type", "aggregateId", "data", "meta", "metadata"])
    types = {"id": "VARCHAR", "type": "VARCHAR", "aggregateId": "VARCHAR", "data": "JSON",
             "meta": "JSON", "metadata": "JSON"}
    sel = mapped_select(mapping, types, "(SELECT * FROM src WHERE x = ?)",
                        relation_params=["rel-param"])
    assert sel.text.count("?") == len(sel.params)
    assert sel.params[-1] == "rel-param"  # the relation comes last in the text
    assert sel.params[:4] == ["no entity id (column aggregateId is empty)",
                              "no event type (column type is empty)",
                              "no event time (column meta path $.at is empty)",
                              "event time not understood (column meta path $.at)"]


@pytest.mark.parametrize("ctype", ["TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT",
                                   "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT", "UHUGEINT"])
def test_integer_columns_give_the_values_their_text_would(cur: db.Connection,
                                                          ctype: str) -> None:
    """seq and event_version of an integer column equal TRY_CAST of its text: the same
    numbers, NULL where they do not fit an INTEGER / a BIGINT."""
    edges = [0, 1, -1, 127, 255, 32767, 65535, 2**31 - 1, 2**31, -(2**31) - 1, 2**32 - 1,
             2**63 - 1, 2**64 - 1, -(2**63) - 1, 2**127 - 1, None]
    cur.execute("CREATE TEMP TABLE src AS SELECT 'e' || CAST(v AS VARCHAR) AS id, 'T' AS type, "
                "'a-1' AS aggregateId, TIMESTAMPTZ '2024-01-01 00:00:00+00' AS timestamp, "
                f"TRY_CAST(v AS {ctype}) AS version, TRY_CAST(v AS {ctype}) AS schemaVersion, "
                "'f' AS __source, 0 AS __row FROM (SELECT unnest(CAST(? AS HUGEINT[])) AS v)",
                [[str(v) if v is not None else None for v in edges]])
    types = {r[0]: r[1] for r in db.rows(cur, "DESCRIBE src")}
    mapping = resolve(MappingSpec(preset="envelope"), list(types))
    sel = mapped_select(mapping, types, "src")
    got = db.rows(cur, f"SELECT seq_src, event_version FROM ({sel.text}) ORDER BY event_id_src",
                  sel.params)
    want = db.rows(cur, "SELECT TRY_CAST(CAST(version AS VARCHAR) AS BIGINT), "
                        "TRY_CAST(CAST(schemaVersion AS VARCHAR) AS INTEGER) FROM src "
                        "ORDER BY id")
    assert got == want and any(v is not None for v, _ in got)
