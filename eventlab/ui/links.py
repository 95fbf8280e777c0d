"""The one list of pages and every cross-page link, built from typed targets.

app.py declares its navigation from `PAGES`, the Tour opens `page(...).file`, the tests read
`url_paths()`; a link to another page is `explore(filters)`, `time_travel(copy)`,
`flow_chain(correlation)` and so on, as a `Link` (page file + query parameters for
`st.page_link`) or as a relative URL (`.url`) for a LinkColumn. Capabilities return targets
(Filters, entity positions), never URLs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import PurePath
from urllib.parse import urlencode

from eventlab.explore.filters import Filters
from eventlab.timeutil import as_utc


@dataclass(frozen=True)
class PageSpec:
    """One page of the app: its key, title, file, URL path and icon."""

    key: str
    title: str
    file: str
    url_path: str
    icon: str


PAGES: tuple[PageSpec, ...] = (
    PageSpec("explore", "Explore", "pages/explore_page.py", "explore", ":material/search:"),
    PageSpec("timetravel", "Time travel", "pages/timetravel_page.py", "time-travel",
             ":material/history:"),
    PageSpec("asof", "As of", "pages/asof_page.py", "as-of", ":material/calendar_month:"),
    PageSpec("flow", "Flow", "pages/flow_page.py", "flow", ":material/account_tree:"),
    PageSpec("sql", "SQL console", "pages/sql_page.py", "sql", ":material/terminal:"),
    PageSpec("quarantine", "Quarantine", "pages/quarantine_page.py", "quarantine",
             ":material/report:"),
    PageSpec("quality", "Quality", "pages/quality_page.py", "quality", ":material/fact_check:"),
    PageSpec("divergence", "Divergence", "pages/diverge_page.py", "divergence",
             ":material/difference:"),
    PageSpec("sources", "Sources", "pages/sources_page.py", "sources", ":material/cable:"),
    PageSpec("consumers", "Consumers", "pages/consumers_page.py", "consumers",
             ":material/speed:"),
    PageSpec("republish", "Republish", "pages/republish_page.py", "republish",
             ":material/replay:"),
    PageSpec("investigations", "Investigations", "pages/investigations_page.py",
             "investigations", ":material/folder_open:"),
    PageSpec("tour", "Tour", "pages/tour_page.py", "tour", ":material/school:"),
)
_BY_KEY = {p.key: p for p in PAGES}
_BY_PATH = {p.url_path: p for p in PAGES}


def page(key_or_path: str) -> PageSpec:
    """The page of a key (`timetravel`) or a url path (`time-travel`); KeyError otherwise."""
    found = _BY_KEY.get(key_or_path) or _BY_PATH.get(key_or_path)
    if found is None:
        raise KeyError(f"no page {key_or_path!r}: one of {', '.join(_BY_PATH)}")
    return found


def url_paths() -> list[str]:
    """Every page's URL path, in navigation order."""
    return [p.url_path for p in PAGES]


@dataclass(frozen=True)
class Link:
    """A page and its query parameters: `st.page_link(link.file, query_params=link.params)`
    or, as a relative URL for a table's LinkColumn, `link.url`."""

    spec: PageSpec
    params: Mapping[str, str | list[str]] = field(default_factory=dict)

    @property
    def file(self) -> str:
        return self.spec.file

    @property
    def query(self) -> dict[str, str | list[str]]:
        """The parameters for `st.page_link` / `st.switch_page`."""
        return dict(self.params)

    @property
    def url(self) -> str:
        """`./path?query` (relative to the app's root, as Streamlit serves pages)."""
        query = urlencode(self.params, doseq=True)
        return f"./{self.spec.url_path}" + (f"?{query}" if query else "")


@dataclass(frozen=True)
class EventCopy:
    """One stored copy of an event: its entity and seq, and where it came from (source,
    topic, partition, offset), so a link opens this copy and not another with the same seq."""

    entity_id: str
    seq: int
    offset: int | None = None
    source: str | None = None
    topic: str | None = None
    partition: int | None = None

    def params(self) -> dict[str, str]:
        """`entity_id`, `seq` and the source position that tells the copies apart."""
        out = {"entity_id": self.entity_id, "seq": str(self.seq)}
        if self.offset is not None:
            out["offset"] = str(self.offset)
        if self.source:
            out["source"] = self.source
        if self.topic:
            out["topic"] = self.topic
        if self.partition is not None:
            out["partition"] = str(self.partition)
        return out


def explore(filters: Filters | Mapping[str, str | list[str]] | None = None) -> Link:
    """Explore with these filters (Filters, or their parameters from a capability)."""
    params = filters.to_params() if isinstance(filters, Filters) else dict(filters or {})
    return Link(page("explore"), params)


def explore_event(event_id: str) -> Link:
    """Explore showing every stored copy of one event id."""
    return explore(Filters(event_id=event_id))


def time_travel(entity_id: str, seq: int | None = None, at: datetime | None = None,
                copy: EventCopy | None = None) -> Link:
    """Time travel on an entity: at one event copy, at a seq, at a time, or at its end."""
    if copy is not None:
        return Link(page("timetravel"), copy.params())
    params = {"entity_id": entity_id}
    if seq is not None:
        params["seq"] = str(seq)
    if at is not None:
        params["at"] = as_utc(at).isoformat()
    return Link(page("timetravel"), params)


SCENARIO = "scenario"
"""Time travel's parameters for a saved what-if: `scenario` (its id) and `inv` (the
investigation that holds it)."""
SCENARIO_INV = "inv"


def time_travel_scenario(inv_id: str, scenario_id: str, entity_id: str,
                         reducer: Mapping[str, object] | None = None) -> Link:
    """Time travel on the What if tab with a saved scenario applied (loaded from the
    investigation by id; its reducer chosen when the link says which)."""
    params: dict[str, str | list[str]] = {"entity_id": entity_id, "panel": "What if",
                                          SCENARIO_INV: inv_id, SCENARIO: scenario_id}
    reducer = reducer or {}
    kind, path = str(reducer.get("kind") or "merge"), reducer.get("path")
    if kind != "merge" and path:
        params["reducer"] = f"{kind}: {PurePath(str(path)).name}"
    deletes = reducer.get("delete_types")
    if kind == "merge" and isinstance(deletes, list | tuple) and deletes:
        params["deletes"] = [str(d) for d in deletes]
    return Link(page("timetravel"), params)


def flow_chain(correlation: str) -> Link:
    """Flow's chain view of a correlation id."""
    return Link(page("flow"), {"view": "Chain", "correlation": correlation})


def republish(entity_id: str | None = None, from_seq: int | None = None,
              to_seq: int | None = None, dlq: str | None = None) -> Link:
    """Republish with a selection: an entity's events (optionally a seq range) or a dead
    letter topic; with neither, the selection kept in the session."""
    params: dict[str, str] = {}
    if entity_id:
        params["entity_id"] = entity_id
        params.update({k: str(v) for k, v in (("from_seq", from_seq), ("to_seq", to_seq))
                       if v is not None})
    elif dlq:
        params["dlq"] = dlq
    return Link(page("republish"), params)


def divergence(readmodel: str | None = None, id_column: str | None = None) -> Link:
    """Divergence on a read model file (a path below the data folders) and its id column."""
    params = {k: v for k, v in (("readmodel", readmodel), ("id_column", id_column)) if v}
    return Link(page("divergence"), params)


PRODUCE_FROM = "produce_from"
"""The Sources page's parameter: a stored event id to prefill the Produce tab with."""


def produce_copy(event_id: str) -> Link:
    """Sources with the Produce tab prefilled from a stored event (a corrected copy)."""
    return Link(page("sources"), {PRODUCE_FROM: event_id})


def investigation(inv_id: str | None = None) -> Link:
    """Investigations, opened on one investigation (or the list)."""
    return Link(page("investigations"), {"id": inv_id} if inv_id else {})


def to(key: str, params: Mapping[str, str | list[str]] | None = None) -> Link:
    """Any page by key or url path, with optional parameters (Tour steps, plain links)."""
    return Link(page(key), dict(params or {}))
