"""Explore: exact SQL of the filter builder, and paging, filters, counts and detail on a real
store holding a few hundred generated events (checked against the same data in Python)."""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from helpers_files import ingest, write_parquet
from hypothesis import given
from hypothesis import strategies as st
from timetravel_support import row, store_with

from eventlab import explore
from eventlab.explore import EventKey, FilterError, Filters, build_where
from eventlab.store import db
from eventlab.store.eventstore import EventStore

T0 = datetime(2026, 11, 1, tzinfo=UTC)


# --- build_where: exact SQL, no database -----------------------------------------------------

def test_no_filters_no_clauses() -> None:
    assert build_where(Filters()) == ([], [])


def test_time_range() -> None:
    lo, hi = T0, T0 + timedelta(hours=2)
    assert build_where(Filters(start=lo)) == (["ts >= ?"], [lo])
    assert build_where(Filters(end=hi)) == (["ts <= ?"], [hi])
    assert build_where(Filters(start=lo, end=hi)) == (["ts >= ?", "ts <= ?"], [lo, hi])


def test_event_types() -> None:
    assert build_where(Filters(event_types=("OrderPlaced", "OrderPaid"))) == \
        (["list_contains(?, event_type)"], [["OrderPlaced", "OrderPaid"]])


def test_entity_type() -> None:
    assert build_where(Filters(entity_type="order")) == (["entity_type = ?"], ["order"])


def test_entity_prefix_is_a_range() -> None:
    assert build_where(Filters(entity_prefix="order-1")) == \
        (["entity_id >= ? AND entity_id < ?"], ["order-1", "order-2"])
    assert build_where(Filters(entity_prefix="cart~")) == \
        (["entity_id >= ? AND entity_id < ?"], ["cart~", "cart\x7f"])


def test_text_is_lowercased_and_bound() -> None:
    assert build_where(Filters(text="GoLd'; DROP")) == \
        (["regexp_matches(CAST(payload AS VARCHAR), ?)"],
         ["[gG][oO][lL][dD]\\x{27}\\x{3b}\\x{20}[dD][rR][oO][pP]"])
    assert build_where(Filters(text="Köln")) == \
        (["contains(lower(CAST(payload AS VARCHAR)), ?)"], ["köln"])


def test_all_filters_combine_in_order() -> None:
    clauses, params = build_where(Filters(start=T0, event_types=("A",), entity_type="order",
                                          entity_prefix="o", text="x", json_path="a",
                                          json_op="exists"))
    assert clauses == ["ts >= ?", "entity_type = ?", "list_contains(?, event_type)",
                       "entity_id >= ? AND entity_id < ?",
                       "regexp_matches(CAST(payload AS VARCHAR), ?)",
                       "json_exists(payload, ?)"]
    assert params == [T0, "order", ["A"], "o", "p", "[xX]", "$.a"]


@pytest.mark.parametrize(("op", "value", "clause", "params"), [
    ("=", "paid", "json_extract_string(payload, ?) = ?", ["$.status", "paid"]),
    ("!=", "paid", "json_extract_string(payload, ?) != ?", ["$.status", "paid"]),
    ("<", "b", "json_extract_string(payload, ?) < ?", ["$.status", "b"]),
    ("=", "120", "(json_extract_string(payload, ?) = ? OR "
                 "TRY_CAST(json_extract_string(payload, ?) AS DOUBLE) = ?)",
     ["$.status", "120", "$.status", 120.0]),
    ("<", "100", "TRY_CAST(json_extract_string(payload, ?) AS DOUBLE) < ?",
     ["$.status", 100.0]),
    ("<=", "1.5", "TRY_CAST(json_extract_string(payload, ?) AS DOUBLE) <= ?",
     ["$.status", 1.5]),
    (">", "-3", "TRY_CAST(json_extract_string(payload, ?) AS DOUBLE) > ?",
     ["$.status", -3.0]),
    (">=", "1e3", "TRY_CAST(json_extract_string(payload, ?) AS DOUBLE) >= ?",
     ["$.status", 1000.0]),
    ("contains", "PA", "contains(lower(json_extract_string(payload, ?)), ?)",
     ["$.status", "pa"]),
    ("exists", None, "json_exists(payload, ?)", ["$.status"]),
    ("missing", None, "NOT coalesce(json_exists(payload, ?), false)", ["$.status"]),
])
def test_json_path_operators(op: str, value: str | None, clause: str,
                             params: list[Any]) -> None:
    f = Filters(json_path="status", json_op=op, json_value=value)
    assert build_where(f) == ([clause], params)


def test_new_filters_exact_sql() -> None:
    assert build_where(Filters(event_id="e1")) == (["event_id = ?"], ["e1"])
    assert build_where(Filters(key="order-1")) == (["key = encode(?)"], ["order-1"])
    assert build_where(Filters(duplicates_only=True)) == (
        ["event_id IN (SELECT event_id FROM events GROUP BY event_id HAVING count(*) > 1)"], [])
    clauses, params = build_where(Filters(correlation_id="c-1"))
    assert clauses == ["coalesce(json_extract_string(metadata, '$.correlation_id'), "
                       "json_extract_string(metadata, '$.correlationid'), "
                       "json_extract_string(metadata, '$.correlationId')) = ?"]
    assert params == ["c-1"]
    assert build_where(Filters(follows=("A", "B")))[1] == ["A", "B"]
    assert build_where(Filters(follows=("^", "B")))[1] == ["B"]
    # An incomplete JSON predicate waits for its value; unary operators need none.
    assert build_where(Filters(json_path="a", json_op="=", json_value="")) == ([], [])
    assert build_where(Filters(json_path="a", json_op="contains")) == ([], [])
    assert build_where(Filters(json_path="a", json_op="missing"))[1] == ["$.a"]


@pytest.mark.parametrize(("text", "pair"), [("A>B", ("A", "B")), (" ^ > A ", ("^", "A")),
                                            ("A>$", ("A", "$")), ("", None), (None, None)])
def test_parse_follows(text: str | None, pair: tuple[str, str] | None) -> None:
    assert explore.parse_follows(text) == pair


@pytest.mark.parametrize("bad", ["A", ">B", "A>", "^>$"])
def test_parse_follows_refuses_what_it_cannot_read(bad: str) -> None:
    with pytest.raises(FilterError):
        explore.parse_follows(bad)


@pytest.mark.parametrize(("given_path", "normal"), [
    ("status", "$.status"), ("$.status", "$.status"), ("customer.name", "$.customer.name"),
    ("$.items[0].sku", "$.items[0].sku"), ('$."odd key"', '$."odd key"'),
    ("  a.b  ", "$.a.b"),
])
def test_normalize_path(given_path: str, normal: str) -> None:
    assert explore.normalize_path(given_path) == normal


@pytest.mark.parametrize("bad", ["$", "a..b", "a b", "$.a[x]", "a;DROP TABLE events",
                                 "$['a']", "a.", "$.1abc"])
def test_invalid_json_path_is_a_filter_error(bad: str) -> None:
    with pytest.raises(FilterError, match="is not understood"):
        build_where(Filters(json_path=bad, json_op="=", json_value="1"))


def test_unknown_operator_is_a_filter_error() -> None:
    with pytest.raises(FilterError, match="operator 'like' is not one of"):
        build_where(Filters(json_path="a", json_op="like", json_value="x"))


# --- EventKey --------------------------------------------------------------------------------

def test_event_key_param_form() -> None:
    key = EventKey("cart~7~x", 3, 12)
    assert key.to_param() == "12~3~cart~7~x"
    assert EventKey.from_param("12~3~cart~7~x") == key


@given(st.text(min_size=1), st.integers(min_value=0, max_value=2**62),
       st.integers(min_value=0, max_value=2**62))
def test_event_key_round_trip(entity_id: str, seq: int, offset: int) -> None:
    key = EventKey(entity_id, seq, offset)
    assert EventKey.from_param(key.to_param()) == key


@pytest.mark.parametrize("bad", ["", "order-1", "1~order-1", "x~1~order-1", "1~y~order-1"])
def test_event_key_malformed(bad: str) -> None:
    assert EventKey.from_param(bad) is None


# --- a real store of generated events --------------------------------------------------------

N_EVENTS = 357
NAMES = ("Ann", "Bo", "Chen", "Dana", "Anouk")


@dataclass(frozen=True)
class Gen:
    """One generated event as written to the file, plus what the store should derive."""

    event_id: str
    entity_type: str
    entity_id: str
    event_type: str
    ts: datetime
    payload: dict[str, Any]
    offset: int
    seq: int


def _generate() -> list[Gen]:
    rng = random.Random(20261101)
    kinds = {
        "order": ("order-", 25, ("OrderPlaced", "OrderPaid", "OrderShipped")),
        "customer": ("customer-", 12, ("CustomerRegistered", "CustomerUpgraded")),
        "cart": ("cart~", 8, ("ItemAdded", "ItemRemoved")),
    }
    minutes = list(range(N_EVENTS))
    rng.shuffle(minutes)  # file order is not time order
    raw = []
    for i in range(N_EVENTS):
        etype = rng.choice(list(kinds))
        prefix, n, types = kinds[etype]
        payload: dict[str, Any] = {}
        if etype == "order":
            payload["total"] = rng.randint(0, 500)
            payload["status"] = rng.choice(["paid", "open", "void"])
        elif etype == "customer":
            payload["tier"] = rng.choice(["Gold", "Silver", "Bronze"])
            payload["customer"] = {"name": rng.choice(NAMES)}
        else:
            payload["items"] = [{"sku": rng.choice(["A1", "B2", "C3"]),
                                 "qty": rng.randint(1, 4)}]
        if rng.random() < 0.2:
            payload["coupon"] = rng.choice(["SPRING", "WELCOME"])
        raw.append((f"ev-{i}", etype, f"{prefix}{rng.randrange(n)}", rng.choice(types),
                    T0 + timedelta(minutes=7 * minutes[i], seconds=rng.randrange(60)),
                    payload, i))
    seq: dict[tuple[str, int], int] = {}
    by_entity: dict[str, list[tuple]] = {}
    for r in raw:
        by_entity.setdefault(r[2], []).append(r)
    for ent, rows in by_entity.items():
        for k, r in enumerate(sorted(rows, key=lambda r: (r[4], r[6]))):
            seq[(ent, r[6])] = k + 1
    return [Gen(*r[:6], offset=r[6], seq=seq[(r[2], r[6])]) for r in raw]


@dataclass
class Loaded:
    store: EventStore
    data: list[Gen]
    path: Path


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Loaded]:
    data = _generate()
    d = tmp_path_factory.mktemp("explore")
    f = write_parquet(d / "events.parquet", {
        "event_id": [g.event_id for g in data],
        "entity_type": [g.entity_type for g in data],
        "entity_id": [g.entity_id for g in data],
        "event_type": [g.event_type for g in data],
        "occurred_at": [g.ts.isoformat() for g in data],
        "payload": [json.dumps(g.payload) for g in data],
    })
    store = EventStore(d / "x.duckdb")
    report = ingest(store, f)
    assert (report.rows_stored, report.mapping["preset"]) == (N_EVENTS, "envelope")
    yield Loaded(store, data, f)
    store.close()


@pytest.fixture()
def con(loaded: Loaded) -> Iterator[db.Connection]:
    cur = loaded.store.cursor()
    yield cur
    cur.close()


def _sorted(data: list[Gen]) -> list[Gen]:
    return sorted(data, key=lambda g: (g.ts, g.entity_id, g.seq, g.offset))


def test_stored_seq_matches_time_order_per_entity(loaded: Loaded,
                                                  con: db.Connection) -> None:
    got = {(r[0], r[1]): r[2] for r in db.rows(con, 'SELECT entity_id, "offset", seq '
                                                     "FROM events")}
    assert got == {(g.entity_id, g.offset): g.seq for g in loaded.data}


def test_paging_sorted_by_time(loaded: Loaded, con: db.Connection) -> None:
    expected = _sorted(loaded.data)
    seen = []
    for n in range(4):
        p = explore.page(con, Filters(), n)
        assert (p.total, p.pages, p.page) == (N_EVENTS, 4, n)
        assert p.rows.num_rows == (100 if n < 3 else N_EVENTS - 300)
        seen += p.rows.to_pylist()
    assert [(r["entity_id"], r["offset"], r["seq"], r["ts"]) for r in seen] == \
        [(g.entity_id, g.offset, g.seq, g.ts) for g in expected]
    assert seen[0]["event_id"] == expected[0].event_id


def test_page_beyond_the_end_clamps(con: db.Connection) -> None:
    last = explore.page(con, Filters(), 3)
    beyond = explore.page(con, Filters(), 99)
    assert beyond.page == 3
    assert beyond.rows.to_pylist() == last.rows.to_pylist()
    assert explore.page(con, Filters(), -5).page == 0


def test_empty_result_has_one_empty_page(con: db.Connection) -> None:
    p = explore.page(con, Filters(entity_prefix="nobody"), 2)
    assert (p.total, p.pages, p.page, p.rows.num_rows) == (0, 1, 0, 0)


def _num(payload: dict, key: str) -> float | None:
    v = payload.get(key)
    return float(v) if isinstance(v, int | float) else None


START, END = T0 + timedelta(hours=10), T0 + timedelta(hours=20)
FILTER_CASES: list[tuple[str, Filters, Callable[[Gen], bool]]] = [
    ("start", Filters(start=START), lambda g: g.ts >= START),
    ("end", Filters(end=END), lambda g: g.ts <= END),
    ("range", Filters(start=START, end=END), lambda g: START <= g.ts <= END),
    ("types", Filters(event_types=("OrderPaid", "ItemAdded")),
     lambda g: g.event_type in ("OrderPaid", "ItemAdded")),
    ("entity type", Filters(entity_type="customer"), lambda g: g.entity_type == "customer"),
    ("prefix", Filters(entity_prefix="order-1"), lambda g: g.entity_id.startswith("order-1")),
    ("prefix tilde", Filters(entity_prefix="cart~"), lambda g: g.entity_id.startswith("cart~")),
    ("text", Filters(text="GOLD"), lambda g: g.payload.get("tier") == "Gold"),
    ("json =", Filters(json_path="status", json_op="=", json_value="paid"),
     lambda g: g.payload.get("status") == "paid"),
    ("json != text", Filters(json_path="status", json_op="!=", json_value="paid"),
     lambda g: "status" in g.payload and g.payload["status"] != "paid"),
    ("json = number", Filters(json_path="$.total", json_op="=", json_value="309"),
     lambda g: _num(g.payload, "total") == 309),
    ("json != number", Filters(json_path="$.total", json_op="!=", json_value="309"),
     lambda g: "total" in g.payload and _num(g.payload, "total") != 309),
    ("json >", Filters(json_path="total", json_op=">", json_value="300"),
     lambda g: (_num(g.payload, "total") or -1) > 300),
    ("json >=", Filters(json_path="total", json_op=">=", json_value="300"),
     lambda g: (_num(g.payload, "total") or -1) >= 300),
    ("json <", Filters(json_path="total", json_op="<", json_value="99.5"),
     lambda g: "total" in g.payload and g.payload["total"] < 99.5),
    ("json <=", Filters(json_path="total", json_op="<=", json_value="100"),
     lambda g: "total" in g.payload and g.payload["total"] <= 100),
    ("json contains", Filters(json_path="customer.name", json_op="contains", json_value="AN"),
     lambda g: "an" in g.payload.get("customer", {}).get("name", "").lower()),
    ("json index", Filters(json_path="$.items[0].sku", json_op="=", json_value="B2"),
     lambda g: bool(g.payload.get("items")) and g.payload["items"][0]["sku"] == "B2"),
    ("json exists", Filters(json_path="coupon", json_op="exists"),
     lambda g: "coupon" in g.payload),
    ("json missing", Filters(json_path="coupon", json_op="missing"),
     lambda g: "coupon" not in g.payload),
    ("combined", Filters(start=START, entity_type="order", json_path="total", json_op=">",
                         json_value="200"),
     lambda g: g.ts >= START and g.entity_type == "order" and g.payload["total"] > 200),
]


def _next_types(data: list[Gen]) -> dict[tuple[str, int], tuple[str | None, str | None]]:
    """(entity, offset) -> (type of the event before, type of the event after) by seq."""
    by_entity: dict[str, list[Gen]] = {}
    for g in data:
        by_entity.setdefault(g.entity_id, []).append(g)
    out = {}
    for rows in by_entity.values():
        rows.sort(key=lambda g: g.seq)
        for i, g in enumerate(rows):
            out[(g.entity_id, g.offset)] = (rows[i - 1].event_type if i else None,
                                            rows[i + 1].event_type if i + 1 < len(rows)
                                            else None)
    return out


NEXT = _next_types(_generate())
FILTER_CASES += [
    ("event id", Filters(event_id="ev-7"), lambda g: g.event_id == "ev-7"),
    ("follows A>B", Filters(follows=("OrderPlaced", "OrderPaid")),
     lambda g: g.event_type == "OrderPlaced" and NEXT[(g.entity_id, g.offset)][1] == "OrderPaid"),
    ("follows ^>A", Filters(follows=("^", "OrderPaid")),
     lambda g: g.event_type == "OrderPaid" and NEXT[(g.entity_id, g.offset)][0] is None),
    ("follows A>$", Filters(follows=("ItemAdded", "$")),
     lambda g: g.event_type == "ItemAdded" and NEXT[(g.entity_id, g.offset)][1] is None),
    ("json path without a value is not applied yet",
     Filters(entity_type="cart", json_path="status", json_op="=", json_value=""),
     lambda g: g.entity_type == "cart"),
]


@pytest.mark.parametrize(("name", "f", "pred"), FILTER_CASES,
                         ids=[c[0] for c in FILTER_CASES])
def test_filter_counts_match_python(loaded: Loaded, con: db.Connection, name: str,
                                    f: Filters, pred: Callable[[Gen], bool]) -> None:
    expected = [g for g in loaded.data if pred(g)]
    assert 0 < len(expected) < N_EVENTS, f"filter {name} does not narrow the test data"
    p = explore.page(con, f, 0)
    assert p.total == len(expected)
    assert [(r["entity_id"], r["offset"]) for r in p.rows.to_pylist()] == \
        [(g.entity_id, g.offset) for g in _sorted(expected)[:100]]
    table, _ = explore.counts_over_time(con, f)
    assert sum(table.column("events").to_pylist()) == len(expected)


def test_counts_over_time_buckets(loaded: Loaded, con: db.Connection) -> None:
    table, bucket = explore.counts_over_time(con, Filters(), bucket="1 hour")
    assert bucket == "1 hour"
    expected: dict[tuple[datetime, str], int] = {}
    for g in loaded.data:
        k = (g.ts.replace(minute=0, second=0), g.event_type)
        expected[k] = expected.get(k, 0) + 1
    got = {(r["bucket"].astimezone(UTC), r["event_type"]): r["events"]
           for r in table.to_pylist()}
    assert got == expected
    span = max(g.ts for g in loaded.data) - min(g.ts for g in loaded.data)
    assert timedelta(hours=30) < span < timedelta(hours=120)  # 15 minutes gives > 120 bars
    _, auto = explore.counts_over_time(con, Filters())
    assert auto == "1 hour"
    with pytest.raises(FilterError):
        explore.counts_over_time(con, Filters(), bucket="1 fortnight")


@pytest.mark.parametrize(("span", "bucket"), [
    (timedelta(0), "1 second"), (timedelta(seconds=120), "1 second"),
    (timedelta(seconds=121), "10 seconds"), (timedelta(hours=2), "1 minute"),
    (timedelta(days=5), "1 hour"), (timedelta(days=3650), "30 days"),
])
def test_bucket_for(span: timedelta, bucket: str) -> None:
    assert explore.bucket_for(span) == bucket


def test_numeric_not_equal_excludes_numerically_equal_values(tmp_path: Path) -> None:
    # {"total": 120.0} matches `total = 120`; it must not also match `total != 120`.
    f = write_parquet(tmp_path / "t.parquet", {
        "entity_id": ["o-1", "o-2", "o-3"], "event_type": ["T"] * 3,
        "occurred_at": ["2026-11-01T10:00:00Z"] * 3,
        "payload": ['{"total": 120.0}', '{"total": 120}', '{"total": 7}']})
    with EventStore(tmp_path / "x.duckdb") as store:
        ingest(store, f)
        cur = store.cursor()
        eq = explore.page(cur, Filters(json_path="total", json_op="=", json_value="120"))
        ne = explore.page(cur, Filters(json_path="total", json_op="!=", json_value="120"))
        assert sorted(eq.rows.column("entity_id").to_pylist()) == ["o-1", "o-2"]
        assert ne.rows.column("entity_id").to_pylist() == ["o-3"]


def test_event_detail_neighbours_and_position(loaded: Loaded, con: db.Connection) -> None:
    by_entity: dict[str, list[Gen]] = {}
    for g in loaded.data:
        by_entity.setdefault(g.entity_id, []).append(g)
    checked = 0
    for ent in ("order-3", "cart~2", "customer-5"):
        stream = sorted(by_entity[ent], key=lambda g: g.seq)
        assert len(stream) >= 3
        for k, g in enumerate(stream):
            d = explore.event_detail(con, EventKey(ent, g.seq, g.offset))
            assert d is not None
            assert (d.position, d.count) == (k, len(stream))
            assert d.event["event_id"] == g.event_id
            assert d.previous == (EventKey(ent, stream[k - 1].seq, stream[k - 1].offset)
                                  if k else None)
            assert d.next == (EventKey(ent, stream[k + 1].seq, stream[k + 1].offset)
                              if k + 1 < len(stream) else None)
            if d.next is not None:
                assert explore.event_detail(con, d.next).previous == \
                    EventKey(ent, g.seq, g.offset)
            checked += 1
    assert checked > 9


def test_event_detail_unknown_key_is_none(con: db.Connection) -> None:
    assert explore.event_detail(con, EventKey("order-3", 9999, 0)) is None
    assert explore.event_detail(con, EventKey("nobody", 1, 0)) is None


def test_event_key_from_a_page_row_round_trips_through_the_url(con: db.Connection) -> None:
    rows = explore.page(con, Filters(entity_prefix="cart~")).rows.to_pylist()
    row = rows[0]
    key = EventKey(row["entity_id"], row["seq"], row["offset"])
    assert "~" in key.entity_id
    back = EventKey.from_param(key.to_param())
    assert back == key
    detail = explore.event_detail(con, back)
    assert detail is not None and detail.event["entity_id"] == row["entity_id"]


def test_entity_ids_prefix_search(loaded: Loaded, con: db.Connection) -> None:
    ids = sorted({g.entity_id for g in loaded.data})
    assert explore.entity_ids(con, "order-1") == [i for i in ids if i.startswith("order-1")]
    assert explore.entity_ids(con, "cart~", limit=3) == \
        [i for i in ids if i.startswith("cart~")][:3]
    assert explore.entity_ids(con, "") == ids[:20]
    assert explore.entity_ids(con, "zzz") == []


def test_facets(loaded: Loaded, con: db.Connection) -> None:
    fc = explore.facets(con)
    assert fc.event_types == sorted({g.event_type for g in loaded.data})
    assert fc.entity_types == ["cart", "customer", "order"]
    assert (fc.first_ts, fc.last_ts) == (min(g.ts for g in loaded.data),
                                         max(g.ts for g in loaded.data))


def test_entity_events_in_stream_order(loaded: Loaded, con: db.Connection) -> None:
    table = explore.entity_events(con, "order-3")
    expected = sorted((g for g in loaded.data if g.entity_id == "order-3"),
                      key=lambda g: g.seq)
    assert table.column("event_id").to_pylist() == [g.event_id for g in expected]
    assert [json.loads(p) for p in table.column("payload").to_pylist()] == \
        [g.payload for g in expected]


def test_entity_events_sorts_rows_stored_out_of_order_and_keeps_sorted_ones() -> None:
    rows = [row("o-1", 2, {"b": 2}, offset=5), row("o-1", 1, {"a": 1}, offset=9),
            row("o-1", 2, {"c": 3}, offset=4, minute=1.5), row("o-2", 1, {}),
            row("o-2", 3, {}), row("o-2", 7, {})]
    con = store_with(rows).cursor()
    table = explore.entity_events(con, "o-1")
    assert list(zip(table.column("seq").to_pylist(), table.column("offset").to_pylist(),
                    strict=True)) == [(1, 9), (2, 4), (2, 5)]
    assert explore.entity_events(con, "o-2").column("seq").to_pylist() == [1, 3, 7]
    assert explore.entity_events(con, "nobody").num_rows == 0


def test_filters_from_url_params() -> None:
    from urllib.parse import parse_qs
    f = explore.filters.from_params(parse_qs(
        "types=A&types=B&etype=order&entity=order-1&dup=1&from=2026-11-01T10:00:00Z"
        "&follows=A>B&jpath=status&jop=%3D&jval=paid&correlation=c1"))
    assert f == Filters(start=T0 + timedelta(hours=10), event_types=("A", "B"),
                        entity_type="order", entity_prefix="order-1", duplicates_only=True,
                        follows=("A", "B"), json_path="status", json_op="=",
                        json_value="paid", correlation_id="c1")
    assert explore.filters.from_params({"etype": "(all)"}) == Filters()
    with pytest.raises(FilterError, match="is not a time"):
        explore.filters.from_params({"from": "soon"})
