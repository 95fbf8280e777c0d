"""A saved investigation, pure: what someone found and wants to come back to or hand over."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, urlencode

from eventlab.errors import EventLabError
from eventlab.timetravel.scenario import Scenario, from_dict


class InvestigationError(EventLabError):
    """An investigation cannot be saved or found."""


@dataclass(frozen=True)
class Investigation:
    """Filters (Explore's query string), entities and a position, bookmarked events, the kinds
    of quality findings that matter, and notes; who made it and when."""

    id: str
    name: str
    author: str
    created_at: datetime
    updated_at: datetime
    notes: str = ""
    filters: str = ""
    """Explore's query string, as its URL has it (`types=OrderPlaced&dup=1`)."""
    entities: tuple[str, ...] = ()
    position: dict[str, str] = field(default_factory=dict)
    """Time travel's query parameters (`entity_id`, `seq`)."""
    bookmarks: tuple[str, ...] = ()
    """Event ids."""
    findings: tuple[str, ...] = ()
    """Quality finding kinds (`duplicate_event_id`, ...)."""
    invariants: tuple[str, ...] = ()
    """Names of invariants (`eventlab.invariants`) whose findings go into the bundle."""
    scenarios: tuple[Scenario, ...] = ()
    """Saved what-if scenarios (`eventlab.timetravel.scenario`), replayed into the bundle."""

    def doc(self) -> dict[str, Any]:
        """The editable part, as stored in the `doc` JSON column."""
        return {"notes": self.notes, "filters": self.filters, "entities": list(self.entities),
                "position": dict(self.position), "bookmarks": list(self.bookmarks),
                "findings": list(self.findings), "invariants": list(self.invariants),
                "scenarios": [s.to_dict() for s in self.scenarios]}

    def filter_params(self) -> dict[str, list[str]]:
        """The filters as parsed query parameters (for `explore.filters.from_params`)."""
        return parse_qs(self.filters.lstrip("?"), keep_blank_values=False)

    def explore_params(self) -> dict[str, list[str] | str]:
        """Query parameters that open Explore on these filters."""
        return dict(self.filter_params())

    def with_doc(self, doc: dict[str, Any], now: datetime) -> Investigation:
        """A copy with the editable fields from `doc` (unknown keys ignored)."""
        return replace(self, notes=str(doc.get("notes", self.notes)),
                       filters=clean_query(str(doc.get("filters", self.filters))),
                       entities=_strings(doc.get("entities", self.entities)),
                       position={k: str(v) for k, v in (doc.get("position") or {}).items()},
                       bookmarks=_strings(doc.get("bookmarks", self.bookmarks)),
                       findings=_strings(doc.get("findings", self.findings)),
                       invariants=_strings(doc.get("invariants", self.invariants)),
                       scenarios=_scenarios(doc.get("scenarios", self.scenarios)),
                       updated_at=now)

    def with_scenario(self, scenario: Scenario, now: datetime) -> Investigation:
        """A copy holding `scenario` (one with the same id is replaced, not doubled)."""
        kept = tuple(s for s in self.scenarios if s.id != scenario.id)
        return replace(self, scenarios=(*kept, scenario), updated_at=now)

    def scenario(self, scenario_id: str) -> Scenario:
        """The saved scenario with this id; `InvestigationError` when there is none."""
        for s in self.scenarios:
            if s.id == scenario_id:
                return s
        raise InvestigationError(f"investigation {self.id!r} has no what-if scenario "
                                 f"{scenario_id!r}")

    def to_dict(self) -> dict[str, Any]:
        """Everything, for `--json` and the bundle."""
        return {"id": self.id, "name": self.name, "author": self.author,
                "created_at": self.created_at.isoformat(),
                "updated_at": self.updated_at.isoformat(), **self.doc()}


def _strings(values: Any) -> tuple[str, ...]:
    items = values.split(",") if isinstance(values, str) else list(values or ())
    return tuple(dict.fromkeys(s for s in (str(v).strip() for v in items) if s))


def _scenarios(values: Any) -> tuple[Scenario, ...]:
    """Scenarios from the doc (objects already, or their dicts); entries that are not one
    (a hand-edited doc) are left out, the investigation still opens."""
    out = [v if isinstance(v, Scenario) else from_dict(v) for v in (values or ())]
    return tuple({s.id: s for s in out if s is not None}.values())


def clean_query(text: str) -> str:
    """A query string as pasted (a whole Explore URL, or `?a=b&c=d`): just `a=b&c=d`."""
    text = text.strip()
    if "?" in text:
        text = text.split("?", 1)[1]
    parsed = parse_qs(text, keep_blank_values=False)
    parsed.pop("ev", None)
    parsed.pop("page", None)
    return urlencode(parsed, doseq=True)


def new_id(name: str) -> str:
    """A readable, unique id: `dup-in-orders-3f2a9c`."""
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:40] or "investigation"
    return f"{slug}-{uuid.uuid4().hex[:6]}"


def new(name: str, author: str, now: datetime) -> Investigation:
    """A fresh investigation (nothing in it yet)."""
    name, author = name.strip(), author.strip()
    if not name:
        raise InvestigationError("give the investigation a name")
    return Investigation(new_id(name), name, author or "unknown", now, now)
