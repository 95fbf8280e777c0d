"""The export formats EventLab reads, and the format a file's name suggests. Imports nothing
heavy: the CLI offers these choices before any reader loads."""

from __future__ import annotations

from pathlib import Path

FORMATS: tuple[str, ...] = ("parquet", "jsonl", "csv")
EXTENSIONS: dict[str, str] = {".parquet": "parquet", ".pq": "parquet", ".jsonl": "jsonl",
                              ".ndjson": "jsonl", ".json": "jsonl", ".csv": "csv"}


def guess_format(path: str) -> str | None:
    """The format a file name suggests, or None. A `.gz` name tells by the name before it
    (`x.jsonl.gz`, `x.csv.gz`); JSON files are read gzip or not."""
    p = Path(path)
    if p.suffix.lower() == ".gz":
        p = Path(p.stem)
    return EXTENSIONS.get(p.suffix.lower())


DUPLICATES: tuple[str, ...] = ("skip", "copy")
"""What a load does with rows whose event id is already stored from another source position
(an export loaded back): skip them (the default), or load them as copies."""
