"""Population "as of T": the merge-reducer state of every entity at a moment, inside DuckDB.

`compute` computes it (one SQL statement, in entity-id slices when large) and materialises
it; `current` keeps every entity's whole-stream fold per data version, so a population folds
only the entities whose events straddle T; `queries` answers what the As of page asks of it.
The names below are the package's API.
"""

from eventlab.asof.compute import (
    SQL_BASES,
    VARIADIC,
    AsOf,
    AsOfError,
    basis_span,
    busiest_type,
    data_version,
    drop,
    id_slices,
    materialize,
    population,
    population_reader,
    population_sql,
)
from eventlab.asof.current import fresh as current_fresh
from eventlab.asof.current import refresh_store as refresh_current
from eventlab.asof.queries import (
    Comparison,
    changed_page,
    compare,
    counts_by,
    field_path,
    rows_page,
    top_fields,
)

__all__ = [
    "SQL_BASES", "VARIADIC", "AsOf", "AsOfError", "Comparison", "basis_span", "busiest_type",
    "changed_page", "compare", "counts_by", "current_fresh", "data_version", "drop",
    "field_path", "id_slices", "materialize", "population", "population_reader",
    "population_sql", "refresh_current", "rows_page", "top_fields",
]
