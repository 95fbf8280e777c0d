"""The DuckDB adapter: the one connection helper (`db`), the schema, `EventStore`, the SQL
console's sandbox and the SQL helpers. Only this package imports duckdb.

This file imports nothing, so a light module here (`store.sql`) stays light: import
`eventlab.store.eventstore.EventStore` and the others by their module.
"""
