"""Explore's search skip index (`explore.search_index`, `explore.trigrams`): on random texts
(ASCII, any Unicode, U+0130 and U+212A, terms that run across two payloads) a search narrowed
by the index finds exactly the rows of the plain scan; a refresh of the new rows equals a
rebuild; a stale index is not used; a rare term reads only the blocks that may hold it."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta

import pyarrow as pa
import pytest
from event_rows import add_events
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from eventlab import explore
from eventlab.explore import search_index, trigrams
from eventlab.explore.search import text_clause
from eventlab.store import db
from eventlab.store.eventstore import EventStore

T0 = datetime(2026, 4, 1, tzinfo=UTC)
TRICKY = "aAiIkKzZ\u0130\u0131\u212a\u212b\u017f\u00df\u00e9.-\"' \\{}:0"
texts = st.text(alphabet=st.sampled_from(TRICKY) | st.characters(codec="utf-8"), max_size=14)
ascii_terms = st.text(alphabet=st.sampled_from("aAiIkKzZ.-\"' {}:0") | st.characters(
    max_codepoint=127), min_size=1, max_size=5)


@pytest.fixture
def small_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Blocks of 3 rowids and the index used whatever share of blocks may match."""
    monkeypatch.setattr(search_index, "BLOCK_ROWS", 3)
    monkeypatch.setattr(search_index, "MAX_SHARE", 1.0)


def _rows(payloads: list[str | None], start: int = 0) -> list[dict]:
    return [{"entity_id": f"e-{(start + i) % 7}", "seq": start + i, "offset": start + i,
             "ts": T0 + timedelta(seconds=(start + i) * 37 % 101),
             "payload": None if p is None else json.dumps({"t": p}, ensure_ascii=False)}
            for i, p in enumerate(payloads)]


def _found(cur: db.Connection, term: str, narrowed: bool) -> list[int]:
    clause, param = text_clause(term)
    params: list = [param]
    if narrowed:
        narrowing = search_index.narrowing(cur, term)
        assert narrowing is not None
        clause = f"{clause} AND {narrowing[0]}"
        params += narrowing[1]
    return [r[0] for r in db.rows(cur, f"SELECT rowid FROM events WHERE {clause} ORDER BY 1",
                                  params)]


def _term_across(payloads: list[str | None], rng: random.Random) -> str:
    """A piece of two neighbouring payloads' JSON texts run together, lower-cased."""
    shown = [json.dumps({"t": p}, ensure_ascii=False) for p in payloads if p is not None]
    if len(shown) < 2:
        return "}{\""
    i = rng.randrange(len(shown) - 1)
    joined = shown[i] + shown[i + 1]
    cut = len(shown[i])
    return joined[max(0, cut - rng.randint(1, 4)):cut + rng.randint(1, 4)].lower()


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@example(payloads=["\u212aiel", "x", "y", "KIEL", "\u0130stanbul", "z", "zz"], term="kie",
         seed=0)
@example(payloads=["a", "\u0130zmir", "b", "c"], term="IZM", seed=0)
@example(payloads=["Hamburg", None, "bremen", "x", "x", "x", "x"], term="MBU", seed=1)
@given(payloads=st.lists(texts | st.none(), min_size=1, max_size=24),
       term=ascii_terms | texts, seed=st.integers(0, 1000))
def test_narrowed_search_finds_the_rows_of_the_plain_scan(
        small_blocks: None, payloads: list[str | None], term: str, seed: int) -> None:
    rng = random.Random(seed)
    present = [p for p in payloads if p]
    candidates = [term, _term_across(payloads, rng)]
    if present:  # a piece of a payload, its case changed at random
        p = rng.choice(present)
        a = rng.randrange(len(p))
        piece = p[a:a + rng.randint(3, 6)]
        candidates.append("".join(c.upper() if rng.random() < 0.5 else c for c in piece))
    with EventStore(":memory:") as store:
        add_events(store, _rows(payloads))
        with store.transaction() as cur:
            assert search_index.refresh(cur) == "rebuilt"
        cur = store.cursor()
        for t in candidates:
            if not trigrams.indexable(t.lower()):
                assert search_index.narrowing(cur, t) is None
                continue
            assert _found(cur, t, narrowed=True) == _found(cur, t, narrowed=False), t


def _load(store: EventStore, rng: random.Random, start: int, n: int,
          ingested: datetime) -> None:
    words = ["hamburg", "Kiel", "\u212aarlsruhe", "bremen", "x", "\u0130zmir", "stra\u00dfe"]
    rows = _rows([rng.choice(words) + str(rng.randint(0, 99)) if rng.random() < 0.9 else None
                  for _ in range(n)], start)
    for r in rows:
        r["ingested_at"] = ingested
    add_events(store, rows)


def _index(cur: db.Connection) -> list[tuple]:
    return db.rows(cur, "SELECT block, lo, hi, m, hashes, trigrams, vouched, bits "
                        "FROM search_trigrams ORDER BY block")


def test_refresh_of_new_rows_equals_a_rebuild(small_blocks: None,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(search_index, "BLOCK_ROWS", 16)
    rng = random.Random(7)
    with EventStore(":memory:") as store:
        _load(store, rng, 0, 50, T0)
        assert store.refresh_lazily(search_index.fresh, search_index.refresh) == "rebuilt"
        for k in range(1, 4):  # later loads: the last block fills up, new blocks follow
            _load(store, rng, 50 * k, 23 * k, T0 + timedelta(hours=k))
            with store.reading() as cur:
                assert not search_index.fresh(cur)
                assert search_index.narrowing(cur, "hamburg") is None  # stale: plain scan
            assert store.refresh_lazily(search_index.fresh, search_index.refresh) \
                == "incremental"
            with store.reading() as cur:
                incremental = _index(cur)
            with store.transaction() as cur:
                cur.execute("DELETE FROM search_trigrams_state")
            assert store.refresh_lazily(search_index.fresh, search_index.refresh) == "rebuilt"
            with store.reading() as cur:
                assert _index(cur) == incremental
                assert [r[6] for r in incremental].count(False) >= 1  # Kelvin / İ blocks
                for term in ("kiel", "karlsruhe", "hamburg1", "izmir", "bremen42", "nowhere"):
                    assert _found(cur, term, True) == _found(cur, term, False), term
        assert store.refresh_lazily(search_index.fresh, search_index.refresh) == "fresh"


def test_a_rare_term_reads_only_blocks_that_may_hold_it(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(search_index, "BLOCK_ROWS", 500)
    rng = random.Random(3)
    with EventStore(":memory:") as store:
        rows = _rows([f"city {rng.choice(['hamburg', 'berlin', 'paris'])} {i}"
                      for i in range(search_index.BLOCK_ROWS * 3)])
        rows[-5]["payload"] = json.dumps({"t": "a rare Zebra"})
        add_events(store, rows)
        with store.transaction() as cur:
            search_index.refresh(cur)
        cur = store.cursor()
        clause, params = search_index.narrowing(cur, "zebra")
        top = search_index.BLOCK_ROWS * 3
        assert params == [2 * search_index.BLOCK_ROWS, top, top]  # the last block only
        assert search_index.narrowing(cur, "hamburg") is None  # in every block: plain scan
        assert search_index.narrowing(cur, "no-such-word") == ("(rowid >= ?)", [top])
        page = explore.page(cur, explore.Filters(text="ZEBRA"))
        assert page.total == 1 and page.exact
        with store.transaction() as w:  # a doctored filter shows the page reads the index
            w.execute("UPDATE search_trigrams SET bits = '\\x00'::BLOB, m = 8")
        assert explore.page(cur, explore.Filters(text="ZEBRA")).total == 0
        assert explore.page(cur, explore.Filters(text="ZE")).total == 1  # too short: scan


def test_filters_are_sized_from_their_trigrams() -> None:
    f = trigrams.block_filter(pa.array(['{"city":"Hamburg"}', None, "xyz"]))
    assert (f.m, f.hashes, f.vouched) == (256, 8, True)
    assert f.false_positive_rate < 0.01
    assert trigrams.size_for(2500) == (32768, 8)
    assert trigrams.size_for(0) == (64, 8)
    codes = trigrams.term_codes("hamburg")
    assert trigrams.may_hold(f.bits, f.m, f.hashes, codes)
    assert not trigrams.may_hold(f.bits, f.m, f.hashes, trigrams.term_codes("berlin"))
    assert not trigrams.trigram_codes(pa.array(["x\u212a"]))[1]
    assert not trigrams.trigram_codes(pa.chunked_array([["a"], ["\u0130"]]))[1]
    assert trigrams.trigram_codes(pa.array(["\u00e9\u0131"]))[1]
