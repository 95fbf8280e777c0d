"""RabbitMQ stream ingest as a background job (the Sources page's RabbitMQ tab).

The same job manager as Kafka and files (`eventlab.jobs`): one job per stream set, a running
job holds its streams, the idempotency token makes a rerun return the same job, read-only
mode refuses it. Stored positions win over the chosen start, as for `eventlab ingest-rabbitmq`.
"""

from __future__ import annotations

from collections.abc import Sequence

from eventlab.errors import SourceError
from eventlab.ingest.broker_job import run_as_job
from eventlab.ingest.mapping import PRESETS, MappingSpec
from eventlab.ingest.rabbitmq_ingest import StreamIngestReport, ingest_streams
from eventlab.jobs import JobContext, JobManager, JobProgress, JobView
from eventlab.rabbitmq.config import RabbitConfig
from eventlab.rabbitmq.streams import StreamStart, StreamUntil
from eventlab.store.eventstore import EventStore

KIND = "rabbitmq-ingest"


def start_stream_ingest(manager: JobManager, store: EventStore, config: RabbitConfig,
                        streams: Sequence[str], *, start: StreamStart = "first",
                        until: StreamUntil = "end", preset: str = "auto",
                        token: str | None = None, super_streams: Sequence[str] = ()) -> JobView:
    """Start reading `streams` (and the partitions of `super_streams`) in the background."""
    names = [s for s in dict.fromkeys(s.strip() for s in streams) if s]
    supers = [s for s in dict.fromkeys(s.strip() for s in super_streams) if s]
    if not names and not supers:
        raise SourceError("name at least one stream or super stream to load")
    if preset not in PRESETS:
        raise SourceError(f"unknown mapping preset {preset!r}: use one of {', '.join(PRESETS)}")
    stop_text = {"end": "until the end at start", "follow": "following"}.get(
        str(until), f"until {until} messages")
    shown = [*names, *(f"{s} (super stream)" for s in supers)]
    title = f"RabbitMQ {', '.join(shown)} · from {start} (stored positions win) · {stop_text}"

    def run(ctx: JobContext) -> StreamIngestReport:
        return run_as_job(
            ctx, lambda progress: ingest_streams(store, config, names, start=start, until=until,
                                                 spec=MappingSpec(preset=preset),
                                                 progress=progress, cancel=ctx.cancel,
                                                 super_streams=supers),
            lambda r: r.stopped_because or "reading",
            lambda r: f"{r.error} ({r.rows_stored:,} stored before it; run again to resume)")

    return manager.start(
        KIND, title, run,
        keys=[f"rabbitmq-stream:{config.broker_id}:{s}" for s in [*names, *supers]],
        tags=["follow"] if until == "follow" else [], token=token,
        params={"streams": names, "super_streams": supers, "start": str(start),
                "until": str(until), "preset": preset, "broker": config.broker_id},
        progress=JobProgress(stage="connecting"))
