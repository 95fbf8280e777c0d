"""Every page opened on the hostile data set (docs/safety.md, items 33 and 40): no exception,
and no element that Streamlit renders as Markdown carries an unescaped image, link, directive,
HTML tag, math or bare URL. (The browser test checks what Chromium then draws and fetches.)"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import hostile
import pytest
from apptest_support import open_page
from google.protobuf.message import Message
from streamlit.testing.v1 import AppTest

from eventlab.explore import EventKey
from eventlab.store.eventstore import EventStore

RAW = re.compile(r"(?<!\\)(!\[|\]\(http|:red\[RED|:material/home|:streamlit:|<img|<a |<script|"
                 r"http://|www\.evil|\$x\^)")
"""Hostile markers as they would stand unescaped in Markdown source."""
PLAIN_TYPES = {"Json", "Code", "Text", "PlotlyChart", "ArrowNamedDataFrame", "Arrow",
               "TextInput", "TextArea", "Selectbox", "MultiSelect", "NumberInput",
               "Html", "DateInput", "TimeInput", "Skeleton", "Empty", "ForwardMsg"}
"""Elements that never interpret Markdown: data there is shown as it is (their label fields
are still checked, see `_strings`). Checked in Chromium: a select_slider's, radio's, segmented
control's and pills' options are Markdown; a selectbox's and multiselect's are not."""
LABEL_FIELDS = {"label", "help", "placeholder"}


def _strings(msg: Message, only: set[str] | None = None) -> Iterator[str]:
    for field, value in msg.ListFields():
        if only is not None and field.name not in only:
            continue
        values = value if getattr(field, "is_repeated", False) else [value]
        for v in values:
            if isinstance(v, str):
                yield v
            elif isinstance(v, Message) and only is None:
                yield from _strings(v)


def _nodes(node: Any) -> Iterator[Any]:
    yield node
    children = getattr(node, "children", None)
    if isinstance(children, dict):
        for child in children.values():
            yield from _nodes(child)


def assert_inert(at: AppTest, where: str) -> None:
    """No exception, and no Markdown-rendered string holding a raw hostile marker."""
    assert not at.exception, f"{where}: {[e.value for e in at.exception]}"
    for node in _nodes(at._tree):
        proto = getattr(node, "proto", None)
        if not isinstance(proto, Message):
            continue
        kind = type(proto).__name__
        only = LABEL_FIELDS if kind in PLAIN_TYPES else None
        for text in _strings(proto, only):
            found = RAW.search(text)
            assert not found, f"{where}: {kind} renders {found.group(0)!r} raw: {text[:300]!r}"


@pytest.fixture()
def app_env(monkeypatch: pytest.MonkeyPatch, hostile_db: Path) -> Path:
    monkeypatch.setenv("EVENTLAB_DB", str(hostile_db))
    return hostile_db


_open = partial(open_page, timeout=90)


def _event_key(db: Path, event_id: str) -> str:
    with EventStore(db) as store, store.reading() as cur:
        entity, seq, offset = cur.execute(
            "SELECT entity_id, seq, \"offset\" FROM events WHERE event_id = ? LIMIT 1",
            [event_id]).fetchall()[0]
    return EventKey(entity, seq, offset).to_param()


def test_explore_with_a_hostile_event_open(app_env: Path) -> None:
    at = _open("pages/explore_page.py")
    assert_inert(at, "explore")
    at = _open("pages/explore_page.py", ev=_event_key(app_env, "ev-1-" + hostile.IMAGE),
               correlation=hostile.CORRELATION)
    assert_inert(at, "explore, event open")
    assert any("order" in s.value for s in at.subheader)


@pytest.mark.parametrize("panel", ["The event", "Field blame", "Field history", "What if"])
def test_time_travel_on_the_hostile_entity(app_env: Path, panel: str) -> None:
    at = _open("pages/timetravel_page.py", entity_id=hostile.ENTITY, panel=panel)
    assert_inert(at, f"time travel, {panel}")
    # The deep payload stops the fold at its event, named; the states before it are shown.
    assert any("nested deeper than 256" in e.value for e in at.error), [e.value for e in at.error]
    assert at.json, "no state shown"


def test_time_travel_before_the_bad_events(app_env: Path) -> None:
    at = _open("pages/timetravel_page.py", entity_id=hostile.ENTITY, seq="6")
    assert_inert(at, "time travel at seq 6 (NaN, Infinity, 1e400 in the state)")
    states = [j.value for j in at.json]
    assert any('"total": "Infinity"' in s and '"min": "-Infinity"' in s for s in states), states


@pytest.mark.parametrize("page, params", [
    ("pages/asof_page.py", {}),
    ("pages/asof_page.py", {"by": "huge"}),
    ("pages/flow_page.py", {}),
    ("pages/flow_page.py", {"view": "Variants"}),
    ("pages/flow_page.py", {"view": "Chain", "correlation": hostile.CORRELATION}),
    ("pages/sql_page.py", {"sql": "SELECT event_type, entity_id, payload FROM events"}),
    ("pages/quarantine_page.py", {}),
    ("pages/quality_page.py", {}),
    ("pages/sources_page.py", {}),
    ("pages/republish_page.py", {"entity_id": hostile.ENTITY}),
    ("pages/investigations_page.py", {}),
], ids=lambda v: v if isinstance(v, str) else ",".join(v))
def test_every_other_page(app_env: Path, page: str, params: dict[str, str]) -> None:
    assert_inert(_open(page, **params), f"{page} {params}")


def test_the_hostile_investigation(app_env: Path) -> None:
    at = _open("pages/investigations_page.py")
    link = at.dataframe[0].value["open"].iloc[0]
    at = _open("pages/investigations_page.py", id=link.split("id=", 1)[1].replace("+", " "))
    assert_inert(at, "investigation")
    # Its saved what-if reopens Time travel with the hostile changes applied, inert.
    [frame] = [d.value for d in at.dataframe if "changes" in d.value.columns]
    query = parse_qs(urlsplit(frame["open"].iloc[0]).query)
    at = _open("pages/timetravel_page.py", **{k: v[0] for k, v in query.items()}, seq="3")
    assert_inert(at, "time travel with the saved what-if")
    assert at.text_input(key="wi_add_type").value == f"Hypothetical {hostile.HTML} {hostile.TICKS}"
    assert any("2 change(s)" in c.value for c in at.caption)  # before the failing event


@pytest.mark.parametrize("step", [str(n) for n in range(1, 9)])
def test_tour_steps(app_env: Path, step: str) -> None:
    assert_inert(_open("pages/tour_page.py", step=step), f"tour step {step}")
