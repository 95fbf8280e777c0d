"""Projection divergence: a consumer's read model against the rebuilt states, field by field.

`readmodel` reads the file (our readers, into Arrow) and says which columns map to which
state paths; `compare` runs the comparison in DuckDB; `demo` writes the demo shop's read model
with planted faults. The names below are the package's API.
"""

from eventlab.diverge.compare import (
    STATUSES,
    DivergeError,
    Divergence,
    compare,
    comparison_sql,
    json_path,
)
from eventlab.diverge.readmodel import (
    ReadModelSpec,
    parse_mapping,
    read_model,
    read_model_bytes,
)

__all__ = [
    "STATUSES", "DivergeError", "Divergence", "ReadModelSpec", "compare", "comparison_sql",
    "json_path", "parse_mapping", "read_model", "read_model_bytes",
]
