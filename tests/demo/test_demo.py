"""The demo shop generator: determinism, shape, domain sense, planted anomalies, Parquet export."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import orjson
import pyarrow as pa
import pytest

from eventlab.demo import EVENT_TYPES, domain, generate, write_export
from eventlab.demo import table as table_module
from eventlab.demo.anomalies import KINDS, planned_counts

# One query per anomaly kind, as the module docstring tells a reader to find them.
ANOMALY_SQL = {
    "exact_duplicates":
        "select count(*) from (select *, count(*) n from t group by all having n > 1)",
    "conflicting_duplicates":
        "select count(*) from (select id from t group by id having count(distinct data) > 1)",
    "out_of_order": """
        select count(*) from (
            select timestamp < lag(timestamp) over w as late from t
            where aggregateId is not null window w as (partition by aggregateId order by version)
        ) where late""",
    "sequence_gaps": """
        select count(*) from (
            select version - lag(version) over w as step from t
            where aggregateId is not null window w as (partition by aggregateId order by version)
        ) where step > 1""",
    "null_aggregate_id": "select count(*) from t where aggregateId is null",
    "null_type": "select count(*) from t where type is null",
    "null_timestamp": "select count(*) from t where timestamp is null",
}


@pytest.fixture(scope="module")
def big() -> pa.Table:
    return generate(50_000, seed=42)


@pytest.fixture(scope="module")
def small() -> pa.Table:
    return generate(1_000, seed=42)


def _con(table: pa.Table) -> Iterator[duckdb.DuckDBPyConnection]:
    con = duckdb.connect()
    con.register("t", table)
    yield con
    con.close()


@pytest.fixture(scope="module")
def con(big: pa.Table) -> Iterator[duckdb.DuckDBPyConnection]:
    yield from _con(big)


@pytest.fixture(scope="module")
def con_small(small: pa.Table) -> Iterator[duckdb.DuckDBPyConnection]:
    yield from _con(small)


def _one(con: duckdb.DuckDBPyConnection, sql: str) -> object:
    return con.sql(sql).fetchall()[0][0]


def _merge_patch(target: object, patch: object) -> object:
    """RFC 7396 JSON merge patch."""
    if not isinstance(patch, dict):
        return patch
    out = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = _merge_patch(out.get(key), value)
    return out


def test_same_seed_same_table_other_seed_other_table() -> None:
    first = generate(3_000, seed=7)
    assert first.equals(generate(3_000, seed=7))
    other = generate(3_000, seed=8)
    assert not first.equals(other)
    assert set(first.column("id").to_pylist()).isdisjoint(other.column("id").to_pylist())


def test_chunked_parallel_build_gives_the_same_table(monkeypatch: pytest.MonkeyPatch) -> None:
    whole = generate(3_000, seed=5)
    monkeypatch.setattr(table_module, "CHUNK_ROWS", 256)  # 12 chunks, built on threads
    chunked = generate(3_000, seed=5)
    assert chunked.equals(whole)
    assert chunked.column("data").num_chunks == 12


@pytest.mark.parametrize("events", [1, 99, 100, 1_000, 4_321])
def test_exactly_the_requested_number_of_rows(events: int) -> None:
    assert generate(events, seed=events).num_rows == events


def test_columns_and_types(small: pa.Table) -> None:
    assert small.schema.names == [
        "id", "type", "schemaVersion", "aggregateType", "aggregateId", "version", "timestamp",
        "data", "metadata",
    ]
    assert small.schema.field("schemaVersion").type == pa.int32()
    assert small.schema.field("version").type == pa.int64()
    assert small.schema.field("timestamp").type == pa.timestamp("us", tz="UTC")
    assert generate(0).schema == small.schema


def test_event_and_entity_types(con: duckdb.DuckDBPyConnection) -> None:
    rows = con.sql("select distinct type, aggregateType from t where type is not null").fetchall()
    assert len({t for t, _ in rows}) >= 8
    assert {e for _, e in rows} == {"customer", "order", "payment", "shipment"}
    assert all(EVENT_TYPES[t] == e for t, e in rows)
    assert set(EVENT_TYPES) == {t for t, _ in rows}
    assert _one(con, """select count(*) from t where aggregateId is not null
                        and not starts_with(aggregateId, aggregateType || '-')""") == 0


def test_payloads_and_metadata_are_json_objects(con: duckdb.DuckDBPyConnection) -> None:
    assert _one(con, """select count(*) from t where json_type(data) <> 'OBJECT'
                        or json_type(metadata) <> 'OBJECT'""") == 0
    assert _one(con, """select count(*) from t where metadata->>'$.correlation_id' is null
                        or metadata->>'$.actor' is null or metadata->>'$.source' is null""") == 0


def test_renamed_field_v1_total_v2_total_amount(con: duckdb.DuckDBPyConnection) -> None:
    rows = con.sql("""
        select schemaVersion, count(*), count(*) filter (where json_exists(data, '$.total')),
               count(*) filter (where json_exists(data, '$.total_amount')),
               min(timestamp), max(timestamp)
        from t where type = 'OrderPlaced' group by 1 order by 1""").fetchall()
    (v1, n1, total1, amount1, _, last_v1), (v2, n2, total2, amount2, first_v2, _) = rows
    assert (v1, v2) == (1, 2)
    assert total1 == n1 and amount1 == 0 and total2 == 0 and amount2 == n2 and n1 and n2
    cutover = datetime(2025, 3, 6, tzinfo=UTC)
    assert last_v1 < cutover <= first_v2
    assert _one(con, """select count(*) from t where schemaVersion = 2
                        and type not in ('OrderPlaced', 'OrderItemAdded')""") == 0


@pytest.mark.parametrize("fixture", ["con_small", "con"])
def test_every_anomaly_is_planted_and_countable(
    fixture: str, request: pytest.FixtureRequest
) -> None:
    con = request.getfixturevalue(fixture)
    rows = _one(con, "select count(*) from t")
    counts = {kind: _one(con, sql) for kind, sql in ANOMALY_SQL.items()}
    assert counts == planned_counts(rows)
    assert all(n >= 1 for n in counts.values())
    assert sum(counts.values()) < 0.01 * rows
    assert set(counts) == set(KINDS)


def test_fifty_thousand_events_have_25_of_each_anomaly(con: duckdb.DuckDBPyConnection) -> None:
    assert {kind: _one(con, sql) for kind, sql in ANOMALY_SQL.items()} == dict.fromkeys(KINDS, 25)


def test_every_stream_starts_at_version_one(con: duckdb.DuckDBPyConnection) -> None:
    assert _one(con, """select count(*) from (select min(version) v from t
                        where aggregateId is not null group by aggregateId) where v <> 1""") == 0


def test_correlation_chains_cross_entity_types(con: duckdb.DuckDBPyConnection) -> None:
    kinds = dict(con.sql("""
        select kinds, count(*) from (
            select count(distinct aggregateType) kinds from t
            group by metadata->>'$.correlation_id')
        group by kinds""").fetchall())
    assert kinds.get(3, 0) > 1000  # order -> payment -> shipment
    # A cause is an earlier event of the same flow; only events caused by a dropped one dangle.
    foreign, later, dangling = con.sql("""
        select count(*) filter (where c.metadata->>'$.correlation_id'
                                      <> e.metadata->>'$.correlation_id'),
               count(*) filter (where c.timestamp >= e.timestamp),
               count(*) filter (where c.id is null)
        from t e left join (select distinct on (id) * from t) c
          on c.id = e.metadata->>'$.causation_id'
        where e.metadata->>'$.causation_id' is not null""").fetchall()[0]
    assert foreign == 0
    assert later <= 25  # only an out-of-order event may seem to precede its cause
    assert 25 <= dangling <= 2 * 25  # children of the events dropped for sequence gaps
    chain = [r[0] for r in con.sql("""
        select type from t where metadata->>'$.correlation_id' = (
            select metadata->>'$.correlation_id' from t where type = 'OrderRefunded' limit 1)
        and type is not null order by timestamp""").fetchall()]
    assert chain[0] == "OrderPlaced" and chain[-2:] == ["PaymentRefunded", "OrderRefunded"]
    assert {"PaymentCaptured", "ShipmentCreated", "ShipmentDelivered"} <= set(chain)


def test_merge_fold_gives_a_sensible_order_state(small: pa.Table) -> None:
    streams: dict[str, list[dict]] = {}
    seen: set[str] = set()
    for row in small.to_pylist():
        if row["aggregateId"] is None or row["id"] in seen:
            continue
        seen.add(row["id"])
        streams.setdefault(row["aggregateId"], []).append(row)
    orders = 0
    for stream_id, events in streams.items():
        state: object = {}
        for event in sorted(events, key=lambda e: e["version"]):
            data = orjson.loads(event["data"])
            if event["schemaVersion"] == 1 and "total" in data:
                data["total_amount"] = data.pop("total")
            state = _merge_patch(state, data)
        assert isinstance(state, dict)
        if stream_id.startswith("order-"):
            orders += 1
            assert state["status"] in {
                "placed", "paid", "shipped", "delivered", "cancelled", "refunded"}
            items_total = sum(i["qty"] * i["price"] for i in state["items"])
            assert state["total_amount"] == pytest.approx(items_total)
            assert state["order_id"] == stream_id
        elif stream_id.startswith("customer-"):
            assert {"name", "email", "address"} <= state.keys()
    assert orders > 100


def test_daily_rhythm_and_window(con: duckdb.DuckDBPyConnection) -> None:
    night = _one(con, "select count(*) from t where hour(timestamp) between 2 and 5")
    evening = _one(con, "select count(*) from t where hour(timestamp) between 18 and 21")
    assert evening > 2.5 * night
    first, last = con.sql("select min(timestamp), max(timestamp) from t").fetchall()[0]
    assert first >= datetime(2025, 3, 2, 23, tzinfo=UTC)  # out-of-order may step back a bit
    assert datetime(2025, 3, 9, 18, tzinfo=UTC) < last < datetime(2025, 3, 10, tzinfo=UTC)


def test_start_and_days_move_the_window() -> None:
    table = generate(500, seed=1, start=datetime(2024, 1, 1, 6, 30), days=2)
    stamps = [t for t in table.column("timestamp").to_pylist() if t is not None]
    assert min(stamps) >= datetime(2024, 1, 1, 6, 25, tzinfo=UTC)
    assert max(stamps) < datetime(2024, 1, 3, 12, tzinfo=UTC)


def test_customer_one_has_a_long_stream_even_in_small_exports(
    con_small: duckdb.DuckDBPyConnection,
) -> None:
    top, n = con_small.sql("""select aggregateId, count(*) n from t where aggregateId is not null
                              group by 1 order by n desc limit 1""").fetchall()[0]
    assert (top, n >= 20) == ("customer-00001", True)


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError):
        generate(-1)
    with pytest.raises(ValueError):
        generate(10, days=0)


def test_docstring_documents_types_rename_and_anomalies() -> None:
    doc = domain.__doc__ or ""
    for name in [*EVENT_TYPES, "total_amount", "customer-00001", "correlation_id"]:
        assert name in doc
    for phrase in ["exact duplicate", "conflicting duplicate", "out-of-order", "sequence gap",
                   "null aggregateId", "null type", "null timestamp"]:
        assert phrase in doc


def test_write_export_hive_layout(tmp_path: Path) -> None:
    out = tmp_path / "out"
    paths = write_export(out, 20_000, seed=3, rows_per_file=2_000)
    assert all(p.parent.name.startswith("day=2025-03-") for p in paths)
    assert any(p.name == "part-00001.parquet" for p in paths)  # days are split
    glob = str(out / "**" / "*.parquet")
    count = duckdb.sql(
        f"select count(*) from read_parquet('{glob}', hive_partitioning=true)").fetchall()
    assert count == [(20_000,)]
    per_file = duckdb.sql(f"""select count(distinct day), max(n) from (
        select day, filename, count(*) n
        from read_parquet('{glob}', hive_partitioning=true, filename=true) group by all)""")
    assert per_file.fetchall() == [(7, 2_000)]
    ids = duckdb.sql(f"select id from read_parquet('{glob}') order by all").fetchall()
    expected = sorted(generate(20_000, seed=3).column("id").to_pylist())
    assert [r[0] for r in ids] == expected
    again = write_export(out, 20_000, seed=3, rows_per_file=20_000)  # one part per day
    assert len(again) == 7
    assert set(out.glob("day=*/part-*.parquet")) == set(again)  # stale parts are gone


def test_export_is_byte_identical_and_small(tmp_path: Path) -> None:
    a = write_export(tmp_path / "a", 50_000, seed=42)
    b = write_export(tmp_path / "b", 50_000, seed=42)
    assert [p.read_bytes() for p in a] == [p.read_bytes() for p in b]
    assert [p.relative_to(tmp_path / "a") for p in a] == [p.relative_to(tmp_path / "b") for p in b]
    assert sum(p.stat().st_size for p in a) < 10_000_000
