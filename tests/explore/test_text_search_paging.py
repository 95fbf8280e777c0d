"""Explore's search pages first and counts bounded: the same rows as an exact count-first
page, and a total that is exact or, said so, a lower bound."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from event_rows import add_events

from eventlab import explore
from eventlab.explore import Filters
from eventlab.store.eventstore import EventStore

T0 = datetime(2026, 2, 1, tzinfo=UTC)
WORDS = ("hamburg", "berlin", "Hamburger", "bremen", "paris")


@pytest.fixture(scope="module")
def searched() -> EventStore:
    rng = random.Random(50)
    with EventStore(":memory:") as store:
        add_events(store, [
            {"entity_id": f"order-{rng.randint(1, 40)}", "seq": i, "offset": i,
             "ts": T0 + timedelta(seconds=rng.randint(0, 9999)),
             "payload": {"city": rng.choices(WORDS, weights=(30, 30, 5, 1, 0))[0], "n": i},
             "metadata": {"correlation_id": f"c{i % 3}"}}
            for i in range(700)])
        yield store


CASES = [Filters(text="hamburg"), Filters(text="BREMEN"), Filters(text="paris"),
         Filters(text="berlin", entity_prefix="order-1"), Filters(correlation_id="c1"),
         Filters(json_path="city", json_op="=", json_value="berlin")]


@pytest.mark.parametrize("f", CASES, ids=[repr(c)[:60] for c in CASES])
@pytest.mark.parametrize("page_no", [0, 1, 3, 8, 99])
def test_paged_first_matches_counted_first(searched: EventStore, f: Filters,
                                           page_no: int) -> None:
    with searched.reading() as cur:
        exact = explore.page(cur, f, page_no, page_size=20, count_all=True)
        got = explore.page(cur, f, page_no, page_size=20, count_cap=50)
    assert explore.reads_json(f)
    if got.exact:
        assert (got.total, got.pages, got.page) == (exact.total, exact.pages, exact.page)
        assert got.rows.to_pylist() == exact.rows.to_pylist()
    else:  # a lower bound, never above the truth, at least the page asked for
        assert 50 <= got.total < exact.total
        assert got.total >= (got.page + 1) * 20 or got.page == got.pages - 1
        assert got.rows.to_pylist() == \
            explore.page(searched.cursor(), f, got.page, 20, count_all=True).rows.to_pylist()


def test_common_terms_stop_counting_rare_ones_count_from_the_page(searched: EventStore) -> None:
    with searched.reading() as cur:
        common = explore.page(cur, Filters(text="berlin"), 0, page_size=20, count_cap=50)
        rare = explore.page(cur, Filters(text="bremen"), 0, page_size=20, count_cap=50)
        none = explore.page(cur, Filters(text="paris"), 0, page_size=20, count_cap=50)
        deep = explore.page(cur, Filters(text="berlin"), 5, page_size=20, count_cap=50)
    assert (common.total, common.pages, common.exact) == (50, 3, False)
    assert rare.exact and 0 < rare.total < 20 and rare.pages == 1
    assert (none.total, none.pages, none.exact, none.rows.num_rows) == (0, 1, True, 0)
    assert deep.page == 5 and deep.total >= 120  # the count reaches the page asked for
