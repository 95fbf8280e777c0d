"""Event flow (issue 10): rates over time by type, directly-follows transitions within an entity,
variants, and correlation chains.

Computed inside DuckDB over `events` (store/), returned as small Arrow tables or frozen records;
the graph filter and the causation tree are pure; the charts live in `charts/flow.py`.
"""

from eventlab.flow.causal import Chain, ChainEvent, TreeRow, build_chain
from eventlab.flow.chains import (
    ChainNotFound,
    chain,
    correlation_events,
    correlation_of,
    recent_correlations,
)
from eventlab.flow.graph import frequent, node_counts
from eventlab.flow.rates import BUCKETS, Rates, choose_bucket, rates
from eventlab.flow.scope import CAUSATION_KEYS, CORRELATION_KEYS, Scope
from eventlab.flow.transitions import END, START, duration, transitions, transitions_sql
from eventlab.flow.typecodes import TypeCodes, type_codes
from eventlab.flow.variants import variant_entities, variants, variants_sql

__all__ = [
    "BUCKETS", "CAUSATION_KEYS", "CORRELATION_KEYS", "END", "START", "Chain", "ChainEvent",
    "ChainNotFound", "Rates", "Scope", "TreeRow", "TypeCodes", "build_chain", "chain",
    "choose_bucket", "correlation_events", "correlation_of", "duration", "frequent",
    "node_counts", "rates", "recent_correlations", "transitions", "transitions_sql",
    "type_codes", "variant_entities", "variants", "variants_sql",
]
