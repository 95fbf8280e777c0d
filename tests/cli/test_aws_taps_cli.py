"""`eventlab tap-sns` and `eventlab ingest-sqs` end to end, against moto's server mode (an
EMULATOR: SNS fan-out, queue listing and receive/delete only, as AWS documents them)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from eventlab.aws.clients import sns
from eventlab.aws.config import AwsConfig
from eventlab.cli.main import main


@pytest.fixture
def aws_env(aws_config: AwsConfig, monkeypatch: pytest.MonkeyPatch) -> AwsConfig:
    monkeypatch.setenv("EVENTLAB_AWS_ENDPOINT_URL", aws_config.endpoint_url or "")
    monkeypatch.setenv("EVENTLAB_AWS_REGION", aws_config.region)
    return aws_config


def _json(capsys: pytest.CaptureFixture[str], argv: list[str]) -> object:
    assert main(argv) == 0
    return json.loads(capsys.readouterr().out)


def test_tap_list_ingest_remove(tmp_path: Path, aws_env: AwsConfig,
                                sns_topic_factory: Callable[..., str],
                                capsys: pytest.CaptureFixture[str]) -> None:
    arn = sns_topic_factory()
    tap = _json(capsys, ["tap-sns", "--topic-arn", arn, "--json"])
    assert isinstance(tap, dict) and tap["topic_arn"] == arn
    sns(aws_env).publish(TopicArn=arn, Message=json.dumps(
        {"event_id": "e1", "entity_id": "order-1", "event_type": "OrderPlaced",
         "ts": "2025-03-05T14:03:00Z"}))
    listed = _json(capsys, ["tap-sns", "--list", "--json"])
    assert [t["visible"] for t in listed if t["url"] == tap["url"]] == [1]  # type: ignore
    db_file = str(tmp_path / "c.duckdb")
    report = _json(capsys, ["ingest-sqs", "--db", db_file, "--queue", tap["url"], "--json"])
    assert report["rows_stored"] == 1 and report["deleted"] == 1  # type: ignore[index]
    assert main(["tap-sns", "--remove", tap["name"]]) == 0
    assert "removed" in capsys.readouterr().out
    listed = _json(capsys, ["tap-sns", "--list", "--json"])
    assert all(t["url"] != tap["url"] for t in listed)  # type: ignore[union-attr]


def test_ingest_sqs_refuses_a_queue_that_is_no_tap(
        tmp_path: Path, aws_env: AwsConfig, sqs_queue_factory: Callable[..., str],
        capsys: pytest.CaptureFixture[str]) -> None:
    url = sqs_queue_factory()
    assert main(["ingest-sqs", "--db", str(tmp_path / "c.duckdb"), "--queue", url]) == 1
    assert "not an EventLab tap queue" in capsys.readouterr().err
    assert main(["ingest-sqs", "--db", str(tmp_path / "c.duckdb"), "--queue", url,
                 "--until", "soon"]) == 1
