"""AppTest of the Republish page's consent to send unknown SQS records again, against moto's
server mode (an EMULATOR: only documented SQS behaviour is relied on). A job killed after
marking a record and before its call (the write-ahead mark: `unknown`) is put in the ledger as
such; the page's Resume leaves it unknown; with the checkbox naming the duplicate risk ticked,
Resume sends it once and the consent is in the audit log."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path

import pytest
from apptest_support import open_page, texts, wait_for
from event_rows import add_events

from eventlab import republish
from eventlab.aws.clients import sqs
from eventlab.aws.config import AwsConfig
from eventlab.aws.queues import queue_name
from eventlab.republish import PlanOptions, Selection
from eventlab.republish.plan import SQS
from eventlab.store.eventstore import EventStore

republish_page = partial(open_page, "pages/republish_page.py", timeout=60)


def _bodies(config: AwsConfig, url: str) -> list[str]:
    client = sqs(config)
    out: list[str] = []
    while got := client.receive_message(QueueUrl=url, MaxNumberOfMessages=10,
                                        WaitTimeSeconds=0).get("Messages", []):
        out += [m["Body"] for m in got]
        for m in got:
            client.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    return sorted(out)


def _depth(config: AwsConfig, url: str) -> int:
    return int(sqs(config).get_queue_attributes(QueueUrl=url, AttributeNames=[
        "ApproximateNumberOfMessages"])["Attributes"]["ApproximateNumberOfMessages"])


def test_unknown_records_are_sent_again_only_with_the_pages_consent(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, aws_config: AwsConfig,
        sqs_queue_factory: Callable[..., str]) -> None:
    url = sqs_queue_factory()
    path = tmp_path / "settle-app.duckdb"
    with EventStore(path) as store:
        add_events(store, [dict(source="sqs", topic="orders-q", offset=i, seq=i + 1,
                                value=f"body {i}".encode()) for i in range(3)])
        job = republish.dry_run(store, aws_config, Selection.query(
            "SELECT event_id FROM events"), PlanOptions(target=queue_name(url),
                                                        target_kind=SQS)).plan.job_id
        with store.transaction() as cur:
            cur.execute("UPDATE republish_log SET status = 'unknown', updated_at = now() "
                        "WHERE job_id = ? AND n = 2", [job])
            cur.execute("UPDATE republish_jobs SET status = 'partial' WHERE job_id = ?", [job])
    monkeypatch.setenv("EVENTLAB_DB", str(path))
    for name in ("EVENTLAB_READ_ONLY", "EVENTLAB_REPUBLISH_TOPICS", "EVENTLAB_KAFKA_BOOTSTRAP"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("EVENTLAB_AWS_ENDPOINT_URL", str(aws_config.endpoint_url))
    at = republish_page()
    at.selectbox(key="rp_pick").set_value(job).run()
    assert not at.exception, at.exception
    assert any("unknown" in w.value for w in at.warning)
    assert not at.checkbox(key="rp_aws_resend_unknown").value
    at.button(key="rp_execute").click().run()  # without consent: record 2 stays unknown
    wait_for(at, lambda a: _depth(aws_config, url) == 2 and any(
        b.key == "rp_execute" for b in a.button))  # the run ended (Resume is back)
    assert "status **partial**" in " ".join(texts(at.markdown))
    assert _bodies(aws_config, url) == ["body 0", "body 1"]
    at.checkbox(key="rp_aws_resend_unknown").check().run()
    at.button(key="rp_execute").click().run()
    wait_for(at, lambda a: any("Done" in s.value for s in a.success))
    assert _bodies(aws_config, url) == ["body 2"]  # sent once, with consent
    audit = next(d.value for d in at.dataframe if "action" in d.value.columns)
    consent = audit[audit["action"] == "resend-unknown"]  # the page's audit log
    assert list(consent["outcome"]) == ["consented"] and list(consent["unknown"]) == [1]
    assert "twice" in consent["detail"].iloc[0]
