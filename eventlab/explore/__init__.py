"""Explore: filters to bound SQL (pure), the page, chart, facet and entity queries, one event in
detail, and the quarantine. The names below are the package's API (`explore.page(...)`).
"""

from eventlab.explore.detail import (
    EventDetail,
    EventKey,
    event_detail,
    headers_for_display,
    show_bytes,
)
from eventlab.explore.duplicates import duplicate_map
from eventlab.explore.filters import (
    JSON_OPS,
    UNARY_OPS,
    FilterError,
    Filters,
    build_where,
    normalize_path,
    parse_follows,
)
from eventlab.explore.quarantine import (
    hex_dump,
    quarantine_row,
    quarantine_rows,
    quarantine_summary,
)
from eventlab.explore.queries import (
    COUNT_CAP,
    PAGE_SIZE,
    Facets,
    Page,
    bucket_for,
    counts_over_time,
    entity_events,
    entity_ids,
    event_ids_query,
    facets,
    page,
    reads_json,
)

__all__ = [
    "COUNT_CAP", "JSON_OPS", "PAGE_SIZE", "UNARY_OPS", "EventDetail", "EventKey", "Facets",
    "FilterError",
    "Filters", "Page", "bucket_for", "build_where", "counts_over_time", "duplicate_map",
    "entity_events", "entity_ids", "event_detail", "event_ids_query",
    "facets", "headers_for_display", "hex_dump", "normalize_path", "page", "parse_follows",
    "quarantine_row", "quarantine_rows", "reads_json", "quarantine_summary", "show_bytes",
]
