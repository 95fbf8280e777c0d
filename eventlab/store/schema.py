"""DDL of the EventLab store: the canonical `events` table and its side tables.

Column names as in docs/reference.md ("The event model"). `partition` and `offset` are SQL keywords:
always quote them (`quote_ident` in `eventlab.store.sql`).
"""

from __future__ import annotations

from typing import Any

EVENT_COLUMNS: tuple[str, ...] = (
    "event_id", "entity_type", "entity_id", "event_type", "event_version", "seq", "ts",
    "payload", "metadata", "is_delete", "source", "topic", "partition", "offset", "key",
    "value", "headers", "kafka_ts", "kafka_ts_type", "ts_assumed_utc", "ingested_at",
)
"""The canonical event, column by column: the one list every writer and reader derives from."""
KAFKA_COLUMNS: tuple[str, ...] = ("topic", "partition", "key", "value", "headers", "kafka_ts",
                                  "kafka_ts_type")
"""Where a Kafka record came from, and its raw bytes: NULL for events loaded from files."""
WRITTEN_COLUMNS: tuple[str, ...] = tuple(c for c in EVENT_COLUMNS if c != "ingested_at")
"""What a Kafka ingest writes (`ingested_at` is the database's now())."""
FILE_COLUMNS: tuple[str, ...] = tuple(c for c in WRITTEN_COLUMNS if c not in KAFKA_COLUMNS)
"""What a file ingest writes."""

CORRELATION_KEYS: tuple[str, ...] = ("correlation_id", "correlationid", "correlationId")
"""Where an event's correlation id lives in `metadata` (envelope, CloudEvents extension, camel)."""
CAUSATION_KEYS: tuple[str, ...] = ("causation_id", "causationid", "causationId")
"""Where an event's causation id (the id of the event that caused it) lives in `metadata`."""


def metadata_text(keys: tuple[str, ...], column: str = "metadata") -> str:
    """SQL for the first of `keys` present in a metadata JSON column, as text."""
    return "coalesce(" + ", ".join(f"json_extract_string({column}, '$.{k}')"
                                   for k in keys) + ")"


INGEST_OFFSETS = """
    CREATE TABLE IF NOT EXISTS ingest_offsets (
        topic        VARCHAR NOT NULL,     -- Kafka topic, RabbitMQ stream
        "partition"  INTEGER NOT NULL,     -- 0 for a plain stream
        next_offset  BIGINT NOT NULL,
        updated_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
        source       VARCHAR NOT NULL DEFAULT 'kafka',  -- 'kafka' or 'rabbitmq'
        broker       VARCHAR NOT NULL DEFAULT '',       -- which cluster; '' = from before brokers
        PRIMARY KEY (source, broker, topic, "partition")
    )
    """
"""Stored positions: the next offset per (source, broker, topic, partition), written in the same
transaction as the events. Two brokers with a topic (or stream) of the same name never mix."""

DDL: tuple[str, ...] = (
    """
    CREATE TABLE IF NOT EXISTS events (
        event_id       VARCHAR NOT NULL,   -- from the source, else md5 of the source position
        entity_type    VARCHAR NOT NULL,
        entity_id      VARCHAR NOT NULL,
        event_type     VARCHAR NOT NULL,
        event_version  INTEGER,            -- schema version of the event type
        seq            BIGINT NOT NULL,    -- position in the entity's stream
        ts             TIMESTAMPTZ NOT NULL,
        payload        JSON,               -- NULL for a delete (tombstone)
        metadata       JSON,               -- correlation_id, causation_id, actor, extensions
        is_delete      BOOLEAN NOT NULL DEFAULT false,
        source         VARCHAR NOT NULL,   -- 'kafka' or the absolute file path
        topic          VARCHAR,            -- Kafka topic (NULL for files)
        "partition"    INTEGER,            -- Kafka partition (NULL for files)
        "offset"       BIGINT NOT NULL,    -- Kafka offset, or row number within the file
        key            BLOB,               -- raw Kafka key bytes (kept for republish)
        value          BLOB,               -- raw Kafka value bytes (kept for republish)
        headers        STRUCT("key" VARCHAR, "value" BLOB)[],  -- Kafka headers, byte-exact
        kafka_ts       TIMESTAMPTZ,
        kafka_ts_type  SMALLINT,           -- 0 CreateTime, 1 LogAppendTime
        ts_assumed_utc BOOLEAN NOT NULL DEFAULT false,  -- source time had no zone
        ingested_at    TIMESTAMPTZ NOT NULL DEFAULT now()
    )
    """,
    """
    CREATE TABLE IF NOT EXISTS quarantine (
        source         VARCHAR NOT NULL,
        topic          VARCHAR,
        "partition"    INTEGER,
        "offset"       BIGINT,
        reason         VARCHAR NOT NULL,   -- short category, e.g. 'missing entity_id'
        detail         VARCHAR,            -- the full message
        raw            BLOB,               -- the record's raw bytes (file rows: the row as JSON)
        key            BLOB,
        headers        STRUCT("key" VARCHAR, "value" BLOB)[],
        quarantined_at TIMESTAMPTZ NOT NULL DEFAULT now()
    )
    """,
    INGEST_OFFSETS,
    """
    CREATE TABLE IF NOT EXISTS schemas (
        id           INTEGER PRIMARY KEY,  -- the registry's schema id (the frame's 4 bytes)
        schema_type  VARCHAR NOT NULL,     -- AVRO, PROTOBUF or JSON
        subject      VARCHAR,              -- where known
        version      INTEGER,
        text         VARCHAR NOT NULL,     -- the schema as the registry gave it
        "references" JSON,                 -- references and their resolved texts
        source       VARCHAR NOT NULL,     -- registry URL (no credentials) or folder
        fetched_at   TIMESTAMPTZ NOT NULL DEFAULT now()
    )
    """,
    # Schema-registry records: the frame's schema id, and the record time a requeue needs
    # (added to stores made before them).
    'ALTER TABLE quarantine ADD COLUMN IF NOT EXISTS schema_id INTEGER',
    'ALTER TABLE quarantine ADD COLUMN IF NOT EXISTS kafka_ts TIMESTAMPTZ',
    'ALTER TABLE quarantine ADD COLUMN IF NOT EXISTS kafka_ts_type SMALLINT',
    """
    CREATE TABLE IF NOT EXISTS ingested_files (
        path         VARCHAR PRIMARY KEY,
        size         BIGINT NOT NULL,
        mtime        DOUBLE NOT NULL,
        rows_read    BIGINT NOT NULL,
        ingested_at  TIMESTAMPTZ NOT NULL DEFAULT now()
    )
    """,
    # Consumer lag history (eventlab.lag.samples): one row per group, partition and sample.
    """
    CREATE TABLE IF NOT EXISTS investigations (
        id          VARCHAR PRIMARY KEY,
        name        VARCHAR NOT NULL,
        author      VARCHAR NOT NULL,
        created_at  TIMESTAMPTZ NOT NULL,
        updated_at  TIMESTAMPTZ NOT NULL,
        doc         JSON NOT NULL        -- notes, filters, entities, bookmarks, findings
    )
    """,
    """
    CREATE TABLE IF NOT EXISTS lag_samples (
        sampled_at   TIMESTAMPTZ NOT NULL,
        bootstrap    VARCHAR NOT NULL,     -- which cluster
        group_id     VARCHAR NOT NULL,
        topic        VARCHAR NOT NULL,
        "partition"  INTEGER NOT NULL,
        committed    BIGINT,               -- NULL: the group never committed this partition
        end_offset   BIGINT NOT NULL,
        lag          BIGINT,               -- NULL without a commit (never 0)
        lag_seconds  DOUBLE,
        lag_seconds_estimated BOOLEAN NOT NULL DEFAULT false,
        status       VARCHAR
    )
    """,
    # Queue depth history (eventlab/lag/queue_samples.py): SQS queues (and any broker's queues).
    """
    CREATE TABLE IF NOT EXISTS queue_samples (
        sampled_at   TIMESTAMPTZ NOT NULL,
        broker       VARCHAR NOT NULL,     -- e.g. sqs:http://127.0.0.1:4566 or sqs:aws:eu-west-1
        queue        VARCHAR NOT NULL,
        visible      BIGINT,               -- waiting to be received
        in_flight    BIGINT,               -- received, not yet deleted
        delayed      BIGINT,
        oldest_age_s DOUBLE,               -- NULL: not known (no CloudWatch datapoint)
        dlq_visible  BIGINT                -- NULL: no dead-letter queue
    )
    """,
    # Republish (eventlab/republish/ledger.py): one row per job, one per planned record.
    """
    CREATE TABLE IF NOT EXISTS republish_jobs (
        job_id       VARCHAR PRIMARY KEY,  -- also the replay id in eventlab-replay-id
        created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
        actor        VARCHAR NOT NULL,
        reason       VARCHAR NOT NULL,
        selection    JSON NOT NULL,        -- what was selected (described, never payloads)
        plan         JSON NOT NULL,        -- targets, partitioning, timestamp, warnings, ...
        planned      BIGINT NOT NULL,
        status       VARCHAR NOT NULL,     -- planned, running, done, partial, cancelled
        updated_at   TIMESTAMPTZ NOT NULL DEFAULT now()
    )
    """,
    """
    CREATE TABLE IF NOT EXISTS republish_log (
        job_id           VARCHAR NOT NULL,
        n                BIGINT NOT NULL,   -- position in the plan (send order)
        origin           VARCHAR NOT NULL,  -- 'event' or 'quarantine'
        source           VARCHAR NOT NULL,  -- as in events/quarantine: 'kafka' or a file
        src_topic        VARCHAR,
        src_partition    INTEGER,
        src_offset       BIGINT NOT NULL,
        event_id         VARCHAR,
        bytes            BIGINT NOT NULL,   -- key + value + header bytes as planned
        target_topic     VARCHAR NOT NULL,
        target_partition INTEGER NOT NULL,
        status           VARCHAR NOT NULL,  -- unsent, unknown, acked, failed
        "partition"      INTEGER,           -- where it landed (acked)
        "offset"         BIGINT,
        error            VARCHAR,
        updated_at       TIMESTAMPTZ,
        PRIMARY KEY (job_id, n)
    )
    """,
    # The tap each SNS target topic had when a job first sent to it (republish/aws_readback.py).
    """
    CREATE TABLE IF NOT EXISTS republish_taps (
        job_id VARCHAR NOT NULL, topic VARCHAR NOT NULL, first_send TIMESTAMPTZ NOT NULL,
        tap_url VARCHAR, tap_created BIGINT, subscription VARCHAR,  -- NULL: no usable tap
        PRIMARY KEY (job_id, topic)
    )
    """,
    # Append-only: EventLab only ever INSERTs here (eventlab/republish/audit.py).
    """
    CREATE TABLE IF NOT EXISTS audit_log (
        logged_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
        actor        VARCHAR NOT NULL,
        action       VARCHAR NOT NULL,     -- dry-run, execute, resume, send-again, cancel
        outcome      VARCHAR NOT NULL,     -- planned, done, partial, cancelled, refused, error
        job_id       VARCHAR,
        selection    JSON,
        target       VARCHAR,
        planned      BIGINT,
        sent         BIGINT,
        failed       BIGINT,
        unknown      BIGINT,
        unsent       BIGINT,
        detail       VARCHAR
    )
    """,
    """
    CREATE TABLE IF NOT EXISTS sqs_received (
        broker       VARCHAR NOT NULL,     -- AwsConfig.broker_id
        queue        VARCHAR NOT NULL,     -- queue URL
        dedup_key    VARCHAR NOT NULL,     -- seq:N (FIFO), sns:MessageId, sqs:MessageId
        source       VARCHAR NOT NULL,     -- 'sns' or 'sqs': where the event row is
        topic        VARCHAR NOT NULL,
        "offset"     BIGINT NOT NULL,
        received_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
        PRIMARY KEY (broker, queue, dedup_key)
    )
    """,
)

def migrate(con: Any) -> None:
    """Bring a store made by an older EventLab up to `DDL` (run after it, on a writable store).

    `ingest_offsets` gained `source` and `broker` in its primary key; DuckDB cannot change a
    key in place, so the table is rebuilt with its rows kept as Kafka positions of an unknown
    broker ('' : the next Kafka ingest of that topic adopts them, `ingest.offsets`).
    """
    cols = {r[0] for r in con.execute(
        "SELECT column_name FROM duckdb_columns() WHERE table_name = 'ingest_offsets' "
        "AND schema_name = 'main'").fetchall()}
    if "broker" in cols:
        return
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute("ALTER TABLE ingest_offsets RENAME TO ingest_offsets_v1")
        con.execute(INGEST_OFFSETS)
        con.execute('INSERT INTO ingest_offsets (topic, "partition", next_offset, updated_at, '
                    "source, broker) SELECT topic, \"partition\", next_offset, updated_at, "
                    "'kafka', '' FROM ingest_offsets_v1")
        con.execute("DROP TABLE ingest_offsets_v1")
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise


# Kafka loads append rows in offset order, so one entity's rows are spread over the whole
# table (file loads are written sorted by entity instead). This ART index keeps reading one
# entity a lookup on such stores: measured at 1M Kafka rows, 14 ms -> 3 ms. It costs Kafka
# ingest about a tenth of its write speed, so it is created by the first Kafka load only.
# DuckDB uses it for a bare `entity_id = ?` (docs/duckdb.md): keep entity reads so.
ENTITY_INDEX = "CREATE INDEX IF NOT EXISTS events_entity_id ON events (entity_id)"


def table_names() -> tuple[str, ...]:
    """The store's tables, in DDL order (the SQL console lists them)."""
    import re

    return tuple(m.group(1) for ddl in DDL
                 for m in [re.search(r"CREATE TABLE IF NOT EXISTS (\w+)", ddl)] if m)
