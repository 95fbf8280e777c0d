"""Tap ingest as a background job, against moto's server mode (an EMULATOR: SNS fan-out and
receive/delete only): a following job shows progress and stops on Cancel with what it received
stored; read-only mode refuses it."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from eventlab import settings
from eventlab.aws.clients import sns
from eventlab.aws.config import AwsConfig
from eventlab.aws.taps import create_tap
from eventlab.errors import ReadOnlyError
from eventlab.ingest.sqs_background import start_sqs_ingest
from eventlab.jobs import JobManager
from eventlab.store.eventstore import EventStore


def _event(i: int) -> str:
    return json.dumps({"event_id": f"e{i}", "entity_id": "order-1", "event_type": "OrderPlaced",
                       "ts": "2025-03-05T14:03:00Z"})


def test_a_following_job_shows_progress_and_stops_on_cancel(
        manager: JobManager, tmp_path: Path, aws_config: AwsConfig,
        sns_topic_factory: Callable[..., str]) -> None:
    tap = create_tap(aws_config, sns_topic_factory())
    with EventStore(tmp_path / "j.duckdb") as store:
        view = start_sqs_ingest(manager, store, aws_config, tap.url, until="follow")
        for i in range(5):
            sns(aws_config).publish(TopicArn=tap.topic_arn, Message=_event(i))
        deadline = time.monotonic() + 30
        while (manager.get(view.id).progress.stored or 0) < 5:  # type: ignore[union-attr]
            assert time.monotonic() < deadline, manager.get(view.id)
            time.sleep(0.1)
        assert manager.get(view.id).running  # type: ignore[union-attr]  (following)
        manager.cancel(view.id)
        done = manager.wait(view.id, 30)
        assert done.status == "cancelled", done.error
        assert done.report.stopped_because == "cancelled" and done.report.deleted == 5
        assert store.stats().events == 5


def test_read_only_mode_refuses_the_job(tmp_path: Path, aws_config: AwsConfig,
                                        monkeypatch: pytest.MonkeyPatch,
                                        sns_topic_factory: Callable[..., str]) -> None:
    monkeypatch.setattr(settings, "_GUARDS", settings.Guards(read_only=True))
    tap = create_tap(aws_config, sns_topic_factory())
    with EventStore(tmp_path / "r.duckdb") as store, pytest.raises(ReadOnlyError):
        start_sqs_ingest(JobManager(), store, aws_config, tap.url)
