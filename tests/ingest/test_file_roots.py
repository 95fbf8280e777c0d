"""Safety item 35: a path typed in the browser reads only below the data folders; links out of
them are refused and listed; FIFOs, sockets and devices are listed as skipped, never read (the
CLI, the operator's own shell, has no roots but lists them too). Real files, links and FIFOs in
tmp_path, a real store and job manager."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest
from helpers_files import flat_events, write_csv, write_jsonl

from eventlab.cli import main
from eventlab.errors import SourceError
from eventlab.ingest.background import start_path_ingest
from eventlab.ingest.exports import discover
from eventlab.ingest.file_ingest import ingest_paths
from eventlab.ingest.roots import DATA_DIRS, data_roots
from eventlab.jobs import JobManager
from eventlab.store import db
from eventlab.store.eventstore import EventStore

SECRET_LINE = "root:x:0:0:do-not-load:/root:/bin/bash"


@pytest.fixture()
def layout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """A data folder with one good export, and a secret file beside (outside) it."""
    data = tmp_path / "data"
    write_jsonl(data / "good" / "a.jsonl", [
        {"entity_id": "o-1", "event_type": "Placed", "ts": "2026-11-01T10:00:00Z"}])
    secret = tmp_path / "outside" / "passwd.csv"
    secret.parent.mkdir()
    secret.write_text(f"line\n{SECRET_LINE}\n")
    monkeypatch.setenv(DATA_DIRS, str(data))
    return {"data": data, "secret": secret, "db": tmp_path / "x.duckdb"}


def _stored_text(store: EventStore) -> str:
    with store.reading() as cur:
        rows = db.rows(cur, "SELECT CAST(payload AS VARCHAR) FROM events UNION ALL "
                            "SELECT decode(raw) FROM quarantine")
    return " ".join(str(r[0]) for r in rows)


def test_data_roots_default_to_data_beside_the_database(tmp_path: Path) -> None:
    assert data_roots(tmp_path / "db" / "x.duckdb", env={}) == (
        os.path.realpath(tmp_path / "db" / "data"),)
    two = f"{tmp_path / 'a'}{os.pathsep}{tmp_path / 'b'}"
    assert data_roots("ignored.duckdb", env={DATA_DIRS: two}) == (
        os.path.realpath(tmp_path / "a"), os.path.realpath(tmp_path / "b"))


@pytest.mark.parametrize("typed", ["secret", "dotdot", "etc", "glob"])
def test_a_typed_path_outside_the_data_folders_is_refused(
        layout: dict[str, Path], manager: JobManager, typed: str) -> None:
    path = {"secret": str(layout["secret"]),
            "dotdot": str(layout["data"] / ".." / "outside" / "passwd.csv"),
            "etc": "/etc/passwd",
            "glob": str(layout["data"] / ".." / "outside" / "*.csv")}[typed]
    with EventStore(layout["db"]) as store:
        with pytest.raises(SourceError) as err:
            start_path_ingest(manager, store, path, db_path=layout["db"])
        assert not manager.jobs()
        assert store.stats().events == 0 and store.stats().quarantined == 0
    message = str(err.value)
    assert path in message and "outside the data folders" in message
    assert str(layout["data"].resolve()) in message and DATA_DIRS in message


def test_a_link_out_of_a_data_folder_is_refused_and_listed(
        layout: dict[str, Path], manager: JobManager) -> None:
    folder = layout["data"] / "good"
    (folder / "passwd.csv").symlink_to(layout["secret"])
    (folder / "etc").symlink_to(layout["secret"].parent, target_is_directory=True)
    with EventStore(layout["db"]) as store:
        done = manager.wait(start_path_ingest(manager, store, str(folder),
                                              db_path=layout["db"]).id, 30)
        assert done.status == "done", done.error
        assert SECRET_LINE not in _stored_text(store)
        assert store.stats().events == 1
    skipped = {f["file"]: f["reason"] for f in done.report.files_not_read}
    assert "outside the data folders" in skipped[str(folder / "passwd.csv")]
    assert "outside the data folders" in skipped[str(folder / "etc")]
    assert f"skipped {folder / 'passwd.csv'}: " in done.report.summary()
    # Typed directly, or through a glob that walks the linked folder, it is refused too.
    with EventStore(layout["db"]) as store:
        with pytest.raises(SourceError, match="outside the data folders"):
            start_path_ingest(manager, store, str(folder / "passwd.csv"), db_path=layout["db"])
        done = manager.wait(start_path_ingest(manager, store, str(folder / "*" / "*.csv"),
                                              db_path=layout["db"]).id, 30)
        assert SECRET_LINE not in _stored_text(store)
    assert done.status == "failed" and done.report.files_read == 0
    assert [f["file"] for f in done.report.files_not_read] == [str(folder / "etc" /
                                                                   "passwd.csv")]


def test_a_link_inside_the_data_folders_is_read(layout: dict[str, Path],
                                                manager: JobManager) -> None:
    link = layout["data"] / "latest.jsonl"
    link.symlink_to(layout["data"] / "good" / "a.jsonl")
    with EventStore(layout["db"]) as store:
        done = manager.wait(start_path_ingest(manager, store, str(link),
                                              db_path=layout["db"]).id, 30)
        assert done.status == "done" and store.stats().events == 1


@pytest.mark.parametrize("roots", [True, False], ids=["browser", "cli"])
def test_fifos_sockets_and_links_to_them_are_listed_not_read(
        layout: dict[str, Path], roots: bool) -> None:
    folder = layout["data"] / "good"
    os.mkfifo(folder / "events.jsonl.fifo")
    os.mkfifo(folder / "pipe.csv")  # named like data: reading it would wait forever
    (folder / "to-pipe.csv").symlink_to(folder / "pipe.csv")
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(folder / "s.sock"))
    (folder / "null.jsonl").symlink_to("/dev/null")
    try:
        with EventStore(":memory:") as store:
            report = ingest_paths(store, [str(folder)],
                                  roots=data_roots(layout["db"]) if roots else None)
    finally:
        sock.close()
    assert report.files_read == 1 and report.rows_stored == 1
    skipped = {Path(f["file"]).name: f["reason"] for f in report.files_not_read}
    assert skipped["events.jsonl.fifo"].startswith("a FIFO (named pipe), not a regular file")
    assert skipped["pipe.csv"].startswith("a FIFO")
    assert skipped["to-pipe.csv"].startswith("a symbolic link to a FIFO")
    assert skipped["s.sock"].startswith("a socket")
    if roots:
        assert "outside the data folders" in skipped["null.jsonl"]
    else:
        assert skipped["null.jsonl"].startswith("a symbolic link to a character device")
    # A FIFO typed by name is listed too, not waited on.
    files, problems, listed = discover([str(folder / "pipe.csv")])
    assert files == [] and problems == [] and listed[0]["reason"].startswith("a FIFO")


def test_cli_ingest_has_no_roots_but_lists_what_it_skips(
        tmp_path: Path, layout: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    """The operator's own shell: a file outside the data folders loads; a FIFO is listed."""
    folder = tmp_path / "anywhere"
    write_csv(folder / "a.csv", flat_events(2))
    os.mkfifo(folder / "b.csv")
    assert main(["ingest", str(folder), "--db", str(layout["db"])]) == 0
    out = capsys.readouterr().out
    assert "1 file(s) read" in out
    assert f"skipped {folder / 'b.csv'}: a FIFO (named pipe), not a regular file" in out
