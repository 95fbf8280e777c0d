"""`eventlab export`: each source and format, the sandbox, clear errors, and the file loading
back through `eventlab ingest`."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import orjson
import pyarrow.parquet as pq
import pytest
from export_support import CANONICAL, KEY, make_store

from eventlab.cli import main
from eventlab.store import db
from eventlab.store.eventstore import EventStore


@pytest.fixture()
def db_path(tmp_path: Path) -> str:
    return str(make_store(tmp_path / "bytes.duckdb"))


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_sql_to_csv_with_json_summary(db_path: str, tmp_path: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "q.csv"
    code, stdout, _ = run(capsys, "export", "--db", db_path, "--sql",
                          "SELECT event_id, key FROM events WHERE topic = 'orders' "
                          "ORDER BY event_id", "--out", str(out), "--json")
    assert code == 0
    summary = json.loads(stdout)
    assert summary["rows"] == 3 and summary["format"] == "csv" and not summary["truncated"]
    assert summary["path"] == str(out.resolve()) and summary["bytes"] == out.stat().st_size
    rows = list(csv.DictReader(out.open()))
    assert [(r["event_id"], r["key"]) for r in rows] == [
        ("k-1", KEY.hex()), ("k-2", b"order-1".hex()), ("k-3", b"order-1".hex())]


def test_entity_to_parquet_and_filters_to_jsonl(db_path: str, tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "e.parquet"
    code, stdout, _ = run(capsys, "export", "--db", db_path, "--entity", "order-1",
                          "--out", str(out))
    assert code == 0 and stdout.startswith("wrote 3 rows to ")
    assert pq.read_table(out).column("key").to_pylist()[0] == KEY
    out = tmp_path / "f.jsonl"
    code, _, _ = run(capsys, "export", "--db", db_path, "--type", "OrderPaid", "--type",
                     "CustomerRegistered", "--from", "2026-10-31T00:00:00", "--to",
                     "2026-11-01T10:05:00Z", "--out", str(out))
    assert code == 0
    assert [orjson.loads(x)["event_id"] for x in out.read_bytes().splitlines()] == ["f-1", "k-2"]
    out = tmp_path / "q.data"
    code, stdout, _ = run(capsys, "export", "--db", db_path, "--quarantine", "--format",
                          "jsonl", "--out", str(out), "--max-rows", "5")
    assert code == 0 and orjson.loads(out.read_bytes())["raw"] == "ff00626164"


def test_refused_sql_unknown_entity_and_bad_paths(db_path: str, tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "x.csv"
    code, stdout, err = run(capsys, "export", "--db", db_path, "--sql", "DELETE FROM events",
                            "--out", str(out), "--json")
    assert code == 2 and "Only SELECT queries" in err
    assert json.loads(stdout)["kind"] == "SqlRefused" and not out.exists()
    code, _, err = run(capsys, "export", "--db", db_path, "--sql",
                       "SELECT * FROM read_text('/etc/passwd')", "--out", str(out))
    assert code == 2 and "not allowed" in err and not out.exists()
    code, _, err = run(capsys, "export", "--db", db_path, "--entity", "order-9",
                       "--out", str(out))
    assert code == 2 and "no events for entity 'order-9'" in err and "order-1" in err
    code, _, err = run(capsys, "export", "--db", db_path, "--out",
                       str(tmp_path / "missing" / "x.csv"))
    assert code == 2 and "does not exist" in err
    code, _, err = run(capsys, "export", "--db", db_path, "--out", str(tmp_path / "x.txt"))
    assert code == 2 and "pass --format" in err
    code, _, err = run(capsys, "export", "--db", db_path, "--entity", "order-1", "--type",
                       "A", "--out", str(out))
    assert code == 2 and "do not go with" in err
    code, _, err = run(capsys, "export", "--db", db_path, "--from", "yesterday",
                       "--out", str(out))
    assert code == 2 and "not an ISO 8601 time" in err
    code, _, err = run(capsys, "export", "--db", str(tmp_path / "nope.duckdb"),
                       "--out", str(out))
    assert code == 2 and "No database at" in err
    with pytest.raises(SystemExit):
        main(["export", "--db", db_path, "--sql", "SELECT 1", "--entity", "x", "--out", "y"])
    capsys.readouterr()


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "parquet"])
def test_an_export_loads_back_with_eventlab_ingest(db_path: str, tmp_path: Path, fmt: str,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / f"all.{fmt}"
    assert run(capsys, "export", "--db", db_path, "--out", str(out))[0] == 0
    back = tmp_path / "back.duckdb"
    code, stdout, _ = run(capsys, "ingest", str(out), "--db", str(back), "--json", "--strict")
    assert code == 0 and json.loads(stdout)["rows_stored"] == 4

    def canonical(path: str | Path) -> list[tuple]:
        with EventStore(path, read_only=True) as store, store.reading() as c:
            return sorted(db.rows(c, f"SELECT {CANONICAL} FROM events"), key=repr)

    assert canonical(back) == canonical(db_path)
