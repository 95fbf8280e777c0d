"""Time travel for one entity: load its events, fold them, cache the folds, and answer what the
page asks at a position (state, diff, blame, field history).

`load` reads an entity's events from the store, `cache` keeps folds between sessions,
`positions` is the pure logic over one fold, `reducer_choices` says which reducers the operator
made available. The names below are the package's API (`timetravel.position(...)`).
"""

from eventlab.timetravel.cache import (
    SNAPSHOT_EVERY,
    FoldCache,
    Loaded,
    blame_rows,
    history,
    seen_paths,
)
from eventlab.timetravel.load import (
    ORDER_COLUMNS,
    EntityNotFound,
    entity_version,
    event_types,
    events_from_arrow,
    load_events,
    paused_gc,
)
from eventlab.timetravel.positions import (
    Position,
    available_bases,
    basis_values,
    change_dicts,
    creation_changes,
    event_dict,
    index_at,
    jsonable,
    leaf_paths,
    out_of_order,
    position,
)

__all__ = [
    "ORDER_COLUMNS", "SNAPSHOT_EVERY", "EntityNotFound", "FoldCache", "Loaded",
    "Position", "available_bases", "basis_values", "blame_rows", "change_dicts",
    "creation_changes", "entity_version", "event_dict", "event_types", "events_from_arrow",
    "history", "index_at", "jsonable", "leaf_paths", "load_events", "out_of_order",
    "paused_gc", "position", "seen_paths",
]
