"""What a republish writes into: the small interface every write target implements.

The plan, the dry run, the ledger, the guards and the audit (`republish/run.py`) are the same
for every broker; only these steps touch the target. `KafkaTarget` (`republish/kafka_target.py`)
wraps the Kafka path; `republish/rabbitmq_target.py` holds the RabbitMQ stream, exchange and
queue targets. `target_for` picks the one for a connection and a plan's `target_kind`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from eventlab.republish.ledger import Counts
from eventlab.republish.plan import KAFKA, Plan
from eventlab.republish.verify import Verification
from eventlab.store.eventstore import EventStore


class Target(Protocol):
    """A broker a job writes into (see the module)."""

    kind: str
    creates: bool
    """May a missing target be created (Kafka topics, RabbitMQ streams); else refused."""

    def describe(self) -> str:
        """Where it writes, for messages (no secret)."""

    def partition_counts(self, names: Sequence[str]) -> dict[str, int | None]:
        """Each name's partition count, None when it does not exist."""

    def ensure(self, plan: Plan) -> None:
        """Create or check the plan's targets just before sending."""

    def settle(self, store: EventStore, job_id: str) -> tuple[int, int, int]:
        """Read the target for the job's unknown records: (found, missing, extra copies)."""

    def verify(self, store: EventStore, job_id: str) -> Verification:
        """Look for the job's acknowledged records in the target."""

    def send(self, store: EventStore, plan: Plan, rate: float | None,
             cancel: threading.Event, progress: Callable[[Counts], None] | None,
             delivery_timeout_s: float) -> tuple[int, str | None]:
        """Send every unsent or failed record of the plan; (records handed over, error)."""


def target_for(connection: Any, kind: str = KAFKA) -> Target:
    """The target of `kind` on `connection` (a `KafkaConfig`, a `RabbitConfig`, an
    `AwsConfig`, or already a `Target`, returned as it is)."""
    from eventlab.aws.config import AwsConfig
    from eventlab.kafka.config import KafkaConfig
    from eventlab.rabbitmq.config import RabbitConfig

    if isinstance(connection, KafkaConfig):
        from eventlab.republish.kafka_target import KafkaTarget

        return KafkaTarget(connection)
    if isinstance(connection, RabbitConfig):
        from eventlab.republish.rabbitmq_target import rabbit_target

        return rabbit_target(connection, kind)
    if isinstance(connection, AwsConfig):
        from eventlab.republish.aws_target import aws_target

        return aws_target(connection, kind)
    return connection  # type: ignore[no-any-return]
