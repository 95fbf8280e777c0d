"""Data-quality findings (issue 12): duplicates, sequence gaps and regressions, out-of-order
times, unknown event types, schema drift, late events and the quarantine, each computed in
DuckDB and returned as frozen records with exact counts and examples.
"""
