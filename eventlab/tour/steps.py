"""The tour's steps as frozen records, read from `steps.toml`, and filled with examples from
the live store (`lookups`)."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from eventlab.errors import EventLabError
from eventlab.store import db
from eventlab.tour.lookups import LOOKUPS

STEPS_FILE = Path(__file__).with_name("steps.toml")
CHARTS: tuple[str, ...] = ("counts_over_time",)
"""Charts a step may embed (drawn by the page from the store)."""
_SLOT = re.compile(r"\{(\w+)\}")
BROKERS = ("kafka", "rabbitmq")
"""A step may say something else per broker: a `[step.rabbitmq]` table replaces its text and
link parameters when the app is connected to RabbitMQ."""


def broker_in(env: Mapping[str, str]) -> str:
    """The broker the tour speaks of: RabbitMQ when only RabbitMQ is configured (any
    EVENTLAB_RABBITMQ_* set, no EVENTLAB_KAFKA_BOOTSTRAP), else Kafka."""
    from eventlab.rabbitmq.config import ENV_VARS

    if env.get("EVENTLAB_KAFKA_BOOTSTRAP") or not any(env.get(n) for n in ENV_VARS):
        return "kafka"
    return "rabbitmq"


class TourError(EventLabError):
    """The steps file is not a valid tour."""


@dataclass(frozen=True)
class Step:
    """One step: what to open (page url path + query parameters) and what to look at."""

    title: str
    concept: str
    page: str
    text: str
    params: dict[str, str] = field(default_factory=dict)
    chart: str | None = None

    def slots(self) -> set[str]:
        """The lookups this step needs."""
        found = set(_SLOT.findall(self.text))
        for value in self.params.values():
            found |= set(_SLOT.findall(value))
        return found


def load_steps(path: Path = STEPS_FILE, broker: str = "kafka") -> tuple[Step, ...]:
    """Parse and check the steps file (unknown lookups and charts are errors); a step's
    `[step.<broker>]` table, when there is one, gives its text and parameters."""
    if broker not in BROKERS:
        raise TourError(f"tour broker {broker!r} is not one of {BROKERS}")
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise TourError(f"tour steps {path}: {exc}") from exc
    steps = []
    for n, raw in enumerate(doc.get("step", []), 1):
        raw = {**raw, **raw.get(broker, {})} if broker != "kafka" else raw
        try:
            step = Step(title=raw["title"], concept=raw["concept"], page=raw["page"],
                        text=raw["text"].strip(),
                        params={k: str(v) for k, v in raw.get("params", {}).items()},
                        chart=raw.get("chart"))
        except KeyError as exc:
            raise TourError(f"tour step {n} in {path} has no {exc.args[0]!r}") from exc
        unknown = step.slots() - set(LOOKUPS)
        if unknown:
            raise TourError(f"tour step {n} uses unknown lookups {sorted(unknown)}")
        if step.chart is not None and step.chart not in CHARTS:
            raise TourError(f"tour step {n}: chart {step.chart!r} is not one of {CHARTS}")
        steps.append(step)
    if not steps:
        raise TourError(f"tour steps {path}: no [[step]] entries")
    return tuple(steps)


@dataclass(frozen=True)
class Filled:
    """A step with its examples filled in; `missing` names lookups the store had no answer
    for (the page then says so instead of linking to an empty view)."""

    step: Step
    text: str
    params: dict[str, str]
    missing: tuple[str, ...]


def fill(con: db.Connection, step: Step,
         escape: Callable[[str], str] = lambda text: text) -> Filled:
    """Run the step's lookups on the store and put their answers in its text and link.

    The answers are data: `escape` turns each into what the step's text format needs (the
    page passes its Markdown escape helper); link parameters get them as they are."""
    values = {name: LOOKUPS[name](con) for name in sorted(step.slots())}
    missing = tuple(n for n, v in values.items() if v is None)

    def sub(text: str, esc: Callable[[str], str]) -> str:
        return _SLOT.sub(lambda m: esc(values[m.group(1)]) if values.get(m.group(1))
                         else f"({m.group(1)}: none here)", text)

    return Filled(step, sub(step.text, escape),
                  {k: sub(v, lambda x: x) for k, v in step.params.items()}, missing)
