"""Tap-queue ingest as a background job (the Sources page's AWS tab).

The same job manager as Kafka, RabbitMQ and files (`eventlab.jobs`): one job per tap queue, a
running job holds its queue, the idempotency token makes a rerun return the same job, read-only
mode refuses it. Cancel stops after the round being stored is deleted.
"""

from __future__ import annotations

from eventlab.aws.config import AwsConfig
from eventlab.errors import SourceError
from eventlab.ingest.broker_job import run_as_job
from eventlab.ingest.mapping import PRESETS, MappingSpec
from eventlab.ingest.sqs_ingest import SqsIngestReport, SqsUntil, ingest_sqs
from eventlab.jobs import JobContext, JobManager, JobProgress, JobView
from eventlab.store.eventstore import EventStore

KIND = "sqs-ingest"


def start_sqs_ingest(manager: JobManager, store: EventStore, config: AwsConfig, queue: str, *,
                     until: SqsUntil = "empty", preset: str = "auto",
                     token: str | None = None) -> JobView:
    """Start draining the tap `queue` (URL) into the store in the background."""
    queue = queue.strip()
    if not queue:
        raise SourceError("choose a tap queue to load")
    if preset not in PRESETS:
        raise SourceError(f"unknown mapping preset {preset!r}: use one of {', '.join(PRESETS)}")
    stop_text = {"empty": "until empty", "follow": "following"}.get(
        str(until), f"until {until} messages")
    title = f"SQS {queue.rsplit('/', 1)[-1]} · {stop_text}"

    def run(ctx: JobContext) -> SqsIngestReport:
        return run_as_job(
            ctx, lambda progress: ingest_sqs(store, config, queue, until=until,
                                             spec=MappingSpec(preset=preset), progress=progress,
                                             cancel=ctx.cancel),
            lambda r: r.stopped_because or "receiving",
            lambda r: f"{r.error} ({r.rows_stored:,} stored before it; run again to go on)")

    return manager.start(
        KIND, title, run, keys=[f"sqs:{config.broker_id}:{queue}"],
        tags=["follow"] if until == "follow" else [], token=token,
        params={"queue": queue, "until": str(until), "preset": preset,
                "broker": config.broker_id},
        progress=JobProgress(stage="connecting"))
