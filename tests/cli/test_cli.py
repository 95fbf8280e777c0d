"""`eventlab` commands, in-process through `main([...])` and once as a real subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from helpers_files import flat_events, write_jsonl, write_parquet, write_random_bytes

from eventlab.cli import main
from eventlab.store.eventstore import EventStore

INGEST_KEYS = {"files_read", "rows_stored", "rows_skipped_duplicate", "rows_quarantined",
               "files_failed", "mapping"}


def _empty_db(tmp_path: Path) -> str:
    """A database file with the schema and no events (read commands need an existing file)."""
    path = tmp_path / "x.duckdb"
    EventStore(path).close()
    return str(path)


def test_sql_on_a_missing_database_is_an_error(tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["sql", "SELECT 1", "--db", str(tmp_path / "nope.duckdb")])
    assert code == 2
    assert "No database at" in capsys.readouterr().err
    assert not (tmp_path / "nope.duckdb").exists()


def _json_out(capsys: pytest.CaptureFixture[str]) -> dict:
    out = capsys.readouterr().out
    assert out.endswith("\n") and out.count("\n") == 1, f"not one JSON line: {out!r}"
    obj = json.loads(out)
    assert isinstance(obj, dict)
    return obj


@pytest.fixture()
def export(tmp_path: Path) -> Path:
    d = tmp_path / "export"
    write_parquet(d / "a.parquet", flat_events(5))
    write_jsonl(d / "b.jsonl", [
        {"entity_id": "order-9", "event_type": "T", "ts": "2026-11-01T10:00:00Z"},
        {"event_type": "T", "ts": "2026-11-01T10:00:00Z"}])
    return d


def test_ingest_json_prints_one_object(tmp_path: Path, export: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "x.duckdb"
    assert main(["ingest", str(export / "a.parquet"), "--db", str(db), "--json"]) == 0
    out = _json_out(capsys)
    assert set(out) >= INGEST_KEYS
    assert (out["files_read"], out["rows_stored"], out["rows_skipped_duplicate"],
            out["rows_quarantined"], out["files_failed"]) == (1, 5, 0, 0, [])
    assert out["mapping"] == {
        "preset": "flat",
        "fields": {"event_id": {"column": "event_id"}, "event_type": {"column": "event_type"},
                   "entity_id": {"column": "entity_id"}, "ts": {"column": "ts"}},
        "payload_columns": ["n"]}


def test_ingest_json_shows_a_mapping_file(tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    f = write_parquet(tmp_path / "odd.parquet", {
        "agg": ["o-1"], "kind": ["Placed"], "meta": ['{"at": "2026-11-01T10:00:00Z"}']})
    m = tmp_path / "m.toml"
    m.write_text('[fields]\nentity_id = "agg"\nevent_type = "kind"\nts = "meta.at"\n'
                 'entity_type = { literal = "order" }\n')
    code = main(["ingest", str(f), "--mapping", str(m), "--db", str(tmp_path / "x.duckdb"),
                 "--json"])
    out = _json_out(capsys)
    assert code == 0
    assert out["rows_stored"] == 1
    assert out["mapping"]["fields"]["ts"] == {"column": "meta", "path": "$.at"}
    assert out["mapping"]["fields"]["entity_type"] == {"literal": "order"}


def test_ingest_bad_mapping_file_exits_2_with_the_error(tmp_path: Path, export: Path,
                                                        capsys: pytest.CaptureFixture[str]
                                                        ) -> None:
    m = tmp_path / "m.toml"
    m.write_text('preset = "avro"\n')
    code = main(["ingest", str(export), "--mapping", str(m), "--db",
                 str(tmp_path / "x.duckdb"), "--json"])
    captured = capsys.readouterr()
    assert code == 2
    assert json.loads(captured.out) == {
        "error": f"{m}: unknown preset 'avro'; choose one of auto, cloudevents, envelope, flat",
        "kind": "MappingError"}
    assert "unknown preset 'avro'" in captured.err


def test_ingest_check_counts_ids_already_stored_and_stores_nothing(
        tmp_path: Path, export: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = str(tmp_path / "x.duckdb")
    assert main(["ingest", str(export / "a.parquet"), "--db", db, "--json"]) == 0
    _json_out(capsys)
    back = write_parquet(tmp_path / "back" / "a.parquet", flat_events(5))  # loaded back
    assert main(["ingest", str(back), "--check", "--db", db, "--json"]) == 0
    out = _json_out(capsys)
    assert (out["rows_checked"], out["rows_known_id"], out["sampled"]) == (5, 5, False)
    assert out["known_from"] == [{"origin": str(export / "a.parquet"), "events": 5}]
    assert main(["ingest", str(back), "--check", "--db", db]) == 0
    text = capsys.readouterr().out
    assert text.startswith(f"5 of 5 rows have an event id already stored (from: "
                           f"{export / 'a.parquet'} (5)).")
    assert "--duplicates copy" in text
    with EventStore(db) as store:
        assert store.stats().events == 5
        with store.reading() as cur:
            assert cur.execute("SELECT count(*) FROM ingested_files").fetchall() == [(1,)]


def test_ingest_twice_reports_duplicates(tmp_path: Path, export: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    args = ["ingest", str(export), "--db", str(tmp_path / "x.duckdb"), "--json"]
    assert main(args) == 0
    first = _json_out(capsys)
    assert (first["rows_stored"], first["rows_quarantined"]) == (6, 1)
    assert main(args) == 0
    second = _json_out(capsys)
    assert (second["rows_stored"], second["rows_quarantined"]) == (0, 0)
    assert second["rows_skipped_duplicate"] > 0


def test_corrupt_file_exit_codes(tmp_path: Path, export: Path,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    bad = write_random_bytes(export / "broken.parquet")
    db = str(tmp_path / "x.duckdb")
    assert main(["ingest", str(export), "--db", db, "--json"]) == 0
    out = _json_out(capsys)
    assert out["rows_stored"] == 6
    assert [f["file"] for f in out["files_failed"]] == [str(bad)]
    assert "Parquet magic bytes not found" in out["files_failed"][0]["error"]

    assert main(["ingest", str(export), "--db", str(tmp_path / "y.duckdb"), "--strict",
                 "--json"]) == 1
    assert _json_out(capsys)["rows_stored"] == 6

    assert main(["ingest", str(bad), "--db", str(tmp_path / "z.duckdb"), "--json"]) == 1
    out = _json_out(capsys)
    assert (out["files_read"], out["rows_stored"]) == (0, 0)
    assert [f["file"] for f in out["files_failed"]] == [str(bad)]


def test_strict_fails_on_quarantined_rows(tmp_path: Path, export: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    db = str(tmp_path / "x.duckdb")
    assert main(["ingest", str(export / "a.parquet"), "--db", db, "--strict"]) == 0
    assert main(["ingest", str(export / "b.jsonl"), "--db", db, "--strict"]) == 1
    out = capsys.readouterr().out
    assert "1 quarantined" in out


def test_ingest_nothing_found_exits_1(tmp_path: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["ingest", str(tmp_path / "missing" / "*.parquet"), "--db",
                 str(tmp_path / "x.duckdb"), "--json"])
    assert code == 1
    assert _json_out(capsys)["files_failed"] == [
        {"file": str(tmp_path / "missing" / "*.parquet"),
         "error": "no such file, folder or matching files"}]


def test_ingest_human_summary(tmp_path: Path, export: Path,
                              capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ingest", str(export), "--db", str(tmp_path / "x.duckdb")]) == 0
    out = capsys.readouterr().out
    assert out.startswith("2 file(s) read, 7 rows: 6 stored, 0 already loaded (skipped), "
                          "1 quarantined")
    assert "\nmapping: {" in out


def test_sql_json(tmp_path: Path, export: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = str(tmp_path / "x.duckdb")
    main(["ingest", str(export), "--db", db])
    capsys.readouterr()
    code = main(["sql", "SELECT entity_id, count(*) AS n FROM events GROUP BY 1 ORDER BY 1",
                 "--db", db, "--json"])
    out = _json_out(capsys)
    assert code == 0
    assert {"columns", "rows", "truncated"} <= set(out)
    assert out["columns"] == ["entity_id", "n"]
    assert out["rows"] == [["order-0", 2], ["order-1", 2], ["order-2", 1], ["order-9", 1]]
    assert out["truncated"] is False


def test_sql_max_rows_truncates(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["sql", "SELECT * FROM range(7)", "--db", _empty_db(tmp_path),
                 "--max-rows", "3", "--json"])
    out = _json_out(capsys)
    assert code == 0
    assert (out["rows"], out["truncated"]) == ([[0], [1], [2]], True)


def test_sql_tab_separated_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sql", "SELECT 1 AS a, NULL AS b, 'x' AS c", "--db",
                 _empty_db(tmp_path)]) == 0
    assert capsys.readouterr().out == "a\tb\tc\n1\t\tx\n"


@pytest.mark.parametrize(("sql", "message"), [
    ("DROP TABLE events", "Only SELECT queries run here (this is DROP)"),
    ("SELECT * FROM read_csv('/etc/passwd')", "the console cannot read files"),
    ("SELECT 1; SELECT 2", "Exactly one statement is allowed"),
])
def test_sql_refused_exits_non_zero_with_a_message(tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str],
                                                   sql: str, message: str) -> None:
    db = Path(_empty_db(tmp_path))
    code = main(["sql", sql, "--db", str(db)])
    captured = capsys.readouterr()
    assert code != 0
    assert captured.err.startswith("error: ")
    assert message in captured.err
    with EventStore(db) as store:
        assert store.stats().events == 0
        cur = store.cursor()
        assert cur.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'events'"
                           ).fetchone() == (1,)


def test_sql_refused_with_json_prints_an_error_object(tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]
                                                      ) -> None:
    code = main(["sql", "DELETE FROM events", "--db", _empty_db(tmp_path), "--json"])
    out = _json_out(capsys)
    assert code == 2
    assert out["kind"] == "SqlRefused"
    assert "Only SELECT queries run here (this is DELETE)" in out["error"]


def test_db_option_selects_the_database(tmp_path: Path, export: Path,
                                        monkeypatch: pytest.MonkeyPatch,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("EVENTLAB_DB", str(tmp_path / "env.duckdb"))
    main(["ingest", str(export / "a.parquet"), "--db", str(tmp_path / "opt.duckdb")])
    capsys.readouterr()
    assert (tmp_path / "opt.duckdb").exists()
    assert not (tmp_path / "env.duckdb").exists()
    main(["sql", "SELECT count(*) FROM events", "--db", str(tmp_path / "opt.duckdb"),
          "--json"])
    assert _json_out(capsys)["rows"] == [[5]]


def test_eventlab_db_environment_variable(tmp_path: Path, export: Path,
                                          monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("EVENTLAB_DB", str(tmp_path / "env.duckdb"))
    assert main(["ingest", str(export / "a.parquet"), "--json"]) == 0
    assert _json_out(capsys)["rows_stored"] == 5
    assert (tmp_path / "env.duckdb").exists()
    assert not (tmp_path / ".eventlab").exists()
    assert main(["sql", "SELECT count(*) FROM events", "--json"]) == 0
    assert _json_out(capsys)["rows"] == [[5]]
    assert main(["stats", "--json"]) == 0
    stats = _json_out(capsys)
    assert (stats["events"], stats["entities"], stats["quarantined"]) == (5, 3, 0)


def test_real_subprocess(tmp_path: Path, export: Path) -> None:
    env = {**os.environ, "EVENTLAB_DB": str(tmp_path / "env.duckdb")}
    db = str(tmp_path / "sub.duckdb")
    ingest = subprocess.run(
        [sys.executable, "-m", "eventlab", "ingest", str(export), "--db", db, "--json"],
        capture_output=True, text=True, timeout=60, cwd=tmp_path, env=env)
    assert ingest.returncode == 0, ingest.stderr
    out = json.loads(ingest.stdout)
    assert set(out) >= INGEST_KEYS
    assert (out["files_read"], out["rows_stored"], out["rows_quarantined"]) == (2, 6, 1)

    with EventStore(db) as store:
        assert store.stats().events == 6

    exe = Path(sys.executable).parent / "eventlab"
    refused = subprocess.run([str(exe), "sql", "DROP TABLE events", "--db", db],
                             capture_output=True, text=True, timeout=60, cwd=tmp_path,
                             env=env)
    assert refused.returncode == 2
    assert refused.stdout == ""
    assert "error: Only SELECT queries run here (this is DROP)" in refused.stderr
    assert not (tmp_path / "env.duckdb").exists()


def test_ingest_says_which_flag_to_pass_after_the_fact(tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    """Ingest reports the fact (also shown in the browser); only the command line adds the
    flag to pass."""
    notes = tmp_path / "notes.txt"
    notes.write_text("x")
    no_ts = write_parquet(tmp_path / "a.parquet", {"entity_id": ["o-1"], "event_type": ["T"]})
    db = str(tmp_path / "x.duckdb")
    assert main(["ingest", str(notes), str(no_ts), "--db", db]) == 1
    out = capsys.readouterr().out
    assert f"FAILED {notes}: unknown format (not .parquet" in out
    assert out.count(str(no_ts)) == 1  # the file is named once
    assert "hint: pass --format parquet|jsonl|csv\nhint: pass --mapping FILE or --preset" in out


def test_ingest_an_export_back_skips_stored_ids_unless_told_to_copy(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rows = {**flat_events(3), "event_id": ["a", "b", "c"]}
    db = str(tmp_path / "x.duckdb")
    assert main(["ingest", str(write_parquet(tmp_path / "a.parquet", rows)), "--db", db]) == 0
    back = str(write_parquet(tmp_path / "back.parquet", rows))
    capsys.readouterr()
    assert main(["ingest", back, "--db", db]) == 0
    assert "3 rows have an event id that is already stored (skipped" in capsys.readouterr().out
    copy = str(write_parquet(tmp_path / "copy.parquet", rows))
    assert main(["ingest", copy, "--db", db, "--duplicates", "copy", "--json"]) == 0
    out = _json_out(capsys)
    assert (out["rows_stored"], out["rows_known_id"], out["duplicates"]) == (3, 3, "copy")
