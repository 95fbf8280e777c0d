"""AWS credentials never land in the store, the command's output or an export: a tap, an ingest,
a peek, a republish dry run and an export run with a recognisable secret key, and its bytes are
looked for everywhere they could land (the store file, its WAL, stdout, stderr, the exported
file). moto (an EMULATOR) accepts any key, so the secret is really used to sign each request."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from eventlab.aws.clients import sns
from eventlab.aws.config import AwsConfig

ROOT = Path(__file__).resolve().parents[2]
SECRET = "eventlab-TEST-secret-0f1e2d3c4b5a"
KEY_ID = "AKIAEVENTLABTESTKEY9"


def test_the_secret_key_is_nowhere_after_a_whole_session(
        tmp_path: Path, aws_config: AwsConfig, sns_topic_factory: Callable[..., str]) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "AWS_ACCESS_KEY_ID": KEY_ID,
           "AWS_SECRET_ACCESS_KEY": SECRET, "EVENTLAB_AWS_ENDPOINT_URL": aws_config.endpoint_url
           or "", "EVENTLAB_ACTOR": "tester"}
    env.pop("EVENTLAB_READ_ONLY", None)
    db, out = tmp_path / "s.duckdb", tmp_path / "export.jsonl"
    said: list[str] = []

    def run(*args: str) -> str:
        done = subprocess.run([sys.executable, "-m", "eventlab", *args], env=env, text=True,
                              capture_output=True, timeout=120, cwd=tmp_path)
        said.extend([done.stdout, done.stderr])
        assert done.returncode in (0, 2), done.stderr
        return done.stdout

    arn = sns_topic_factory()
    made = json.loads(run("tap-sns", "--topic-arn", arn, "--json"))
    sns(aws_config).publish(TopicArn=arn, Message='{"id": "e1", "type": "T", "entity_id": '
                                                  '"o-1", "seq": 1, "data": {}}')
    tap = made["url"]
    run("ingest-sqs", "--queue", tap, "--db", str(db), "--json")
    run("sqs-queues", "--queue", tap, "--json")
    run("peek-sqs", "--queue", tap)
    run("republish", "--sql", "SELECT event_id FROM events", "--to-sqs", tap, "--dry-run",
        "--db", str(db), "--json")
    run("export", "--db", str(db), "--format", "jsonl", "--out", str(out))
    secret = SECRET.encode()
    for path in [p for p in tmp_path.rglob("*") if p.is_file()]:
        assert secret not in path.read_bytes(), f"the secret key is in {path.name}"
    assert not any(SECRET in text for text in said), "the secret key was printed"
    assert db.exists()
