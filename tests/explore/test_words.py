"""Explore's filters in words: what people read instead of SQL with `?` placeholders."""

from __future__ import annotations

from datetime import UTC, datetime

from eventlab.explore.filters import Filters
from eventlab.explore.words import filters_words


def test_filters_read_as_words() -> None:
    assert filters_words(Filters()) == "every event"
    f = Filters(event_types=("OrderPlaced", "OrderPaid"), entity_prefix="order-1",
                start=datetime(2026, 5, 1, 9, tzinfo=UTC), duplicates_only=True,
                json_path="$.total", json_op=">", json_value="100", follows=("^", "A"))
    assert filters_words(f) == ("event types OrderPlaced, OrderPaid · entity id starting with "
                                "order-1 · from 2026-05-01 09:00:00 UTC · payload $.total > 100"
                                " · only duplicated event ids · transition start → A")
