"""`eventlab sqs-queues` and `eventlab peek-sqs` against moto's server mode (an EMULATOR; only
documented SQS behaviour is relied on)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from eventlab.aws.clients import sqs
from eventlab.aws.config import AwsConfig
from eventlab.aws.queues import queue_info

ROOT = Path(__file__).resolve().parents[2]


def _run(aws_config: AwsConfig, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT),
           "EVENTLAB_AWS_ENDPOINT_URL": aws_config.endpoint_url or ""}
    return subprocess.run([sys.executable, "-m", "eventlab", *args], env=env, text=True,
                          capture_output=True, timeout=120)


def test_depth_as_json(aws_config: AwsConfig, sqs_queue_factory: Callable[..., str]) -> None:
    url = sqs_queue_factory()
    sqs(aws_config).send_message(QueueUrl=url, MessageBody="x")
    done = _run(aws_config, "sqs-queues", "--queue", url, "--json")
    assert done.returncode == 0, done.stderr
    (row,) = json.loads(done.stdout)
    assert (row["visible"], row["in_flight"], row["max_receive_count"]) == (1, 0, None)


def test_peek_prints_the_cost_and_reads_nothing_without_consent(
        aws_config: AwsConfig, sqs_queue_factory: Callable[..., str]) -> None:
    url = sqs_queue_factory()
    sqs(aws_config).send_message(QueueUrl=url, MessageBody='{"a": 1}')
    done = _run(aws_config, "peek-sqs", "--queue", url)
    assert done.returncode == 2 and "--i-understand" in done.stderr
    assert "invisible to" in done.stderr
    assert queue_info(aws_config, url, with_age=False).in_flight == 0
    done = _run(aws_config, "peek-sqs", "--queue", url, "--i-understand", "--json")
    assert done.returncode == 0, done.stderr
    assert [m["body"] for m in json.loads(done.stdout)] == ['{"a": 1}']
    assert "nothing deleted" in done.stderr
    after = queue_info(aws_config, url, with_age=False)
    assert (after.visible, after.in_flight) == (1, 0)


def test_a_missing_queue_is_an_error_line(aws_config: AwsConfig) -> None:
    done = _run(aws_config, "sqs-queues", "--queue", "nope-missing")
    assert done.returncode == 1 and done.stderr.startswith("error:")
    assert "does not exist" in done.stderr and "Traceback" not in done.stderr
