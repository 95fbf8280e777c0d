'''Declarative reducer: what each event type does to the state, written in a TOML file.

A teacher can describe how an entity is rebuilt without writing code. Example `orders.toml`:

    description = "Orders in the shop demo"
    unknown = "merge"     # event types without rules: "merge" (default) or "ignore"

    [initial]             # optional: the state a new entity starts from (default: empty)
    status = "new"
    items = []

    [events.OrderPlaced]
    set = [
      { path = "status", value = "placed" },            # a fixed value
      { path = "customer.id", from = "customer_id" },   # a value from the event's payload
      { path = "placed_at", from_event = "ts" },        # a field of the event itself
    ]

    [events.ItemAdded]
    append = { path = "items", from = "item" }
    inc = [
      { path = "total", from = "item.price" },
      { path = "item_count" },                          # by 1
    ]

    [events.ItemRemoved]
    remove = { path = "items", from = "sku", match = "sku" }
    dec = [{ path = "total", from = "price" }, { path = "item_count", by = 1 }]

    [events.AddressChanged]
    merge = { path = "address", from = "address" }

    [events.CouponRemoved]
    unset = ["coupon", "discount.code"]

    [events.OrderViewed]  # known, and changes nothing

    [events."com.shop.order.deleted"]  # quote event types that contain dots
    delete = true

Top level: `description` (text), `unknown`, `[initial]`, and one `[events.<EventType>]` table
per event type. Event type names are matched exactly.

Operations (each takes one `{ ... }` table, or a list `[{ ... }, { ... }]` of them):

- `set = { path, <value> }`: put the value at `path`, creating missing objects on the way.
- `unset = ["a", "b.c"]` (or `{ path }`): remove the key at each path (nothing if absent).
- `inc` / `dec = { path, by | from }`: add to / subtract from the number at `path` (a missing
  number counts as 0); the amount is `by = 5`, or `from` a payload path; default 1.
- `append = { path, <value> }`: add the value at the end of the list at `path` (a missing list
  is created).
- `remove = { path, <value>, match, all }`: remove the first element of the list at `path` that
  equals the value; `match = "sku"` compares each element's `sku` with it instead; `all = true`
  removes every match.
- `merge = { path, <value> }`: merge an object into the object at `path` like the default
  reducer does (keys set to null are removed, nested objects merge). Without `path`: into the
  whole state; without a value: the whole payload, so `merge = true` merges the payload into
  the state.
- `delete = true`: the entity no longer exists (its state becomes None); alone in its table.

A value (`<value>` above) is given by exactly one of:
- `value = ...` a fixed value (text, number, true/false, list, table);
- `from = "total_amount"` a path in the event's payload;
- `from_event = "ts"` a field of the event: event_id, event_type, event_version, entity_id,
  entity_type, seq, ts, kafka_ts (times as ISO text), offset, is_delete, or `metadata.<path>`.
For `inc`/`dec` use `by = 5` instead of `value`. With `from`/`from_event`, `default = ...` is
used when the payload has no such path; without a default the operation is skipped then.

Paths are dotted: `address.city` is the key `city` inside the object `address`. Payload paths
may step into lists by position: `items.0.sku`. Keys that contain dots cannot be addressed.

How a rule runs: a delete (a Kafka tombstone, or an event flagged `is_delete`) always makes the
state None. Otherwise, when the state is None (a new or deleted entity) it starts from
`[initial]`, then the operations of the event's table run in this fixed order: merge, set,
unset, inc, dec, append, remove. An event type with no table is handled by `unknown`: "merge"
merges its payload into the state like the default reducer, "ignore" leaves the state as it
is; either way its type is recorded in `RulesReducer.unhandled_types`, so the page can show
which event types the rules do not cover (`unhandled_in(types)` tells without replaying).

Mistakes in the file are reported all at once in a `RulesError` naming the place of each
(`[events.OrderPaid] set #2: ...`). At replay, a value of the wrong type (`inc` on a text,
`append` to a number) raises `ReducerError`, which the fold reports with the event.
'''

from __future__ import annotations

import difflib
import tomllib
from collections.abc import Iterable, Mapping
from datetime import date, datetime, time
from pathlib import Path as FilePath
from typing import Any

from eventlab.errors import ReducerError
from eventlab.replay.event import Event
from eventlab.replay.jsonvalue import MISSING, parse_path
from eventlab.replay.merge import merge_reducer
from eventlab.replay.reducer import Reducer, State
from eventlab.replay.ruleops import EVENT_FIELDS, Op, Source

OPERATIONS: tuple[str, ...] = ("merge", "set", "unset", "inc", "dec", "append", "remove")
"""The operations, in the order they run within one event."""
TOP_KEYS: tuple[str, ...] = ("description", "unknown", "initial", "events")
UNKNOWN_CHOICES: tuple[str, ...] = ("merge", "ignore")

_VALUE_KEYS = ("value", "from", "from_event")
_OPERAND_KEYS = {"path", "value", "from", "from_event", "by", "default", "match", "all"}
_ALLOWED: dict[str, set[str]] = {
    "set": {"path", "value", "from", "from_event", "default"},
    "unset": {"path"},
    "inc": {"path", "by", "from", "from_event", "default"},
    "dec": {"path", "by", "from", "from_event", "default"},
    "append": {"path", "value", "from", "from_event", "default"},
    "remove": {"path", "value", "from", "from_event", "default", "match", "all"},
    "merge": {"path", "value", "from", "from_event", "default"},
}


class RulesError(ReducerError):
    """A rules file is not valid; `.problems` lists every mistake found."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = problems
        count = f"{len(problems)} problems" if len(problems) > 1 else "a problem"
        super().__init__(f"{count} in the rules {source}:\n- " + "\n- ".join(problems))


class RulesReducer(Reducer):
    """Applies the rules of a validated rules document (build with `load_rules` / `from_*`)."""

    def __init__(
        self,
        rules: dict[str, tuple[Op, ...] | None],
        *,
        unknown: str = "merge",
        initial: dict[str, Any] | None = None,
        description: str = "",
        name: str = "rules",
    ) -> None:
        self.rules = rules  # event type -> operations in run order; None means delete
        self.unknown = unknown
        self.initial: dict[str, Any] = initial or {}
        self.description = description
        self.name = name
        self.unhandled_types: set[str] = set()

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any], *, source: str = "<rules>") -> RulesReducer:
        """Validate a parsed rules document; raises `RulesError` listing every mistake."""
        return _compile(doc, source)

    @classmethod
    def from_toml(cls, text: str, *, source: str = "<rules>") -> RulesReducer:
        """Parse and validate rules written in TOML."""
        try:
            doc = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise RulesError(source, [f"not valid TOML: {exc}"]) from exc
        return _compile(doc, source)

    @property
    def handled_types(self) -> frozenset[str]:
        """The event types that have a table in the rules."""
        return frozenset(self.rules)

    def unhandled_in(self, event_types: Iterable[str]) -> list[str]:
        """Which of these event types have no rules (sorted), without replaying anything."""
        return sorted(set(event_types) - self.rules.keys())

    def apply(self, state: State, event: Event) -> State:
        if event.is_delete:
            return None
        ops = self.rules.get(event.event_type, MISSING)
        if ops is MISSING:
            self.unhandled_types.add(event.event_type)
            if self.unknown == "ignore":
                return state
            return merge_reducer(self.initial if state is None else state, event)
        if ops is None:
            return None
        if state is None:
            state = self.initial
        for op in ops:
            state = op.run(state, event)
        return state


def load_rules(path: str | FilePath) -> RulesReducer:
    """Read and validate a rules TOML file (the only I/O of this module)."""
    file = FilePath(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise RulesError(file.name, [f"cannot read {file}: {exc.strerror or exc}"]) from exc
    reducer = RulesReducer.from_toml(text, source=file.name)
    reducer.name = file.stem
    return reducer


def _compile(doc: Mapping[str, Any], source: str) -> RulesReducer:
    if not isinstance(doc, Mapping):
        raise RulesError(source, [f"expected a table of settings and events, not {doc!r}"])
    problems: list[str] = []
    for key in doc:
        if key not in TOP_KEYS:
            problems.append(f"unknown top-level key {key!r}{_hint(key, TOP_KEYS)}")
    unknown = doc.get("unknown", "merge")
    if unknown not in UNKNOWN_CHOICES:
        problems.append(f"unknown = {unknown!r}: use \"merge\" or \"ignore\"")
    description = doc.get("description", "")
    if not isinstance(description, str):
        problems.append("description must be text")
    initial = doc.get("initial", {})
    if not isinstance(initial, dict):
        problems.append("initial must be a table, e.g. [initial] then key = value lines")
        initial = {}
    events = doc.get("events", {})
    if not isinstance(events, dict):
        problems.append("events must be tables: [events.OrderPlaced]")
        events = {}
    rules: dict[str, tuple[Op, ...] | None] = {}
    for event_type, table in events.items():
        rules[event_type] = _compile_event(str(event_type), table, problems)
    if problems:
        raise RulesError(source, problems)
    return RulesReducer(
        rules, unknown=unknown, initial=_jsonify(initial), description=description
    )


def _compile_event(event_type: str, table: Any, problems: list[str]) -> tuple[Op, ...] | None:
    where = f"[events.{_quote(event_type)}]"
    if not isinstance(table, dict):
        problems.append(f"{where} must be a table of operations, not {table!r}")
        return ()
    for key, value in table.items():
        if key in OPERATIONS or key == "delete":
            continue
        if isinstance(value, dict) and not value.keys() & _OPERAND_KEYS:
            problems.append(
                f"{where}: unknown key {key!r}; if the event type contains dots, quote it: "
                f'[events."{_dotted_type(event_type, key, value)}"]'
            )
        else:
            hint = _hint(key, (*OPERATIONS, "delete"))
            problems.append(f"{where}: unknown operation {key!r}{hint}")
    delete = table.get("delete", False)
    if not isinstance(delete, bool):
        problems.append(f"{where}: delete must be true or false")
    elif delete:
        if any(op in table for op in OPERATIONS):
            problems.append(f"{where}: delete = true cannot be combined with other operations")
        return None
    ops: list[Op] = []
    for kind in OPERATIONS:
        if kind not in table:
            continue
        entries = table[kind]
        if kind == "merge" and entries is True:
            entries = [{}]
        if not isinstance(entries, list):
            entries = [entries]
        for number, entry in enumerate(entries, start=1):
            label = f"{where} {kind}" + (f" #{number}" if len(entries) > 1 else "")
            op = _compile_op(kind, entry, label, problems)
            if op is not None:
                ops.append(op)
    return tuple(ops)


def _compile_op(kind: str, entry: Any, where: str, problems: list[str]) -> Op | None:
    if kind == "unset" and isinstance(entry, str):
        entry = {"path": entry}
    if not isinstance(entry, dict):
        problems.append(f'{where}: expected a table like {{ path = "status", ... }}, not {entry!r}')
        return None
    start = len(problems)
    for key in entry:
        if key not in _ALLOWED[kind]:
            problems.append(f"{where}: unknown key {key!r}{_hint(key, sorted(_ALLOWED[kind]))}")
    path = _path(entry.get("path", MISSING), where, "path", problems, allow_root=kind == "merge")
    source = _source(kind, entry, where, problems)
    match = None
    if "match" in entry:
        match = _path(entry["match"], where, "match", problems)
    every = entry.get("all", False)
    if not isinstance(every, bool):
        problems.append(f"{where}: all must be true or false")
    if len(problems) > start or path is None:
        return None
    return Op(kind, path, where, source, match, bool(every))


def _source(kind: str, entry: dict[str, Any], where: str, problems: list[str]) -> Source | None:
    """Where the operation's value comes from; None for `unset` and a plain `inc`/`dec`."""
    if kind == "unset":
        return None
    given = [key for key in (*_VALUE_KEYS, "by") if key in entry]
    if len(given) > 1:
        problems.append(f"{where}: give only one of {' / '.join(given)}")
        return None
    if "default" in entry and not any(key in entry for key in ("from", "from_event")):
        problems.append(f"{where}: default only goes with from or from_event")
    default = _jsonify(entry["default"]) if "default" in entry else MISSING
    if not given:
        if kind in ("inc", "dec"):
            return None
        if kind == "merge":
            return Source("whole")
        problems.append(f"{where}: say what value to use: value = ..., from = \"payload.path\" "
                        "or from_event = \"ts\"")
        return None
    key = given[0]
    if key in ("value", "by"):
        value = entry[key]
        if key == "by" and (not isinstance(value, (int, float)) or isinstance(value, bool)):
            problems.append(f"{where}: by must be a number, not {value!r}")
        return Source("value", literal=_jsonify(value))
    path = _path(entry[key], where, key, problems)
    if path is None:
        return None
    nested = len(path) > 1 and path[0] != "metadata"
    if key == "from_event" and (path[0] not in EVENT_FIELDS or nested):
        problems.append(
            f"{where}: from_event = {entry[key]!r} is not an event field; use one of "
            f"{', '.join(EVENT_FIELDS)} (or metadata.<path>)"
        )
        return None
    return Source("payload" if key == "from" else "event", path=path, default=default)


def _path(
    raw: Any, where: str, key: str, problems: list[str], *, allow_root: bool = False
) -> tuple[str, ...] | None:
    if raw is MISSING or raw == "":
        if allow_root:
            return ()
        problems.append(f"{where}: {key} is missing (a dotted path like \"address.city\")")
        return None
    if not isinstance(raw, str):
        problems.append(f"{where}: {key} must be text like \"address.city\", not {raw!r}")
        return None
    try:
        return tuple(str(part) for part in parse_path(raw))
    except ValueError as exc:
        problems.append(f"{where}: {key}: {exc}")
        return None


def _jsonify(value: Any) -> Any:
    """TOML dates and times become ISO text, so states stay JSON-like."""
    if isinstance(value, dict):
        return {k: _jsonify(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonify(v) for v in value]
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    return value


def _hint(word: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1)
    return f" (did you mean {close[0]!r}?)" if close else f" (use one of: {', '.join(choices)})"


def _dotted_type(event_type: str, key: str, table: dict[str, Any]) -> str:
    """The event type a teacher meant by `[events.a.b.c]` (TOML read it as nested tables)."""
    parts = [event_type, key]
    while len(table) == 1 and not table.keys() & {*OPERATIONS, "delete"}:
        ((inner_key, inner),) = table.items()
        if not isinstance(inner, dict):
            break
        parts.append(inner_key)
        table = inner
    return ".".join(parts)


def _quote(event_type: str) -> str:
    return f'"{event_type}"' if "." in event_type or " " in event_type else event_type
