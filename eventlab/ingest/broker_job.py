"""A broker ingest run as a background job (Kafka, RabbitMQ streams, SQS taps): its report
shown as the job's progress, and an error after a partial read raised as the job's failure."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from eventlab.ingest.broker_report import BrokerIngestReport
from eventlab.jobs import JobContext, JobFailed

R = TypeVar("R", bound=BrokerIngestReport)


def run_as_job(ctx: JobContext, ingest: Callable[[Callable[[R], None]], R],
               stage: Callable[[R], str], failed: Callable[[R], str]) -> R:
    """Call `ingest(progress)`, showing each report it passes to `progress` in the job (its
    stage named by `stage`); a report with an error fails the job with `failed(report)`."""

    def progress(r: R) -> None:
        ctx.update(records=r.records_read, stored=r.rows_stored, quarantined=r.rows_quarantined,
                   done=r.records_read, rate=r.rate(), positions=dict(r.positions),
                   stage=stage(r))

    report = ingest(progress)
    progress(report)
    ctx.update(stage=report.stopped_because or "finished")
    if report.error:
        raise JobFailed(failed(report), report)
    return report
