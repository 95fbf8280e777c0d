"""Population "as of T" in DuckDB: equal to the Python merge fold, on examples and random data."""

from __future__ import annotations

import json
import shutil
from datetime import timedelta
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from timetravel_support import T0, insert, oracle, row, store_with

from eventlab import asof, timetravel
from eventlab.cli import main
from eventlab.replay import Fold
from eventlab.replay.jsonvalue import json_equal
from eventlab.store import db
from eventlab.store.eventstore import EventStore

# RFC 7396, Appendix A (original, patch, result), through the SQL fold: original then patch.
RFC7396: list[tuple[Any, Any, Any]] = [
    ({"a": "b"}, {"a": "c"}, {"a": "c"}),
    ({"a": "b"}, {"b": "c"}, {"a": "b", "b": "c"}),
    ({"a": "b"}, {"a": None}, {}),
    ({"a": "b", "b": "c"}, {"a": None}, {"b": "c"}),
    ({"a": ["b"]}, {"a": "c"}, {"a": "c"}),
    ({"a": "c"}, {"a": ["b"]}, {"a": ["b"]}),
    ({"a": {"b": "c"}}, {"a": {"b": "d", "c": None}}, {"a": {"b": "d"}}),
    ({"a": [{"b": "c"}]}, {"a": [1]}, {"a": [1]}),
    (["a", "b"], ["c", "d"], ["c", "d"]),
    ({"a": "b"}, ["c"], ["c"]),
    ({"a": "foo"}, "bar", "bar"),
    ({"e": None}, {"a": 1}, {"a": 1}),  # the first event is merged into nothing: e dropped
    ([1, 2], {"a": "b", "c": None}, {"a": "b"}),
    ({}, {"a": {"bb": {"ccc": None}}}, {"a": {"bb": {}}}),
]


def _states(store: EventStore, at: Any, **kw: Any) -> dict[str, tuple[int, Any]]:
    table = asof.population(store.cursor(), at, **kw).to_pylist()
    return {r["entity_id"]: (r["seq"], None if r["state"] is None else json.loads(r["state"]))
            for r in table}


def _same(got: dict[str, tuple[int, Any]], want: dict[str, tuple[int, Any]]) -> None:
    assert got.keys() == want.keys()
    for entity_id, (seq, state) in want.items():
        assert got[entity_id][0] == seq, entity_id
        assert json_equal(got[entity_id][1], state), (entity_id, got[entity_id][1], state)


@pytest.mark.parametrize(("original", "patch", "result"), RFC7396)
def test_sql_fold_follows_rfc7396_appendix(original: Any, patch: Any, result: Any) -> None:
    store = store_with([row("doc-1", 1, original), row("doc-1", 2, patch)])
    assert _states(store, T0 + timedelta(hours=1)) == {"doc-1": (2, result)}


def test_null_payloads_deletes_and_resets() -> None:
    rows = [
        row("a-1", 1, {"x": 1, "y": {"z": 2}}), row("a-1", 2), row("a-1", 3, None),  # no-ops
        row("b-1", 1, {"x": 1}), row("b-1", 2, is_delete=True),  # deleted
        row("c-1", 1, {"x": 1}), row("c-1", 2, is_delete=True), row("c-1", 3, {"w": None}),
        row("d-1", 1, {"x": 1}), row("d-1", 2, [1, 2]), row("d-1", 3, {"k": {"q": None}}),
        row("e-1", 1, {"x": 1}), row("e-1", 2, {"gone": True}, event_type="Removed"),
        row("f-1", 1), row("g-1", 1, "text"),
    ]
    want = {"a-1": (3, {"x": 1, "y": {"z": 2}}), "b-1": (2, None), "c-1": (3, {}),
            "d-1": (3, {"k": {}}), "e-1": (2, None), "f-1": (1, None), "g-1": (1, "text")}
    store = store_with(rows)
    _same(_states(store, T0 + timedelta(hours=1), delete_types=("Removed",)), want)
    _same(_states(store, T0 + timedelta(hours=1), delete_types=("Removed",)),
          oracle(rows, T0 + timedelta(hours=1), delete_types=("Removed",)))


def test_out_of_order_times_use_the_stream_cut() -> None:
    # seq 3 happened "before" seq 2 by the clock: at minute 2.5 the cut is seq 3, and the
    # state includes seq 2 (stamped later) - the same answer as Fold.index_at_time.
    rows = [row("o-1", 1, {"s": "placed"}, minute=1), row("o-1", 2, {"s": "paid"}, minute=4),
            row("o-1", 3, {"n": 3}, minute=2), row("o-1", 4, {"s": "sent"}, minute=5)]
    store = store_with(rows)
    at = T0 + timedelta(minutes=2.5)
    assert _states(store, at) == {"o-1": (3, {"s": "paid", "n": 3})}
    _same(_states(store, at), oracle(rows, at))
    assert _states(store, T0) == {}


def test_duplicate_seqs_fold_in_source_order() -> None:
    rows = [row("p-1", 1, {"v": 1}, offset=10), row("p-1", 2, {"v": "late"}, offset=30),
            row("p-1", 2, {"v": "early", "w": 1}, offset=20)]
    store = store_with(rows)
    assert _states(store, T0 + timedelta(hours=1)) == {"p-1": (2, {"v": "late", "w": 1})}


def test_full_ties_follow_the_order_the_loader_uses() -> None:
    # Same seq, time and offset in three files: only the source hash orders them, in SQL and
    # in the loader alike.
    rows = [row("t-1", 1, {"v": 0})] + [
        row("t-1", 2, {"v": name, name: True}, offset=7, source=f"{name}.parquet")
        for name in ("x", "y", "z")]
    store = store_with(rows)
    events = timetravel.load_events(store.cursor(), "t-1")
    fold = Fold(events)
    at = T0 + timedelta(hours=1)
    assert _states(store, at) == {"t-1": (2, fold.state_at(len(events) - 1))}
    assert len({e.payload["v"] for e in events[1:]}) == 3


def test_kafka_time_basis_skips_events_without_one() -> None:
    rows = [row("k-1", 1, {"a": 1}, kafka_minute=1), row("k-1", 2, {"b": 2}),
            row("k-1", 3, {"c": 3}, kafka_minute=30), row("n-1", 1, {"a": 1})]
    store = store_with(rows)
    at = T0 + timedelta(minutes=10)
    assert _states(store, at, basis="kafka_time") == {"k-1": (1, {"a": 1})}
    _same(_states(store, at, basis="kafka_time"), oracle(rows, at, basis="kafka_time"))
    with pytest.raises(asof.AsOfError, match="offset"):
        asof.population_sql(basis="offset")


def test_basis_span_is_per_type_and_none_without_kafka_timestamps() -> None:
    rows = [row("k-1", 1, {"a": 1}, kafka_minute=40), row("k-1", 2, {"b": 2}, kafka_minute=5),
            row("k-1", 3, {"c": 3}), row("f-1", 1, {"a": 1}), row("f-1", 9, {"a": 2})]
    cur = store_with(rows).cursor()
    assert asof.basis_span(cur, "k", "kafka_time") == (T0 + timedelta(minutes=5),
                                                       T0 + timedelta(minutes=40))
    assert asof.basis_span(cur, "k", "event_time") == (T0 + timedelta(minutes=1),
                                                       T0 + timedelta(minutes=3))
    assert asof.basis_span(cur, "f", "kafka_time") is None  # file data: no Kafka time
    assert asof.basis_span(cur, "f", "event_time") == (T0 + timedelta(minutes=1),
                                                       T0 + timedelta(minutes=9))
    assert asof.basis_span(cur, "nobody", "event_time") is None
    with pytest.raises(asof.AsOfError, match="offset"):
        asof.basis_span(cur, "k", "offset")


@pytest.mark.parametrize("n", [asof.VARIADIC - 1, asof.VARIADIC, asof.VARIADIC + 1, 45])
def test_long_streams_merge_in_chunks(n: int) -> None:
    patches = [{"k": i % 5, f"f{i % 7}": {"v": i, "w": None if i % 3 else i}, "gone": None}
               for i in range(n)]
    rows = [row("l-1", i + 1, p) for i, p in enumerate(patches)]
    store = store_with(rows)
    at = T0 + timedelta(days=1)
    _same(_states(store, at), oracle(rows, at))
    assert _states(store, at)["l-1"][0] == n


def test_query_shape() -> None:
    sql, params = asof.population_sql("order", "kafka_time", ["Deleted"])
    assert params == [["Deleted"], "order"]
    assert "FROM events WHERE entity_type = $3\n" in sql and "kafka_ts AS t" in sql
    sql, params = asof.population_sql()
    assert params == [[]] and "$3" not in sql and "ts AS t" in sql
    sql, params = asof.population_sql(low="b", high="m")
    assert params == [[], "b", "m"]
    assert "FROM events WHERE entity_id >= $3 AND entity_id < $4\n" in sql


def test_populations_in_slices_equal_one_statement(monkeypatch: pytest.MonkeyPatch) -> None:
    rows = [row(f"s-{i:04d}", seq, {"i": i, "seq": seq}, minute=seq)
            for i in range(400) for seq in (1, 2, 3)]
    store = store_with(rows)
    cur = store.cursor()
    slices = asof.id_slices(cur, per_slice=300)
    assert len(slices) == 4 and slices[0][0] is None and slices[-1][1] is None
    assert all(a[1] == b[0] for a, b in zip(slices, slices[1:], strict=False))
    at = T0 + timedelta(minutes=2)
    whole = asof.population(cur, at)
    sliced = []
    for low, high in slices:
        sql, params = asof.population_sql(low=low, high=high)
        sliced += db.rows(cur, f"SELECT entity_id, state FROM ({sql}) ORDER BY 1", [at, *params])
    assert [(r["entity_id"], r["state"]) for r in whole.to_pylist()] == sliced
    assert len(sliced) == 400
    monkeypatch.setattr(asof.compute, "SLICE_EVENTS", 300)
    assert len(asof.id_slices(cur)) == 4
    assert asof.materialize(cur, at).entities == 400  # created, then inserted slice by slice
    streamed = asof.population(cur, at)  # read slice after slice
    assert [(r["entity_id"], r["state"]) for r in streamed.to_pylist()] == sliced


# --- random data: the SQL fold equals the Python fold -------------------------------------

KEYS = st.sampled_from(["a", "b", "c", "d.e", 'q"t'])
SCALARS = (st.none() | st.booleans() | st.integers(-1000, 1000)
           | st.floats(allow_nan=False, allow_infinity=False, width=32)
           | st.text(st.characters(blacklist_categories=("Cs",)), max_size=3))
JSONS = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=2)
                     | st.dictionaries(KEYS, inner, max_size=3), max_leaves=6)
PATCHES = st.dictionaries(KEYS, JSONS, max_size=4)
EVENT = st.tuples(
    st.sampled_from(["patch"] * 6 + ["null", "sqlnull", "delete", "Removed", "replace"]),
    PATCHES, JSONS, st.integers(0, 2), st.integers(-3, 40), st.one_of(st.none(),
                                                                      st.integers(0, 40)))


@st.composite
def populations(draw: st.DrawFn) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    offset = 0
    for n in range(draw(st.integers(1, 5))):
        entity = f"e-{n}"
        seq = 0
        for kind, patch, value, step, minute, kafka in draw(st.lists(EVENT, min_size=1,
                                                                     max_size=8)):
            seq += step  # 0: a duplicate seq
            offset += 1
            payload: Any = {"patch": patch, "null": None, "replace": value,
                            "delete": {"x": 1}, "Removed": patch}.get(kind)
            kw: dict[str, Any] = {"minute": minute, "offset": offset, "kafka_minute": kafka,
                                  "is_delete": kind == "delete",
                                  "event_type": "Removed" if kind == "Removed" else "Changed"}
            if kind == "sqlnull":
                rows.append(row(entity, seq, **kw))
            else:
                rows.append(row(entity, seq, payload, **kw))
    return rows


@settings(max_examples=80, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(populations(), st.integers(-2, 42), st.sampled_from(["event_time", "kafka_time"]),
       st.booleans())
def test_sql_as_of_equals_the_python_fold(rows: list[dict[str, Any]], minute: int,
                                          basis: str, deletes: bool) -> None:
    store = store_with(rows)
    at = T0 + timedelta(minutes=minute)
    delete_types = ("Removed",) if deletes else ()
    _same(_states(store, at, basis=basis, delete_types=delete_types),
          oracle(rows, at, basis, delete_types))
    store.close()


# --- materialised populations, counts, compare, CLI ---------------------------------------

@pytest.fixture(scope="module")
def demo(demo_db: Path) -> EventStore:
    store = EventStore(demo_db)
    yield store
    store.close()


def test_materialize_counts_and_compare_on_the_demo(demo: EventStore) -> None:
    cur = demo.cursor()
    lo, hi = db.rows(cur, "SELECT min(ts), max(ts) FROM events")[0]
    mid = lo + (hi - lo) / 2
    a = asof.materialize(cur, mid, entity_type="order")
    b = asof.materialize(cur, hi, entity_type="order")
    assert asof.materialize(cur, mid, entity_type="order") == a  # reused
    direct = asof.population(cur, mid, entity_type="order")
    assert a.entities == direct.num_rows > 0 and b.entities >= a.entities
    assert "status" in asof.top_fields(cur, a)
    counts = asof.counts_by(cur, b, "status").to_pylist()
    assert sum(r["entities"] for r in counts) == b.entities
    statuses = {r["value"] for r in counts}
    assert "placed" in statuses or "delivered" in statuses
    page = asof.rows_page(cur, b, ["status", "items"], prefix="order-0000", limit=5)
    assert page.num_rows == 5 and page.column_names[-2:] == ["status", "items"]
    assert json.loads(page.column("items")[0].as_py())  # lists come back as JSON text
    cmp = asof.compare(cur, a, b, "status")
    assert cmp.created == b.entities - a.entities
    assert cmp.changed + cmp.unchanged + cmp.deleted == a.entities
    moved = {r["value"]: r for r in cmp.counts.to_pylist()}
    assert sum(r["at_t2"] for r in moved.values()) == b.entities  # b holds every entity of a
    assert sum(r["at_t1"] for r in moved.values()) == b.entities  # created: "(absent)" at T1
    assert moved["(absent)"]["at_t1"] == cmp.created
    assert all(r["delta"] == r["at_t2"] - r["at_t1"] for r in moved.values())
    changed = asof.changed_page(cur, a, b, "status", limit=20).to_pylist()
    assert changed and all(r["changed_fields"] for r in changed if r["at_t1"] != "(absent)")
    for r in changed:
        if r["at_t1"] != r["at_t2"]:
            assert "status" in r["changed_fields"] or r["at_t1"] == "(absent)"
    asof.drop(cur, a)
    assert db.scalar(cur, "SELECT count(*) FROM duckdb_tables() WHERE table_name = ?",
                     [a.table]) == 0


def test_cli_asof_json_and_parquet(demo_db: Path, tmp_path: Path,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    shutil.copy(demo_db, tmp_path / "demo.duckdb")  # the CLI opens it read-only: a copy
    demo_db = tmp_path / "demo.duckdb"
    assert main(["asof", "--at", "2025-03-04T12:00:00Z", "--entity-type", "payment",
                 "--db", str(demo_db), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["entity_type"] == "payment" and out["count"] == len(out["entities"]) > 0
    first = out["entities"][0]
    assert set(first) >= {"entity_id", "seq", "ts", "state", "deleted"}
    assert first["state"]["payment_id"] == first["entity_id"]
    target = tmp_path / "asof.parquet"
    assert main(["asof", "--at", "2025-03-04T12:00:00", "--db", str(demo_db),
                 "--out", str(target)]) == 0
    table = pq.read_table(target)
    assert {"entity_id", "state", "seq", "ts"} <= set(table.column_names)
    assert set(table.column("entity_type").to_pylist()) >= {"order", "payment"}
    assert main(["asof", "--at", "2025-03-04", "--db", str(demo_db)]) == 0
    assert "entities" in capsys.readouterr().out


def test_big_populations_stream_by_batches(tmp_path: Path) -> None:
    store = EventStore(tmp_path / "many.duckdb")
    insert(store, [row(f"m-{i:05d}", 1, {"i": i}) for i in range(3000)])
    reader = asof.population_reader(store.cursor(), T0 + timedelta(hours=1), batch_rows=1000)
    sizes = [b.num_rows for b in reader]
    assert sum(sizes) == 3000 and max(sizes) <= 1000 * 2
    store.close()
