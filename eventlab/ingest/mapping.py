"""Mappings: where each canonical field lives in a raw record. Pure code, no I/O but TOML reads.

A mapping names, for each canonical field, a column (a top-level key for JSON documents),
optionally a JSON path inside it, or a literal. Presets resolve against the columns an input
actually has:

- `cloudevents`: `id`, `source`, `type`, `subject`, `time`, `data`; every other attribute
  (extensions, `specversion`, `datacontenttype`, ...) goes into metadata.
- `envelope`: `{id|event_id|eventId, type|event_type|eventType,
  aggregateId|aggregate_id|entity_id|streamId, timestamp|time|occurred_at|ts, version,
  data|payload, metadata, is_delete}`. `version` is the stream position (seq); the schema
  version is `schemaVersion|schema_version|event_version`. EventLab's own exports
  (`eventlab export`) are envelopes too: they load back as the same events.
- `flat`: one column per canonical field; payload = every column not mapped to a field.
- `auto`: picks one of the above from the columns present.

A TOML mapping file sets any field and may start from a preset:

    preset = "envelope"              # optional; default "auto"
    [fields]
    entity_id = "aggregateId"         # a column
    ts = "meta.occurred"              # a column, then a JSON path inside it
    entity_type = { literal = "order" }
    event_version = { column = "data", path = "$.schema" }

Kafka records also offer their key, record timestamp and headers (text):

    entity_id = { kafka = "key" }            # or "timestamp"
    event_type = { header = "ce_type" }
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eventlab.errors import MappingError

FIELDS: tuple[str, ...] = (
    "event_id", "entity_type", "entity_id", "event_type", "event_version", "seq", "ts",
    "payload", "metadata", "is_delete",
)
REQUIRED: tuple[str, ...] = ("entity_id", "event_type", "ts")
PRESETS: tuple[str, ...] = ("auto", "cloudevents", "envelope", "flat")
ENVELOPE_PRESETS: tuple[str, ...] = ("sns", "sqs")
"""Presets for archived SNS notifications / SQS messages (JSON files only): the event inside
is mapped with `auto` (`ingest.sns_envelope`)."""
FILE_PRESETS: tuple[str, ...] = (*PRESETS, *ENVELOPE_PRESETS)
"""What file ingest offers."""

_ENVELOPE: dict[str, tuple[str, ...]] = {
    "event_id": ("id", "event_id", "eventId"),
    "event_type": ("type", "event_type", "eventType"),
    "entity_id": ("aggregateId", "aggregate_id", "entity_id", "entityId", "streamId",
                  "stream_id"),
    "entity_type": ("aggregateType", "aggregate_type", "entity_type", "entityType",
                    "streamType", "stream_type"),
    "ts": ("timestamp", "time", "occurred_at", "occurredAt", "ts"),
    "seq": ("version", "seq", "sequence", "stream_version", "streamVersion"),
    "event_version": ("schemaVersion", "schema_version", "event_version", "eventVersion"),
    "payload": ("data", "payload"),
    "metadata": ("metadata", "meta"),
    "is_delete": ("is_delete",),
}
"""`ts` and `is_delete` make EventLab's own exports (`eventlab export`) load back as they were."""
_FLAT: dict[str, tuple[str, ...]] = {
    "event_id": ("event_id", "eventId", "id"),
    "event_type": ("event_type", "eventType", "type", "event"),
    "entity_id": ("entity_id", "entityId", "aggregate_id", "aggregateId", "stream_id",
                  "streamId"),
    "entity_type": ("entity_type", "entityType", "aggregate_type", "aggregateType"),
    "ts": ("ts", "timestamp", "event_time", "time", "occurred_at", "created_at"),
    "seq": ("seq", "sequence", "version", "stream_version"),
    "event_version": ("event_version", "schema_version", "schemaVersion"),
    "metadata": ("metadata", "meta"),
    "is_delete": ("is_delete", "deleted"),
}
_FLAT_METADATA = ("correlation_id", "causation_id", "actor", "correlationId", "causationId")
_CE_CORE = {"id": "event_id", "type": "event_type", "subject": "entity_id", "time": "ts",
            "data": "payload"}
_CE_FIELDS_FROM_EXT = {"entitytype": "entity_type", "sequence": "seq",
                       "eventversion": "event_version", "schemaversion": "event_version"}
HEADER_PREFIX = "@header:"
_PATH_RE = re.compile(r"^\$(\.[A-Za-z_][\w-]*|\[\d+\])*$")


@dataclass(frozen=True)
class FieldRef:
    """Where one canonical field comes from: a column (+ JSON path), or a literal."""

    column: str | None = None
    path: str | None = None
    literal: Any = None

    def to_dict(self) -> dict[str, Any]:
        """Plain form for JSON output and TOML round trips."""
        if self.column is None:
            return {"literal": self.literal}
        out: dict[str, Any] = {"column": self.column}
        if self.path:
            out["path"] = self.path
        return out


@dataclass(frozen=True)
class Mapping:
    """A resolved mapping: every canonical field it can fill, for one set of input columns."""

    preset: str
    fields: dict[str, FieldRef]
    metadata_columns: tuple[str, ...] = ()
    payload_columns: tuple[str, ...] = ()
    notes: tuple[str, ...] = field(default_factory=tuple)

    def missing_required(self) -> list[str]:
        """Required canonical fields this mapping cannot fill."""
        return [f for f in REQUIRED if f not in self.fields]

    def to_dict(self) -> dict[str, Any]:
        """The mapping as shown to users (`--json` output and the UI)."""
        out: dict[str, Any] = {
            "preset": self.preset,
            "fields": {k: v.to_dict() for k, v in self.fields.items()},
        }
        if self.metadata_columns:
            out["metadata_columns"] = list(self.metadata_columns)
        if self.payload_columns:
            out["payload_columns"] = list(self.payload_columns)
        if self.notes:
            out["notes"] = list(self.notes)
        return out


@dataclass(frozen=True)
class MappingSpec:
    """What the user asked for: a preset plus explicit field overrides (from TOML)."""

    preset: str = "auto"
    overrides: dict[str, FieldRef] = field(default_factory=dict)


def parse_ref(value: Any, where: str) -> FieldRef:
    """Turn a TOML value into a FieldRef: "col", "col.json.path", or a table."""
    if isinstance(value, str):
        if not value:
            raise MappingError(f"{where}: empty column name")
        column, _, rest = value.partition(".")
        return FieldRef(column=column, path=_check_path("$." + rest, where) if rest else None)
    if isinstance(value, dict):
        if "literal" in value:
            return FieldRef(literal=value["literal"])
        if "header" in value:
            return FieldRef(column=HEADER_PREFIX + str(value["header"]))
        if "kafka" in value:
            if value["kafka"] not in ("key", "timestamp"):
                raise MappingError(f"{where}: `kafka` is \"key\" or \"timestamp\"")
            return FieldRef(column="@" + value["kafka"])
        if "column" not in value:
            raise MappingError(f"{where}: a table needs `column` (with optional `path`) "
                               "or `literal`")
        path = value.get("path")
        if path is not None:
            if not isinstance(path, str):
                raise MappingError(f"{where}: `path` must be a string like \"$.a.b\"")
            path = _check_path(path if path.startswith("$") else "$." + path, where)
        return FieldRef(column=str(value["column"]), path=path)
    raise MappingError(f"{where}: expected a string or a table, got {type(value).__name__}")


def _check_path(path: str, where: str) -> str:
    if not _PATH_RE.match(path):
        raise MappingError(f"{where}: bad JSON path {path!r} (use $.a.b or $.a[0])")
    return path


def spec_from_dict(data: dict[str, Any], where: str = "mapping") -> MappingSpec:
    """Validate a mapping document (already parsed TOML) into a MappingSpec."""
    preset = data.get("preset", "auto")
    if preset not in PRESETS:
        raise MappingError(f"{where}: unknown preset {preset!r}; choose one of "
                           f"{', '.join(PRESETS)}")
    unknown = set(data) - {"preset", "fields"}
    if unknown:
        raise MappingError(f"{where}: unknown keys {sorted(unknown)}; use `preset` and "
                           "[fields]")
    overrides: dict[str, FieldRef] = {}
    for name, value in (data.get("fields") or {}).items():
        if name not in FIELDS:
            raise MappingError(f"{where}: unknown field {name!r}; fields are "
                               f"{', '.join(FIELDS)}")
        overrides[name] = parse_ref(value, f"{where}: fields.{name}")
    return MappingSpec(preset=preset, overrides=overrides)


def load_spec(path: str | Path) -> MappingSpec:
    """Read a TOML mapping file."""
    p = Path(path)
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise MappingError(f"Mapping file {p} does not exist.") from exc
    except tomllib.TOMLDecodeError as exc:
        raise MappingError(f"Mapping file {p} is not valid TOML: {exc}") from exc
    return spec_from_dict(data, where=str(p))


def envelope_hint(columns: list[str]) -> str | None:
    """The envelope preset the columns look like (an SNS notification, an SQS message), for
    the message of a mapping that found no event inside; never chosen by `auto`."""
    cols = set(columns)
    if {"Type", "MessageId", "TopicArn", "Message"} <= cols:
        return "sns"
    if {"MessageId", "Body"} <= cols or {"messageId", "body"} <= cols:
        return "sqs"
    return None


def detect_preset(columns: list[str]) -> str:
    """Guess the preset from the column (or top-level key) names."""
    cols = set(columns)
    if "specversion" in cols or {"id", "source", "type", "subject"} <= cols:
        return "cloudevents"
    has = {f: any(c in cols for c in names) for f, names in _ENVELOPE.items()}
    if has["payload"] and has["event_type"] and has["entity_id"]:
        return "envelope"
    return "flat"


def _first(cols: list[str], names: tuple[str, ...]) -> str | None:
    return next((n for n in names if n in cols), None)


def resolve(spec: MappingSpec, columns: list[str],
            ignore: tuple[str, ...] = ()) -> Mapping:
    """Resolve a spec against the input's columns; unknown override columns are errors.

    `ignore`d columns (internal ones, hive folder values) are never picked by a preset nor put
    in the payload, but an explicit override may still name them.
    """
    cols = [c for c in columns if c not in ignore]
    preset = detect_preset(cols) if spec.preset == "auto" else spec.preset
    fields: dict[str, FieldRef] = {}
    metadata_cols: list[str] = []
    notes: list[str] = []
    if preset == "cloudevents":
        for col, name in _CE_CORE.items():
            if col in cols:
                fields[name] = FieldRef(column=col)
        if "data" not in cols and "data_base64" in cols:
            fields["payload"] = FieldRef(column="data_base64")
        for col, name in _CE_FIELDS_FROM_EXT.items():
            if col in cols and name not in fields:
                fields[name] = FieldRef(column=col)
        used = {r.column for r in fields.values()}
        metadata_cols = [c for c in cols if c not in used]
        if "entity_type" not in fields and "source" in cols:
            notes.append("entity_type taken from the id prefix of `subject` (no "
                         "`entitytype` extension)")
    else:
        table = _ENVELOPE if preset == "envelope" else _FLAT
        for name, names in table.items():
            col = _first(cols, names)
            if col is not None and col not in {r.column for r in fields.values()}:
                fields[name] = FieldRef(column=col)
        if preset == "flat" and "metadata" not in fields:
            metadata_cols = [c for c in _FLAT_METADATA if c in cols]
    for name, ref in spec.overrides.items():
        if ref.column is not None and ref.column not in columns:
            raise MappingError(f"mapping sets {name} from column {ref.column!r}, which the "
                               f"input does not have (columns: {', '.join(cols)})")
        fields[name] = ref
    payload_cols: list[str] = []
    if "payload" not in fields:
        used = {r.column for r in fields.values() if r.column} | set(metadata_cols)
        payload_cols = [c for c in cols if c not in used]
    return Mapping(preset=preset, fields=fields, metadata_columns=tuple(metadata_cols),
                   payload_columns=tuple(payload_cols), notes=tuple(notes))
