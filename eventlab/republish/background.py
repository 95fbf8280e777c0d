"""Republish jobs in the background: server-side threads of the app's `JobManager`.

The job's state lives in the ledger, so a rerun, a closed tab or an app restart loses
nothing: the page reads progress from `republish_log`, and a job interrupted by a restart is
resumed with the same call (`execute` settles and sends only what is not acknowledged).
A job holds its id and its target topics: a second run of the same job is refused while one
runs. The read-only and allow-list guards run inside `execute` itself.
"""

from __future__ import annotations

from eventlab.jobs import JobContext, JobFailed, JobManager, JobProgress, JobView
from eventlab.kafka.config import KafkaConfig
from eventlab.rabbitmq.config import RabbitConfig
from eventlab.republish import guards, ledger
from eventlab.republish.run import JobReport, execute
from eventlab.store.eventstore import EventStore

KIND = "republish"


def start_republish(manager: JobManager, store: EventStore, config: KafkaConfig | RabbitConfig,
                    job_id: str,
                    *, actor: str | None = None, confirm: str | None = None,
                    rate: float | None = None, action: str = "execute",
                    token: str | None = None) -> JobView:
    """Run (or resume) job `job_id` in a background thread, into `config`'s broker (the
    one its plan's target kind needs); its view."""
    actor = actor or guards.actor()
    if guards.read_only_refusal() is not None:  # audited by execute's own guard, then refused
        execute(store, config, job_id, actor=actor, confirm=confirm, action=action)
    with store.reading() as cur:
        row = ledger.job(cur, job_id)
        planned = row.planned if row else 0

    def run(ctx: JobContext) -> JobReport:
        def progress(c: ledger.Counts) -> None:
            ctx.update(done=c.sent + c.failed, total=c.planned, records=c.sent,
                       stage=f"sent {c.sent:,} · failed {c.failed:,} · unknown {c.unknown:,} · "
                             f"unsent {c.unsent:,}")

        result = execute(store, config, job_id, actor=actor, confirm=confirm, rate=rate,
                         cancel=ctx.cancel, progress=progress, action=action)
        if result.error:
            raise JobFailed(result.error, result)
        return result

    targets = row.plan.target_topics if row else []
    return manager.start(KIND, f"Republish {job_id} → {', '.join(targets)}", run,
                         keys=[f"republish-job:{job_id}", *(f"republish-topic:{t}"
                                                            for t in targets)],
                         token=token, params={"job_id": job_id, "action": action},
                         progress=JobProgress(total=planned, stage="starting"))
