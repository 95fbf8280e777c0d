"""Event flow (issue 10): rates over time by type, directly-follows transitions within an entity,
variants, correlation chains, and the topic to consumer-group graph.

Computed inside DuckDB over `events` (store/), returned as small Arrow tables or frozen records;
the pure SQL builders are tested by their exact SQL, the charts live in `charts/`.
"""
