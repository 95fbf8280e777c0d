"""The AWS adapter's clients and errors, against moto's server mode (an EMULATOR: only what AWS
documents is checked: SendMessage/ReceiveMessage, a missing queue's error, botocore's own
behaviour for credentials, timeouts and redirects)."""

from __future__ import annotations

import http.server
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from eventlab.aws import local
from eventlab.aws.clients import aws_errors, sqs
from eventlab.aws.config import AwsConfig
from eventlab.errors import (
    AwsCredentialsMissing,
    AwsNotFound,
    AwsUnavailable,
    SourceError,
)
from eventlab.rabbitmq.server import free_port


def test_a_message_goes_through_the_emulator(aws_config: AwsConfig,
                                             sqs_queue_factory: Callable[..., str]) -> None:
    url = sqs_queue_factory()
    client = sqs(aws_config)
    client.send_message(QueueUrl=url, MessageBody='{"a": 1}')
    got = client.receive_message(QueueUrl=url, WaitTimeSeconds=1)["Messages"]
    assert [m["Body"] for m in got] == ['{"a": 1}']


def test_a_missing_queue_is_said_as_such(aws_config: AwsConfig) -> None:
    client = sqs(aws_config)
    with pytest.raises(AwsNotFound, match="reading queue nope: it does not exist"), \
            aws_errors("reading queue nope"):
        client.get_queue_url(QueueName="nope")


def test_an_endpoint_that_is_not_there_is_said_within_the_timeout() -> None:
    config = AwsConfig(endpoint_url=f"http://127.0.0.1:{free_port()}", timeout_s=1.0)
    start = time.monotonic()
    with pytest.raises(AwsUnavailable, match="nothing answered at"), aws_errors("listing queues"):
        sqs(config).list_queues()
    assert time.monotonic() - start < 15


def test_no_credentials_are_said_with_what_to_set(monkeypatch: pytest.MonkeyPatch,
                                                  tmp_path: Path,
                                                  aws_endpoint: local.LocalEndpoint) -> None:
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    config = AwsConfig(endpoint_url=aws_endpoint.url, timeout_s=2.0)
    with pytest.raises(AwsCredentialsMissing, match="AWS_ACCESS_KEY_ID"), \
            aws_errors("listing queues"):
        sqs(config).list_queues()


@pytest.fixture
def redirecting_pair() -> Iterator[tuple[str, list[str]]]:
    """An endpoint answering 307 to a second server that records every request it gets."""
    seen: list[str] = []

    class Target(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            seen.append(self.headers.get("Authorization", ""))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    target = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Target)

    class Redirect(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            self.send_response(307)
            self.send_header("Location", f"http://127.0.0.1:{target.server_port}/")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    redirect = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Redirect)
    for server in (target, redirect):
        threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{redirect.server_port}", seen
    for server in (target, redirect):
        server.shutdown()


def test_a_signed_request_never_follows_a_redirect(
        redirecting_pair: tuple[str, list[str]], aws_endpoint: local.LocalEndpoint) -> None:
    url, seen = redirecting_pair
    with pytest.raises(SourceError), aws_errors("listing queues"):
        sqs(AwsConfig(endpoint_url=url, timeout_s=2.0)).list_queues()
    assert seen == [], "the signed request reached the redirect's target"


@pytest.mark.parametrize("url", ["ftp://x", "http://", "http://u:p@h:1", "http://h/?a=1"])
def test_an_endpoint_setting_that_is_not_a_plain_url_is_refused(url: str) -> None:
    with pytest.raises(SourceError, match="EVENTLAB_AWS_ENDPOINT_URL"):
        AwsConfig(endpoint_url=url)


def test_settings_come_from_the_environment() -> None:
    config = AwsConfig.from_env({"EVENTLAB_AWS_ENDPOINT_URL": "http://127.0.0.1:4566/",
                                 "AWS_DEFAULT_REGION": "eu-west-1",
                                 "EVENTLAB_AWS_TIMEOUT_S": "3"})
    assert (config.endpoint_url, config.region, config.timeout_s) == \
        ("http://127.0.0.1:4566", "eu-west-1", 3.0)
    assert config.configured and "eu-west-1" in config.describe()
    with pytest.raises(SourceError, match="EVENTLAB_AWS_TIMEOUT_S"):
        AwsConfig.from_env({"EVENTLAB_AWS_TIMEOUT_S": "soon"})


def test_aws_local_detaches_and_stops(tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    run = [sys.executable, "-m", "eventlab", "aws-local", "--port", str(port)]
    started = subprocess.run([*run, "--detach"], cwd=tmp_path, env=env, capture_output=True,
                             text=True, timeout=60)
    try:
        assert started.returncode == 0, started.stderr
        assert "emulator" in started.stdout and local.answers(port)
        again = subprocess.run([*run, "--detach"], cwd=tmp_path, env=env, capture_output=True,
                               text=True, timeout=60)
        assert again.returncode == 1 and "already" in again.stderr
    finally:
        stopped = subprocess.run([*run, "--stop"], cwd=tmp_path, env=env, capture_output=True,
                                 text=True, timeout=60)
    assert stopped.returncode == 0, stopped.stderr
    assert not local.answers(port)


def test_the_endpoint_ends_with_the_process_that_started_it_even_after_sigkill(
        tmp_path: Path) -> None:
    port = free_port()
    code = ("import sys, time; from pathlib import Path; from eventlab.aws.local import "
            f"start_local; start_local({port}, log_path=Path(sys.argv[1])); print('up', "
            "flush=True); time.sleep(600)")
    starter = subprocess.Popen([sys.executable, "-c", code, str(tmp_path / "log")],
                               stdout=subprocess.PIPE, text=True)
    try:
        assert starter.stdout is not None and starter.stdout.readline().strip() == "up"
        assert local.answers(port)
    finally:
        starter.send_signal(signal.SIGKILL)
        starter.wait()
    deadline = time.monotonic() + 10
    while local.answers(port, timeout_s=0.3) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not local.answers(port), "the emulator outlived the process that started it"


@pytest.mark.parametrize(("code", "status", "error", "said"), [
    ("AccessDenied", 403, "AwsAccessDenied", "access denied"),
    ("AuthorizationError", 403, "AwsAccessDenied", "access denied"),
    ("InvalidClientTokenId", 403, "AwsAccessDenied", "access denied"),
    ("AWS.SimpleQueueService.NonExistentQueue", 400, "AwsNotFound", "does not exist"),
    ("NotFound", 404, "AwsNotFound", "does not exist"),
    ("ThrottlingException", 400, "SourceError", "AWS refused it: ThrottlingException"),
])
def test_aws_error_codes_are_said_as_such(code: str, status: int, error: str, said: str) -> None:
    """botocore's documented ClientError shape (no emulator answers 403 for a policy)."""
    import botocore.exceptions

    import eventlab.errors as errors

    response = {"Error": {"Code": code, "Message": "m"},
                "ResponseMetadata": {"HTTPStatusCode": status}}
    with pytest.raises(getattr(errors, error), match=said) as raised, \
            aws_errors("sending to queue q"):
        raise botocore.exceptions.ClientError(response, "SendMessage")  # type: ignore[arg-type]
    assert str(raised.value).startswith("sending to queue q")
