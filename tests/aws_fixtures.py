"""AWS fixtures: moto's server mode as the local SNS/SQS endpoint, one per test session.

moto is an EMULATOR (no real SQS or SNS runs on these machines): tests that use it check only
behaviour AWS documents for SQS and SNS; where moto differs (AWS_NOTES: FIFO deduplication after a
delete, queue policies not enforced) the test says so and relies on EventLab's own checks.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from eventlab.aws.config import AwsConfig
from eventlab.aws.local import EMULATOR_ENV, LocalEndpoint, start_local
from eventlab.rabbitmq.server import free_port

_names = itertools.count()


@pytest.fixture(scope="session")
def aws_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalEndpoint]:
    """The emulator on a free loopback port, with its dummy credentials in the environment."""
    saved = {k: os.environ.get(k) for k in EMULATOR_ENV}
    os.environ.update(EMULATOR_ENV)
    log = Path(tmp_path_factory.mktemp("aws-local")) / "moto.log"
    with start_local(free_port(), log_path=log) as endpoint:
        yield endpoint
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture(scope="session")
def aws_config(aws_endpoint: LocalEndpoint) -> AwsConfig:
    return AwsConfig(endpoint_url=aws_endpoint.url, region="us-east-1", timeout_s=5.0)


@pytest.fixture
def sqs_queue_factory(aws_config: AwsConfig) -> Callable[..., str]:
    """make(fifo=False, **attributes) creates a queue unique to this test; returns its URL."""
    from eventlab.aws.clients import sqs

    client = sqs(aws_config)

    def make(fifo: bool = False, **attributes: str) -> str:
        name = f"q-{os.getpid()}-{next(_names)}" + (".fifo" if fifo else "")
        attrs = {**({"FifoQueue": "true"} if fifo else {}), **attributes}
        return str(client.create_queue(QueueName=name, Attributes=attrs)["QueueUrl"])

    return make


@pytest.fixture
def sns_topic_factory(aws_config: AwsConfig) -> Callable[..., str]:
    """make(fifo=False) creates an SNS topic unique to this test; returns its ARN."""
    from eventlab.aws.clients import sns

    client = sns(aws_config)

    def make(fifo: bool = False) -> str:
        name = f"t-{os.getpid()}-{next(_names)}" + (".fifo" if fifo else "")
        attrs = {"FifoTopic": "true"} if fifo else {}
        return str(client.create_topic(Name=name, Attributes=attrs)["TopicArn"])

    return make
