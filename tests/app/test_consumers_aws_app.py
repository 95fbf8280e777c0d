"""AppTest of the Consumers page's SQS section, against moto's server mode (an EMULATOR: only
documented SQS behaviour is relied on): hidden without AWS settings; with them, depth and the
DLQ's depth, samples over time, and a peek that says its cost, waits for consent, shows hostile
bodies as text and leaves the queue as it was."""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import partial
from pathlib import Path

import pytest
from apptest_support import open_page, shown

from eventlab.aws.clients import sqs
from eventlab.aws.config import AwsConfig
from eventlab.aws.queues import queue_info
from eventlab.store.eventstore import EventStore

consumers_page = partial(open_page, "pages/consumers_page.py", timeout=60)
HOSTILE = "**bold** ![x](http://evil.example/x.png) <b>html</b> :red[alarm]"


@pytest.fixture()
def page_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    path = tmp_path / "consumers.duckdb"
    monkeypatch.setenv("EVENTLAB_DB", str(path))
    monkeypatch.setenv("EVENTLAB_LAG_SAMPLE_S", "0.1")
    monkeypatch.delenv("EVENTLAB_READ_ONLY", raising=False)
    monkeypatch.delenv("EVENTLAB_AWS_ENDPOINT_URL", raising=False)
    return path


def _frame(at, column: str):  # noqa: ANN001, ANN202 - AppTest, a pandas DataFrame
    return next(d.value for d in at.dataframe if column in d.value.columns)


def test_no_section_without_aws_settings(page_env: Path) -> None:
    at = consumers_page()
    assert not at.exception, at.exception
    assert "SQS queues" not in [h.value for h in at.header]


def test_depth_dlq_and_samples(page_env: Path, monkeypatch: pytest.MonkeyPatch,
                               aws_config: AwsConfig,
                               sqs_queue_factory: Callable[..., str]) -> None:
    dlq = sqs_queue_factory()
    client = sqs(aws_config)
    arn = client.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])[
        "Attributes"]["QueueArn"]
    url = sqs_queue_factory(RedrivePolicy=json.dumps({"deadLetterTargetArn": arn,
                                                      "maxReceiveCount": "4"}))
    for body in ("a", "b"):
        client.send_message(QueueUrl=url, MessageBody=body)
    client.send_message(QueueUrl=dlq, MessageBody="dead")
    monkeypatch.setenv("EVENTLAB_AWS_ENDPOINT_URL", aws_config.endpoint_url or "")
    name = url.rsplit("/", 1)[-1]
    at = consumers_page(a_queues=name)  # a link names the queue
    assert not at.exception, at.exception
    # No Kafka cluster was chosen: no error about the built-in default address, a switch.
    assert not at.error, [e.value for e in at.error]
    assert at.toggle(key="c_kafka_anyway").value is False
    depth = _frame(at, "DLQ depth").iloc[0]
    assert (depth["queue"], depth["visible"], depth["in flight"], depth["max receives"],
            depth["DLQ depth"]) == (name, 2, 0, 4, 1)
    assert depth["oldest message"] == "unknown"
    client.send_message(QueueUrl=url, MessageBody="c")
    at.run()
    assert not at.exception, at.exception
    with EventStore(page_env) as store, store.reading() as cur:
        visible = [r[0] for r in cur.execute("SELECT visible FROM queue_samples WHERE queue = ? "
                                             "ORDER BY sampled_at", [name]).fetchall()]
    assert visible[0] == 2 and visible[-1] == 3


def test_peek_says_its_cost_waits_for_consent_and_shows_bodies_as_text(
        page_env: Path, monkeypatch: pytest.MonkeyPatch, aws_config: AwsConfig,
        sqs_queue_factory: Callable[..., str]) -> None:
    url = sqs_queue_factory()
    sqs(aws_config).send_message(QueueUrl=url, MessageBody=HOSTILE, MessageAttributes={
        "note": {"DataType": "String", "StringValue": HOSTILE}})
    monkeypatch.setenv("EVENTLAB_AWS_ENDPOINT_URL", aws_config.endpoint_url or "")
    at = consumers_page()
    at.text_input(key="a_peek_queue").set_value(url).run()
    assert not at.exception, at.exception
    assert any("invisible to" in shown(w.value) for w in at.warning)
    assert at.button(key="a_peek").disabled
    at.checkbox(key="a_peek_ok").check().run()
    at.button(key="a_peek").click().run()
    assert not at.exception, at.exception
    row = _frame(at, "receives").iloc[0]
    assert row["body"] == HOSTILE and HOSTILE in row["attributes"]
    after = queue_info(aws_config, url, with_age=False)
    assert (after.visible, after.in_flight) == (1, 0)
