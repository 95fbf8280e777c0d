"""Flow queries on hand-made event sets in a real DuckDB file: transitions, variants, rates
and correlation chains, every number worked out by hand (tests/flow_support.py)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from flow_support import CHAIN_ORDER, CHAIN_ROWS, FLOW_ROWS, T0, ev, flow_db

from eventlab import flow
from eventlab.flow import END, START, Scope
from eventlab.flow.transitions import sorted_stream_sql, transitions_sql
from eventlab.flow.typecodes import TypeCodes, type_codes
from eventlab.store import db
from eventlab.store.eventstore import EventStore


@pytest.fixture()
def cur(tmp_path: Path):
    with EventStore(flow_db(tmp_path / "flow.duckdb"), read_only=True) as store, \
            store.reading() as c:
        yield c


@pytest.fixture()
def chain_cur(tmp_path: Path):
    with EventStore(flow_db(tmp_path / "chain.duckdb", CHAIN_ROWS), read_only=True) as store, \
            store.reading() as c:
        yield c


def _edges(table) -> dict[tuple[str, str], dict]:
    return {(r["from_type"], r["to_type"]): r for r in table.to_pylist()}


def test_transitions_pair_each_event_with_the_next_of_its_entity_by_seq(cur) -> None:
    edges = _edges(flow.transitions(cur, Scope("order")))
    assert {k: v["count"] for k, v in edges.items()} == {
        (START, "A"): 4, ("A", "B"): 3, ("B", "C"): 2, ("A", "C"): 1, ("C", END): 3,
        ("B", END): 1}


def test_transition_times_are_median_and_p95_with_negative_gaps_as_zero(cur) -> None:
    edges = _edges(flow.transitions(cur, Scope("order")))
    ab, bc, ac = edges["A", "B"], edges["B", "C"], edges["A", "C"]
    assert (ab["median_seconds"], ab["p95_seconds"]) == pytest.approx((20, 29))
    assert (bc["median_seconds"], bc["p95_seconds"]) == pytest.approx((15, 28.5))
    assert (ac["median_seconds"], ac["p95_seconds"]) == pytest.approx((60, 60))
    assert (ab["negative_gaps"], bc["negative_gaps"], ac["negative_gaps"]) == (0, 1, 0)
    assert edges[START, "A"]["median_seconds"] is None
    assert edges["C", END]["p95_seconds"] is None


def test_without_an_entity_type_every_stream_counts(cur) -> None:
    edges = _edges(flow.transitions(cur))
    assert edges["X", "Y"]["count"] == 1 and edges["X", "Y"]["median_seconds"] == 5
    assert edges[START, "X"]["count"] == 1 and edges[START, "A"]["count"] == 4
    # every event starts exactly one pair (its last one the pair into END)
    assert sum(r["count"] for r in edges.values() if r["from_type"] != START) == len(FLOW_ROWS)


def test_a_time_range_keeps_the_events_inside_it(cur) -> None:
    # 15 s .. 100 s: order1 C@40, order2 B@20, order3 B@30, order4 A@100
    edges = _edges(flow.transitions(cur, Scope("order", T0 + timedelta(seconds=15),
                                               T0 + timedelta(seconds=100))))
    assert {k: v["count"] for k, v in edges.items()} == {
        (START, "C"): 1, (START, "B"): 2, (START, "A"): 1, ("C", END): 1, ("B", END): 2,
        ("A", END): 1}


def test_an_empty_scope_has_no_transitions_or_variants(cur) -> None:
    assert flow.transitions(cur, Scope("nothing")).num_rows == 0
    assert flow.variants(cur, Scope("nothing")).num_rows == 0
    assert flow.rates(cur, Scope("nothing")).table.num_rows == 0


def test_variants_count_complete_sequences_per_entity_type(cur) -> None:
    rows = flow.variants(cur).to_pylist()
    assert [(r["entity_type"], r["variant"], r["entities"], r["share"]) for r in rows] == [
        ("order", ["A", "B", "C"], 2, 0.5), ("order", ["A", "B"], 1, 0.25),
        ("order", ["A", "C"], 1, 0.25), ("payment", ["X", "Y"], 1, 1.0)]
    assert [r["variant"] for r in flow.variants(cur, Scope("order"), top=1).to_pylist()] == [
        ["A", "B", "C"]]


def test_the_entities_of_a_variant(cur) -> None:
    assert flow.variant_entities(cur, "order", ["A", "B", "C"]) == ["order1", "order2"]
    assert flow.variant_entities(cur, "order", ["A", "C"]) == ["order4"]
    assert flow.variant_entities(cur, "order", ["C", "A"]) == []


def test_rates_count_events_per_bucket_and_type(cur) -> None:
    result = flow.rates(cur, Scope("order"))
    assert result.bucket == "10 seconds"  # a 160 s span: at most about 120 bars
    assert result.seconds == 10
    got = {(r["bucket"], r["event_type"]): r["events"] for r in result.table.to_pylist()}
    assert got[T0, "A"] == 3 and got[T0 + timedelta(seconds=160), "C"] == 1
    assert got[T0 + timedelta(seconds=10), "B"] == 1 == got[T0 + timedelta(seconds=10), "C"]
    assert sum(got.values()) == 10
    assert flow.rates(cur, Scope(), "1 hour").table.to_pylist() == [
        {"bucket": T0, "event_type": t, "events": n}
        for t, n in [("A", 4), ("B", 3), ("C", 3), ("X", 1), ("Y", 1)]]


def test_the_bucket_follows_the_range_from_second_to_day() -> None:
    assert flow.choose_bucket(timedelta(seconds=30)) == "1 second"
    assert flow.choose_bucket(timedelta(hours=2)) == "1 minute"
    assert flow.choose_bucket(timedelta(days=7)) == "6 hours"
    assert flow.choose_bucket(timedelta(days=400)) == "1 day"


def test_a_chain_is_complete_and_in_causal_order(chain_cur) -> None:
    chain = flow.chain(chain_cur, "c1")
    assert [e.event_id for e in chain.events] == CHAIN_ORDER
    assert [e.depth for e in chain.events] == [0, 1, 2, 3, 4, 1, 0, 1, 1]
    assert chain.missing_parents == ("gone",)
    assert chain.duplicates == 1
    assert [e.event_id for e in chain.events if not e.in_correlation] == ["e8"]
    assert chain.lanes == ("order1", "import1", "payment1", "note1", "shipment1")
    assert chain.topics == ("orders", "payments", "shipments")
    tree = [(r.depth, r.event.event_id if r.event else f"missing:{r.missing_id}")
            for r in chain.rows]
    assert tree == [(0, "e1"), (1, "e2"), (2, "e3"), (3, "e4"), (4, "e5"), (1, "e7"),
                    (0, "e8"), (1, "e9"), (0, "missing:gone"), (1, "e6")]


def test_a_chain_opens_from_an_event_and_unknown_ids_are_clear_errors(chain_cur) -> None:
    assert flow.correlation_of(chain_cur, "e5") == "c1"  # camelCase metadata keys
    with pytest.raises(flow.ChainNotFound, match="nope"):
        flow.chain(chain_cur, "nope")
    with pytest.raises(flow.ChainNotFound, match="No event with id"):
        flow.correlation_of(chain_cur, "e404")
    assert flow.recent_correlations(chain_cur, 2) == ["c1", "c3"]


def test_a_correlation_id_with_json_special_characters_is_found(tmp_path: Path) -> None:
    odd = 'we"ird\\id'
    path = flow_db(tmp_path / "odd.duckdb", [ev("order1", 1, "A", 0, correlation=odd)])
    with EventStore(path, read_only=True) as store, store.reading() as c:
        assert [e.event_id for e in flow.chain(c, odd).events] == ["order1/1"]


def test_the_transitions_match_a_python_dfg_on_the_demo_shop(demo_db: Path) -> None:
    """An independent oracle: pm4py's definition in plain Python over every event."""
    with EventStore(demo_db) as store, store.reading() as c:
        rows = c.execute("SELECT entity_id, seq, event_type, epoch_us(ts) FROM events "
                         "WHERE entity_type = 'order'").fetchall()
        got = _edges(flow.transitions(c, Scope("order")))
    streams: dict[str, list] = {}
    for entity, seq, etype, us in rows:
        streams.setdefault(entity, []).append((seq, etype, us))
    gaps: dict[tuple[str, str], list[float]] = {}
    for events in streams.values():
        events.sort()
        gaps.setdefault((START, events[0][1]), [])
        gaps.setdefault((events[-1][1], END), [])
        for (_, a, t0), (_, b, t1) in zip(events, events[1:], strict=False):
            gaps.setdefault((a, b), []).append(max(t1 - t0, 0) / 1e6)
    counts = {k: len(v) for k, v in gaps.items() if k[0] != START and k[1] != END}
    assert {k: v["count"] for k, v in got.items() if START not in k and END not in k} == counts
    for key, values in gaps.items():
        if key[0] == START or key[1] == END:
            continue
        values.sort()
        assert got[key]["median_seconds"] == pytest.approx(_quantile(values, 0.5))
        assert got[key]["p95_seconds"] == pytest.approx(_quantile(values, 0.95))
    assert sum(v["count"] for k, v in got.items() if k[0] == START) == len(streams)


def _quantile(values: list[float], q: float) -> float:
    """Linear interpolation between closest ranks (numpy's and pandas' default)."""
    pos = (len(values) - 1) * q
    lo = int(pos)
    hi = min(lo + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (pos - lo)


def test_variants_without_packable_seqs_take_the_struct_path(tmp_path: Path) -> None:
    rows = [ev("order1", -5, "B", 0), ev("order1", 2 ** 61, "A", 1), ev("order1", 3, "C", 2),
            ev("order2", 7, "C", 0), ev("order2", 7, "A", 1)]  # equal seqs: by event type
    path = flow_db(tmp_path / "odd.duckdb", rows)
    with EventStore(path, read_only=True) as store, store.reading() as c:
        codes = type_codes(c, Scope())
        assert (codes.names, codes.bits, codes.packable()) == (("A", "B", "C"), 2, False)
        got = [(r["variant"], r["entities"]) for r in flow.variants(c).to_pylist()]
        assert got == [(["A", "C"], 1), (["B", "C", "A"], 1)]
        assert flow.variant_entities(c, "order", ["B", "C", "A"]) == ["order1"]
        assert flow.variant_entities(c, "order", ["A", "C", "Z"]) == []
        edges = _edges(flow.transitions(c))
        assert set(edges) == {(START, "B"), ("B", "C"), ("C", "A"), ("A", END), (START, "A"),
                              ("A", "C"), ("C", END)}


def test_seq_packing_fits_a_bigint_only_in_range() -> None:
    assert TypeCodes(("A",) * 17, 1, 996).bits == 5
    assert TypeCodes(("A",) * 17, 0, 2 ** 57 - 1).packable()
    assert not TypeCodes(("A",) * 17, 0, 2 ** 57).packable()
    assert not TypeCodes((), None, None).packable()
    assert TypeCodes(("A",) * 17, 1, 996).packed_type() == "USMALLINT"  # 996 << 5 | 31
    assert TypeCodes(("A",) * 17, 1, 2 ** 11).packed_type() == "UINTEGER"
    assert TypeCodes(("A",) * 17, 1, 2 ** 27).packed_type() == "BIGINT"


@pytest.mark.parametrize("entity_type", [None, "order", "customer"])
def test_the_sorted_stream_and_the_window_forms_agree(demo_db: Path,
                                                      entity_type: str | None) -> None:
    scope = Scope(entity_type)
    with EventStore(demo_db) as store, store.reading() as c:
        names = type_codes(c, scope).names
        stream = db.arrow(c, *sorted_stream_sql(scope, names))
        window = db.arrow(c, *transitions_sql(scope, names))
    assert set(stream.column("disorder").to_pylist()) == {0}  # arrived sorted: no fallback
    got, want = stream.drop_columns(["disorder"]).to_pylist(), window.to_pylist()
    assert [_key(r) for r in got] == [_key(r) for r in want]
    for a, b in zip(got, want, strict=True):
        for k in ("median_seconds", "p95_seconds"):
            assert a[k] == b[k] or a[k] == pytest.approx(b[k])


def _key(r: dict) -> tuple:
    return (r["from_type"], r["to_type"], r["count"], r["negative_gaps"])
