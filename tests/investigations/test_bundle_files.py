"""Safety item 35 for the incident bundle: one state file per entity whatever its id (a
readable part plus a hash), and never a write through a symbolic link (findings 5 and 9 of
issue 17). Real store, real files and links in tmp_path."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from helpers_files import write_jsonl

from eventlab import investigations as inv_api
from eventlab.ingest.file_ingest import ingest_paths
from eventlab.investigations import InvestigationError
from eventlab.store.eventstore import EventStore

TWINS = ("order/000001", "order?000001")


@pytest.fixture()
def twins_db(tmp_path: Path) -> tuple[Path, str]:
    """A store holding two entities whose ids differ only in a character unsafe in file
    names, and a saved investigation naming both."""
    write_jsonl(tmp_path / "in" / "e.jsonl", [
        {"entity_id": e, "event_type": "Placed", "ts": f"2026-11-01T10:00:0{i}Z",
         "payload": {"who": e, "n": i}} for i, e in enumerate(TWINS)])
    path = tmp_path / "twins.duckdb"
    with EventStore(path) as store:
        assert ingest_paths(store, [str(tmp_path / "in")]).rows_stored == 2
        inv = inv_api.new("twins", "ann", inv_api.now()).with_doc(
            {"entities": list(TWINS)}, inv_api.now())
        inv_api.save(store, inv)
    return path, inv.id


def _bundle(db_path: Path, inv_id: str, out: Path) -> inv_api.Bundle:
    with EventStore(db_path) as store, store.reading() as cur:
        return inv_api.write_bundle(cur, inv_api.load(cur, inv_id), out)


def test_each_entity_gets_its_own_state_file(twins_db: tuple[Path, str],
                                             tmp_path: Path) -> None:
    made = _bundle(*twins_db, tmp_path / "out")
    index = json.loads((made.folder / "states" / "index.json").read_text())
    assert sorted(index.values()) == sorted(TWINS) and len(set(index)) == 2
    for name, entity in index.items():
        assert name.startswith("order_000001-") and name.endswith(".json")
        timeline = json.loads((made.folder / "states" / name).read_text())
        assert [row["state"]["who"] for row in timeline] == [entity]
    # Stable: the same entity gets the same name in the next bundle.
    again = _bundle(*twins_db, tmp_path / "out")
    assert json.loads((again.folder / "states" / "index.json").read_text()) == index


@pytest.mark.parametrize("entry", ["folder", "zip"])
def test_a_link_where_the_bundle_goes_is_refused(twins_db: tuple[Path, str], tmp_path: Path,
                                                 entry: str) -> None:
    db_path, inv_id = twins_db
    out = tmp_path / "out"
    out.mkdir()
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "keep.txt").write_text("mine")
    if entry == "folder":
        (out / inv_id).symlink_to(victim, target_is_directory=True)
        link = out / inv_id
    else:
        (victim / "file.zip").write_text("not a zip")
        link = out / f"{inv_id}.zip"
        link.symlink_to(victim / "file.zip")
    with pytest.raises(InvestigationError, match="is a symbolic link") as err:
        _bundle(db_path, inv_id, out)
    assert str(link) in str(err.value)
    assert sorted(p.name for p in victim.iterdir()) == (
        ["keep.txt"] if entry == "folder" else ["file.zip", "keep.txt"])
    assert (victim / "keep.txt").read_text() == "mine"
    if entry == "zip":
        assert (victim / "file.zip").read_text() == "not a zip"
    assert sorted(p.name for p in out.iterdir()) == [link.name]  # no leftovers
    # The command says so in one line, without a traceback.
    run = subprocess.run([sys.executable, "-m", "eventlab", "bundle", inv_id, "--db",
                          str(db_path), "--out", str(out)], capture_output=True, text=True)
    assert run.returncode == 2 and "is a symbolic link" in run.stderr
    assert "Traceback" not in run.stderr


def test_a_bundle_replaces_its_earlier_folder(twins_db: tuple[Path, str],
                                              tmp_path: Path) -> None:
    first = _bundle(*twins_db, tmp_path / "out")
    (first.folder / "stale.txt").write_text("old")
    second = _bundle(*twins_db, tmp_path / "out")
    assert second.folder == first.folder and not (second.folder / "stale.txt").exists()
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(
        [first.folder.name, first.zip_path.name])
