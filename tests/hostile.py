"""The hostile data set (docs/safety.md, items 33 and 40): events whose every field was written
by an attacker, loaded through the real file ingest, plus a hostile investigation.

Every page is opened on it: in AppTest (tests/app/test_hostile_app.py: no exception, no
Markdown element carrying an unescaped image, link, directive or HTML) and in headless Chromium
(tests/browser/test_hostile_browser.py: no request to another host, no dialog, no exception).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from eventlab.ingest.file_ingest import ingest_paths
from eventlab.investigations import model, saved
from eventlab.store.eventstore import EventStore
from eventlab.timetravel.scenario import Scenario

EVIL = "evil.example"
IMAGE = f"![x](http://{EVIL}/p.png)"
LINK = f"[click me](http://{EVIL}/sql?sql=DELETE%20FROM%20events)"
HTML = (f"<img src=http://{EVIL}/i.png onerror=alert(1)><script>alert(2)</script>"
        f"<a href='http://{EVIL}/a'>a</a>")
DIRECTIVES = ":red[RED] :material/home: :streamlit: :+1: :blue-badge[b]"
TICKS = "`` ` ``` closes the code span ` ![y](http://" + EVIL + "/t.png)"
AUTOLINK = f"http://{EVIL}/auto www.{EVIL} admin@{EVIL}"
LATEX = "$x^2$ $$\\frac{1}{0}$$"
BIDI = "\u202eoverride\u200b zero-width\nnew line\r\n# heading"
PLOTLY = f"<a href='http://{EVIL}/plot'>plot link</a><b>bold</b><br>"
STRINGS = (IMAGE, LINK, HTML, DIRECTIVES, TICKS, AUTOLINK, LATEX, BIDI, PLOTLY)
"""Every kind of hostile text; each field of the set holds one (or several joined)."""

ENTITY = f"order-{IMAGE}"
"""The entity whose history is hostile (Time travel, What if, bundle)."""
ENTITY_TYPE = f"order{DIRECTIVES}"
CORRELATION = f"corr-{LINK}"
HUGE = "H" * 1_000_000
DEEP = "[" * 10_000 + "]" * 10_000
INVESTIGATION = f"inv {IMAGE} {LINK} {DIRECTIVES} {HTML}"

_T0 = datetime(2025, 3, 5, 14, 0, tzinfo=UTC)


SCENARIO = Scenario(f"what if {IMAGE} {LINK} {HTML} {DIRECTIVES}", ENTITY,
                    {"kind": "merge", "path": None, "delete_types": [TICKS]},
                    ({"op": "skip", "index": 0, "event_id": "ev-1-" + IMAGE},
                     {"op": "insert", "at": 2, "event_type": f"Hypothetical {HTML} {TICKS}",
                      "payload": {"status": LINK, IMAGE: DIRECTIVES}}))
"""A what-if saved in the hostile investigation: hostile name, delete type, event type and
payload (the investigation's list, its Time travel link, the bundle)."""


def _ts(minute: int) -> str:
    return _T0.replace(minute=minute).isoformat()


def _line(doc: dict) -> bytes:
    return json.dumps(doc, ensure_ascii=False).encode("utf-8", "surrogatepass")


def _raw(text: str) -> bytes:
    """A JSON document written by hand: JSON's non-standard tokens (NaN, Infinity) and
    numbers past float range, which DuckDB's JSON reader accepts."""
    return text.encode("utf-8")


def lines() -> list[bytes]:
    """The JSON lines of the hostile export (envelope preset), plus lines ingest must
    quarantine (not UTF-8; not JSON; no entity id)."""
    out: list[bytes] = []
    payloads: list[dict] = [
        {"status": IMAGE, "note": LINK, "html": HTML, "total": 10},
        {"status": DIRECTIVES, "text": TICKS, "total": 12.5, "huge": HUGE},
        {"status": AUTOLINK, "latex": LATEX, "bidi": BIDI, "plot": PLOTLY},
    ]
    for seq, payload in enumerate(payloads, 1):
        out.append(_line({
            "id": f"ev-{seq}-{STRINGS[seq - 1]}", "type": STRINGS[seq + 2],
            "aggregateId": ENTITY, "aggregateType": ENTITY_TYPE, "version": seq,
            "timestamp": _ts(seq), "data": payload,
            "metadata": {"correlation_id": CORRELATION, "causation_id": f"ev-{seq - 1}-{HTML}",
                         "actor": BIDI}}))
    # Numbers and depth that break naive JSON code: each in its own event of the entity.
    specials = [("NaNPlaced", '{"total": NaN, "status": "nan"}'),
                ("InfinityPlaced", '{"total": Infinity, "min": -Infinity}'),
                ("HugeNumberPlaced", '{"total": 1e400, "tiny": -1e400}'),
                ("DeepPlaced", '{"deep": ' + DEEP + "}")]
    for i, (etype, data) in enumerate(specials, len(payloads) + 1):
        out.append(_raw(
            '{"id": "ev-' + str(i) + '", "type": ' + json.dumps(etype + " " + HTML) +
            ', "aggregateId": ' + json.dumps(ENTITY) + ', "aggregateType": ' +
            json.dumps(ENTITY_TYPE) + ', "version": ' + str(i) + ', "timestamp": "' + _ts(i) +
            '", "data": ' + data + ', "metadata": {"correlation_id": ' +
            json.dumps(CORRELATION) + "}}"))
    out.append(_line({  # a later, well-formed event: the fold goes on after the bad ones
        "id": "ev-last", "type": f"OrderShipped {IMAGE}", "aggregateId": ENTITY,
        "aggregateType": ENTITY_TYPE, "version": len(out) + 1, "timestamp": _ts(30),
        "data": {"status": "shipped", IMAGE: LINK}}))
    # Other entities with hostile ids and types (Explore lists, Flow variants, As of).
    for n, text in enumerate(STRINGS):
        for seq in (1, 2):
            out.append(_line({
                "id": f"other-{n}-{seq}", "type": f"{text} {seq}", "aggregateId": f"{text} #{n}",
                "aggregateType": ENTITY_TYPE, "version": seq, "timestamp": _ts(40 + seq),
                "data": {"status": text, "n": n}, "metadata": {"correlation_id": CORRELATION,
                                                              "causation_id": f"other-{n}-1"}}))
    # A duplicated id with a conflicting payload (the duplicate marks and copy views).
    out.append(_line({"id": "ev-1-" + STRINGS[0], "type": STRINGS[3], "aggregateId": ENTITY,
                      "aggregateType": ENTITY_TYPE, "version": 1, "timestamp": _ts(1),
                      "data": {"status": f"conflicting copy {HTML}"}}))
    # For the quarantine: invalid UTF-8, broken JSON naming a link, a missing entity id.
    out.append(b'{"id": "bad-utf8", "type": "\xff\xfe ' + IMAGE.encode() + b'"}')
    out.append(("{not json " + IMAGE + LINK).encode())
    out.append(_line({"id": f"no-entity-{IMAGE}", "type": LINK, "timestamp": _ts(50),
                      "data": {}}))
    return out


def write(folder: Path) -> Path:
    """The hostile export as one JSONL file in `folder`; returns its path."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "hostile.jsonl"
    path.write_bytes(b"\n".join(lines()) + b"\n")
    return path


def build(db_path: Path, folder: Path) -> Path:
    """A store holding the hostile export (ingested as `eventlab ingest` would) and a hostile
    investigation that bookmarks the hostile entity's events."""
    source = write(folder)
    with EventStore(db_path) as store:
        report = ingest_paths(store, [str(source)])
        assert report.rows_stored > 0, report
        inv = model.new(INVESTIGATION, f"mallory {LINK}", saved.now())
        inv = model.replace(inv, notes=f"{IMAGE}\n{HTML}", entities=(ENTITY,),
                            bookmarks=("ev-1-" + STRINGS[0], "ev-5"),
                            position={"entity_id": ENTITY, "seq": "3"},
                            scenarios=(SCENARIO,))
        saved.save(store, inv)
    return db_path
