"""Investigations: saved and reopened in the store, refused in read-only mode, and bundled:
the selected events, state timelines, findings, notes and an offline HTML report."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from eventlab import investigations as inv_api
from eventlab import settings
from eventlab.errors import ReadOnlyError
from eventlab.investigations import Investigation, InvestigationError, clean_query
from eventlab.store import db
from eventlab.store.eventstore import EventStore


def test_model_cleans_what_people_paste() -> None:
    assert clean_query("http://127.0.0.1:8501/explore?types=A&types=B&ev=1~2~x&page=3") == \
        "types=A&types=B"
    inv = inv_api.new("Order 4711 charged twice!", "ann", inv_api.now())
    assert inv.id.startswith("order-4711-charged-twice-") and inv.author == "ann"
    edited = inv.with_doc({"entities": "order-1, order-2,order-1", "bookmarks": ["e1", ""],
                           "filters": "?dup=1"}, inv_api.now())
    assert edited.entities == ("order-1", "order-2") and edited.bookmarks == ("e1",)
    assert edited.filter_params() == {"dup": ["1"]}
    with pytest.raises(InvestigationError, match="name"):
        inv_api.new("  ", "ann", inv_api.now())


def test_saved_listed_reopened_and_refused_when_read_only(
        store: EventStore, monkeypatch: pytest.MonkeyPatch) -> None:
    a = inv_api.save(store, inv_api.new("first", "ann", inv_api.now()))
    b = inv_api.new("second", "bo", inv_api.now())
    b = inv_api.save(store, b.with_doc({"notes": "x", "bookmarks": ["e9"]}, inv_api.now()))
    with store.reading() as cur:
        assert [i.id for i in inv_api.listing(cur)] == [b.id, a.id]
        again = inv_api.load(cur, b.id)
        assert (again.notes, again.bookmarks, again.author) == ("x", ("e9",), "bo")
        assert inv_api.load(cur, "first").id == a.id
        with pytest.raises(InvestigationError, match="no investigation"):
            inv_api.load(cur, "nope")
    monkeypatch.setattr(settings, "_GUARDS", settings.Guards(read_only=True))
    with pytest.raises(ReadOnlyError):
        inv_api.save(store, a)


@pytest.fixture()
def demo_copy(demo_db: Path, tmp_path: Path) -> Path:
    return Path(shutil.copy(demo_db, tmp_path / "demo.duckdb"))


def _investigation(store: EventStore) -> tuple[Investigation, int]:
    with store.reading() as cur:
        dup_rows = db.scalar(cur, "SELECT count(*) FROM events WHERE event_id IN (SELECT "
                                  "event_id FROM events GROUP BY 1 HAVING count(*) > 1)")
        bookmark, entity = db.rows(cur, "SELECT event_id, entity_id FROM events WHERE "
                                        "entity_id = 'customer-00001' ORDER BY seq LIMIT 1")[0]
        expected = db.scalar(cur, "SELECT count(*) FROM events WHERE event_id IN (SELECT "
                                  "event_id FROM events GROUP BY 1 HAVING count(*) > 1) OR "
                                  "event_id = ? OR entity_id = ?", [bookmark, entity])
    assert 0 < dup_rows < expected
    inv = inv_api.new("dups and a customer", "ann", inv_api.now()).with_doc(
        {"filters": "dup=1", "bookmarks": [bookmark], "entities": [entity],
         "notes": "<script>alert(1)</script> retries seen", "findings": ["duplicate_event_id"]},
        inv_api.now())
    return inv_api.save(store, inv), expected


def test_bundle_holds_everything_and_the_report_opens_offline(demo_copy: Path,
                                                             tmp_path: Path) -> None:
    with EventStore(demo_copy) as store:
        inv, expected = _investigation(store)
        with store.reading() as cur:
            made = inv_api.write_bundle(cur, inv, tmp_path / "out")
    assert made.events == expected and not made.truncated
    folder = made.folder
    assert pq.read_table(folder / "events.parquet").num_rows == expected
    assert len((folder / "events.jsonl").read_text().splitlines()) == expected
    index = json.loads((folder / "states" / "index.json").read_text())
    assert list(index.values()) == ["customer-00001"]
    timeline = json.loads((folder / "states" / next(iter(index))).read_text())
    assert timeline and timeline[-1]["state"]["customer_id"] == "customer-00001"
    findings = json.loads((folder / "findings.json").read_text())
    assert [f["kind"] for f in findings] == ["duplicate_event_id"]
    assert (folder / "notes.md").read_text().startswith("<script>")
    html = (folder / "report.html").read_text()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html  # notes escaped
    # No element loads from another host (plotly.js itself mentions URLs in its source).
    assert not re.search(r"<(script|img|iframe)[^>]+src=|<link[^>]+href=", html, re.I)
    assert "Plotly" in html and html.count("<div") >= 2  # plotly.js inline, figures there
    with zipfile.ZipFile(made.zip_path) as z:
        assert sorted(n for n in z.namelist() if not n.endswith("/")) == sorted(made.files)


def test_bundle_cli(demo_copy: Path, tmp_path: Path) -> None:
    with EventStore(demo_copy) as store:
        inv, expected = _investigation(store)
    run = [sys.executable, "-m", "eventlab"]
    listed = json.loads(subprocess.run([*run, "investigations", "--db", str(demo_copy),
                                        "--json"], capture_output=True, text=True,
                                       check=True).stdout)
    assert [i["id"] for i in listed] == [inv.id]
    out = json.loads(subprocess.run([*run, "bundle", inv.id, "--db", str(demo_copy), "--out",
                                     str(tmp_path / "b"), "--json"], capture_output=True,
                                    text=True, check=True).stdout)
    assert out["events"] == expected and Path(out["zip"]).exists()
    bad = subprocess.run([*run, "bundle", "nope", "--db", str(demo_copy), "--out",
                          str(tmp_path / "b")], capture_output=True, text=True)
    assert bad.returncode == 2 and "no investigation 'nope'" in bad.stderr
