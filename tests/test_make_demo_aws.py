"""`make demo-aws` runs the app on its own empty database, pointed at the local emulator, with
the demo shop publishing in the background and everything stopped on exit."""

from __future__ import annotations

from test_make_demo_kafka import _dry_run


def test_demo_aws_serves_its_own_empty_database_against_the_emulator() -> None:
    lines = _dry_run("demo-aws")
    text = "\n".join(lines)
    assert "ingest data/demo" not in text and "eventlab.duckdb" not in text
    empty = lines.index("rm -f .eventlab/aws.duckdb .eventlab/aws.duckdb.wal")
    serve = next(i for i, line in enumerate(lines) if "eventlab.ui.serve" in line)
    assert empty < serve and "EVENTLAB_DB=.eventlab/aws.duckdb" in lines[serve]
    assert "eventlab aws-local --port 4566 --detach" in text
    assert "EVENTLAB_AWS_ENDPOINT_URL=http://127.0.0.1:4566" in text


def test_demo_aws_publishes_in_the_background_and_stops_everything() -> None:
    text = "\n".join(_dry_run("demo-aws"))
    assert "eventlab demo-aws" in text and "& shop=$!" in text
    assert "--consumer-rate 8" in text and "--rate 20" in text  # slower consumer: depth grows
    assert "kill $shop" in text and "aws-local --stop --port 4566" in text
