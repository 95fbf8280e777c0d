"""The facts kept per data version next to `events` (`store.watermark`), each with its lazy
refresh, in the order a page or `eventlab refresh` brings them up to date."""

from __future__ import annotations

from collections.abc import Callable

from eventlab.asof.current import refresh_store as refresh_current
from eventlab.explore import search_index
from eventlab.quality import shapes
from eventlab.store.eventstore import EventStore

FACTS: dict[str, Callable[[EventStore], str]] = {
    "summaries": lambda store: store.refresh_summaries(),
    "follows": lambda store: store.refresh_follows(),
    "current states": refresh_current,
    "payload shapes": lambda store: store.refresh_lazily(shapes.fresh, shapes.refresh),
    "search index": lambda store: store.refresh_lazily(search_index.fresh, search_index.refresh),
}
"""Each set of facts and its refresh: "read-only", "busy", "fresh", "incremental" or
"rebuilt" (`EventStore.refresh_lazily`). Readers of each check it is fresh first."""
