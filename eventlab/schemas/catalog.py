"""Where a schema id is looked up, in order: this run's memory, the store's `schemas` table, the
folder (`--schemas DIR`), the registry (EVENTLAB_SCHEMA_REGISTRY_URL). Every schema fetched is
saved in `schemas` (in the ingest's own transaction), so a store decodes again with no
registry. Missing ids are remembered for the run; a registry that failed is not asked again
for `RETRY_S` seconds, so a batch never waits on it twice.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from eventlab.errors import SchemaNotFound, SchemaRegistryUnavailable
from eventlab.schemas.decoders import decoder_for
from eventlab.schemas.model import Decoder, SchemaText, SchemaUnusable
from eventlab.store import db

if TYPE_CHECKING:
    from eventlab.schemas.folder import FolderSource
    from eventlab.schemas.registry import RegistryClient
    from eventlab.store.eventstore import EventStore

RETRY_S = 30.0
REASONS = {
    SchemaNotFound: "unknown schema id",
    SchemaRegistryUnavailable: "schema registry unavailable",
    SchemaUnusable: "unusable schema",
}
"""The quarantine reason for each way a lookup fails."""

_STORED = ("SELECT id, schema_type, subject, version, text, \"references\", source "
           "FROM schemas")
"""The stored schemas as `SchemaText.from_row` takes them."""


class SchemaCatalog:
    """Schemas by id for decoding, from the sources above; thread-safe."""

    def __init__(self, store: EventStore | None = None, folder: FolderSource | None = None,
                 registry: RegistryClient | None = None,
                 schemas: Mapping[int, SchemaText] | None = None) -> None:
        self.store, self.folder, self.registry = store, folder, registry
        self._given = dict(schemas or {})
        """Schemas handed over whole (`known()` of another catalog: the Kafka reader's)."""
        self._decoders: dict[int, Decoder] = {}
        self._failed: dict[int, Exception] = {}
        self._down_until = 0.0
        self._pending: list[SchemaText] = []
        self._lock = threading.RLock()
        self.registry_error: str | None = None
        """The last registry failure of this run (for the report), None if none."""
        self.records: Counter[int] = Counter()
        """Records decoded (or tried) per schema id in this run."""

    def describe(self) -> str:
        """The sources, safe to show."""
        parts = ["the store"]
        if self.folder:
            parts.append(self.folder.describe())
        if self.registry:
            parts.append(f"the registry {self.registry.config.url}")
        return ", ".join(parts)

    def decoder(self, schema_id: int) -> Decoder:
        """The decoder for a schema id; raises SchemaNotFound, SchemaRegistryUnavailable or
        SchemaUnusable."""
        with self._lock:
            found = self._decoders.get(schema_id)
            if found is not None:
                return found
            if schema_id in self._failed:
                raise self._failed[schema_id]
            schema, from_store = self._lookup(schema_id)
            try:
                found = decoder_for(schema)
            except SchemaUnusable as exc:
                self._failed[schema_id] = exc
                raise
            self._decoders[schema_id] = found
            if not from_store:
                self._pending.append(schema)
            return found

    def add(self, schemas: Mapping[int, SchemaText]) -> None:
        """Hand over more schemas (their ids are looked up again)."""
        with self._lock:
            self._given.update(schemas)
            for schema_id in schemas:
                self._failed.pop(schema_id, None)

    def in_memory(self) -> dict[int, SchemaText]:
        """The schemas of the decoders built so far, by id."""
        with self._lock:
            return {i: d.schema for i, d in self._decoders.items()}

    def known(self) -> list[SchemaText]:
        """Every schema this catalog finds without its registry (memory, the store's
        `schemas` table, the folder), each id once, the one `decoder` would use; the ids whose
        lookup failed in this run are left out."""
        found = self.in_memory()
        with self._lock:
            failed = set(self._failed)
        found.update((i, s) for i, s in self._given.items() if i not in found)
        if self.store is not None:
            with self.store.reading() as cur:
                for row in db.rows(cur, _STORED):
                    found.setdefault(row[0], SchemaText.from_row(*row))
        if self.folder is not None:
            for schema_id in self.folder.ids():
                if schema_id not in found and schema_id not in failed:
                    found[schema_id] = self.folder.schema(schema_id)
        return [s for i, s in sorted(found.items()) if i not in failed]

    def _lookup(self, schema_id: int) -> tuple[SchemaText, bool]:
        if schema_id in self._given:
            return self._given[schema_id], True
        if self.store is not None:
            with self.store.reading() as cur:
                row = db.rows(cur, f"{_STORED} WHERE id = ?", [schema_id])
            if row:
                return SchemaText.from_row(*row[0]), True
        if self.folder is not None:
            try:
                return self.folder.schema(schema_id), False
            except SchemaNotFound:
                if self.registry is None:
                    raise self._remember(schema_id, SchemaNotFound(
                        f"schema id {schema_id} is in none of {self.describe()}")) from None
        if self.registry is None:
            raise self._remember(schema_id, SchemaNotFound(
                f"schema id {schema_id} is not in {self.describe()}, and no registry is set "
                "(EVENTLAB_SCHEMA_REGISTRY_URL) nor a folder given (--schemas DIR)"))
        if time.monotonic() < self._down_until:
            raise SchemaRegistryUnavailable(self.registry_error or "registry unavailable")
        try:
            return self.registry.schema(schema_id), False
        except SchemaNotFound as exc:
            raise self._remember(schema_id, SchemaNotFound(
                f"schema id {schema_id} is in none of {self.describe()} ({exc})")) from None
        except SchemaRegistryUnavailable as exc:
            self.registry_error = str(exc)
            self._down_until = time.monotonic() + RETRY_S
            raise

    def _remember(self, schema_id: int, exc: Exception) -> Exception:
        self._failed[schema_id] = exc
        return exc

    def save_pending(self, cur: db.Connection) -> int:
        """Write the schemas fetched since the last call into `schemas` (inside the caller's
        transaction); returns how many."""
        with self._lock:
            pending, self._pending = self._pending, []
        for s in pending:
            cur.execute(
                "INSERT OR IGNORE INTO schemas (id, schema_type, subject, version, text, "
                "\"references\", source) VALUES (?, ?, ?, ?, ?, ?, ?)",
                [s.id, s.schema_type, s.subject, s.version, s.text, s.references_json(),
                 s.source])
        return len(pending)


def reason_of(exc: Exception) -> str:
    """The quarantine reason for a failed lookup."""
    return next((r for cls, r in REASONS.items() if isinstance(exc, cls)), "unusable schema")


def build_catalog(store: EventStore | None, folder: str | None = None,
                  env: Mapping[str, str] | None = None,
                  secrets: Mapping[str, Any] | None = None) -> SchemaCatalog:
    """The catalog of a run: the store, `--schemas DIR` if given, and the registry set by
    EVENTLAB_SCHEMA_REGISTRY_* (or the `[schema_registry]` Streamlit secrets) if any."""
    from eventlab.schemas.folder import FolderSource
    from eventlab.schemas.registry import RegistryClient, RegistryConfig

    config = RegistryConfig.from_env(env, secrets)
    return SchemaCatalog(store, FolderSource(folder) if folder else None,
                         RegistryClient(config) if config else None)
