"""AppTest of the Republish page's SNS/SQS targets, against moto's server mode (an EMULATOR:
only documented SQS behaviour is relied on): hidden without AWS settings; with them, a dry run
into a queue, Execute, and a "done" that says SQS is not read back."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path

import pytest
from apptest_support import open_page, texts, wait_for
from event_rows import add_events

from eventlab.aws.clients import sqs
from eventlab.aws.config import AwsConfig
from eventlab.aws.queues import queue_name
from eventlab.store.eventstore import EventStore

republish_page = partial(open_page, "pages/republish_page.py", timeout=60)


@pytest.fixture()
def page_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    path = tmp_path / "republish-aws.duckdb"
    with EventStore(path) as store:
        add_events(store, [dict(source="sqs", topic="orders-q", offset=i, seq=i + 1,
                                value=f"body {i}".encode()) for i in range(3)])
    monkeypatch.setenv("EVENTLAB_DB", str(path))
    for name in ("EVENTLAB_READ_ONLY", "EVENTLAB_REPUBLISH_TOPICS", "EVENTLAB_AWS_ENDPOINT_URL",
                 "EVENTLAB_KAFKA_BOOTSTRAP"):
        monkeypatch.delenv(name, raising=False)
    return path


def test_no_aws_targets_without_aws_settings(page_env: Path) -> None:
    at = republish_page(entity_id="order-1")
    assert not at.exception
    assert "rp_aws_dry" not in [b.key for b in at.button]
    assert "rp_aws_target" not in [t.key for t in at.text_input]


def test_a_job_into_an_sqs_queue_from_the_page(
        page_env: Path, monkeypatch: pytest.MonkeyPatch, aws_config: AwsConfig,
        sqs_queue_factory: Callable[..., str]) -> None:
    url = sqs_queue_factory()
    monkeypatch.setenv("EVENTLAB_AWS_ENDPOINT_URL", str(aws_config.endpoint_url))
    at = republish_page(entity_id="order-1")
    assert not at.exception, at.exception
    at.radio(key="rp_aws_kind").set_value("SQS queue")
    at.text_input(key="rp_aws_target").set_value(url)
    at.text_input(key="rp_aws_reason").set_value("from the page")
    at.button(key="rp_aws_dry").click().run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    at.button(key="rp_execute").click().run()
    wait_for(at, lambda a: any("Done" in s.value for s in a.success))
    assert any("not read back" in s.value for s in at.success)
    got = sqs(aws_config).receive_message(QueueUrl=url, MaxNumberOfMessages=10,
                                          MessageAttributeNames=["All"]).get("Messages", [])
    assert sorted(m["Body"] for m in got) == ["body 0", "body 1", "body 2"]
    assert {m["MessageAttributes"]["eventlab-reason"]["StringValue"] for m in got} == {
        "from the page"}
    assert any(queue_name(url) in t for t in texts(at.markdown))
