"""Getting events in: mappings, the SQL that turns raw rows and records into canonical events,
file and Kafka ingest, the stored Kafka positions, ingests as background jobs, and the tail.

This file imports nothing, so `ingest.mapping` (pure) stays light for the CLI's start-up:
import each module by its name.
"""
