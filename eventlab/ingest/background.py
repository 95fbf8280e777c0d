"""Ingests as background jobs: Kafka topics, files on the server, and uploaded exports.

Each `start_*` function validates its input first (so mistakes raise `eventlab.errors` at the
click, not later in a thread), then hands the ingest to a `JobManager` with a progress
callback. A Kafka ingest holds its topics (a second ingest of a running topic is refused); a
file ingest holds its paths.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

from eventlab.errors import SourceError
from eventlab.ingest.broker_job import run_as_job
from eventlab.ingest.file_ingest import IngestReport, ingest_paths
from eventlab.ingest.formats import DUPLICATES, FORMATS
from eventlab.ingest.kafka_ingest import KafkaIngestReport, ingest_kafka
from eventlab.ingest.mapping import FILE_PRESETS, PRESETS, MappingSpec
from eventlab.ingest.offsets import stored_positions
from eventlab.ingest.roots import check_typed_path, data_roots
from eventlab.jobs import JobContext, JobFailed, JobManager, JobProgress, JobView
from eventlab.kafka.admin import TopicInfo
from eventlab.kafka.config import KafkaConfig
from eventlab.kafka.positions import TP, Start, Until, parse_start, parse_until, remaining
from eventlab.store.eventstore import EventStore

KAFKA, FILES = "kafka", "files"
FOLLOW = "follow"
RESUME = "resume"
DEFAULT_UPLOAD_MAX_MB = 200
UPLOAD_TYPES: tuple[str, ...] = ("parquet", "jsonl", "ndjson", "json", "csv", "gz")
_MB = 1024 * 1024


class _Cancelled(Exception):
    """Raised from a file ingest's progress callback to stop between files."""


# -- Kafka ------------------------------------------------------------------------------------

def expected_records(topics: Sequence[TopicInfo], names: Sequence[str],
                     stored: Mapping[TP, int], start: Start, until: Until) -> int | None:
    """Records a run should read, for a progress bar; None when unknown (follow, a time).

    Stored positions win over `start`, as in the reader. Uses the offsets of the last
    listing, so it is an estimate: the bar is capped at 100 %.
    """
    if until == "follow":
        return None
    total: int | None = 0
    for info in (t for t in topics if t.name in names):
        for p, end in info.end_offsets.items():
            first = info.earliest.get(p, 0)
            if (info.name, p) in stored:
                begin: int | None = stored[(info.name, p)]
            elif start == "earliest":
                begin = None
            elif start == "latest":
                begin = end
            elif isinstance(start, Mapping) and (info.name, p) in start:
                begin, first = start[(info.name, p)], 0  # an offset given is taken as given
            elif isinstance(start, Mapping):
                begin = None
            else:
                total = None
                break
            if total is not None:
                total += remaining(end, begin, first)
    if isinstance(until, int):
        return until if total is None else min(total, until)
    return total


def partial_message(report: KafkaIngestReport) -> str:
    """The error of a run that stopped after storing something, with how to go on."""
    where = ", ".join(f"{k}={v:,}" for k, v in sorted(report.positions.items())) or "nothing"
    return (f"{report.error}. What was read before is kept: stored up to (next offset) "
            f"{where} per partition; start again to resume from there.")


def start_kafka_ingest(manager: JobManager, store: EventStore, config: KafkaConfig,
                       topics: Sequence[str], *, start: str = "earliest", until: str = "end",
                       preset: str = "auto", listing: Sequence[TopicInfo] = (),
                       token: str | None = None) -> JobView:
    """Start reading `topics` in the background.

    `start` and `until` are `ingest-kafka`'s --from and --until texts, plus `start="resume"`:
    continue from the stored positions, partitions never read from their earliest offset.
    (Stored positions win over every other start too.)
    """
    names = list(dict.fromkeys(topics))
    if not names:
        raise SourceError("choose at least one topic to load")
    if preset not in PRESETS:
        raise SourceError(f"unknown mapping preset {preset!r}: use one of {', '.join(PRESETS)}")
    start_at = parse_start("earliest" if start == RESUME else start, names)
    stop = parse_until(until)
    with store.reading() as cur:
        stored = stored_positions(cur, names)
    expected = expected_records(listing, names, stored, start_at, stop)
    stop_text = {"end": "until the end offsets at start", FOLLOW: "following"}.get(
        until, f"until {until} records")
    start_text = ("resuming from the stored positions" if start == RESUME
                  else f"from {start}" + (" (stored positions win)" if stored else ""))
    title = f"Kafka {', '.join(names)} · {start_text} · {stop_text}"

    def run(ctx: JobContext) -> KafkaIngestReport:
        if not store.has_entity_index():  # ingest_kafka builds it first: say so meanwhile
            ctx.update(stage="indexing entity ids (once per database)")
        return run_as_job(
            ctx, lambda progress: ingest_kafka(store, config, names, start=start_at, until=stop,
                                               spec=MappingSpec(preset=preset),
                                               progress=progress, cancel=ctx.cancel),
            lambda r: _stage(r, stop == FOLLOW), partial_message)

    return manager.start(
        KAFKA, title, run, keys=[f"kafka-topic:{t}" for t in names],
        tags=[FOLLOW] if stop == FOLLOW else [], token=token,
        params={"topics": names, "start": start, "until": until, "preset": preset,
                "bootstrap": config.bootstrap},
        progress=JobProgress(total=expected, stage="connecting"))


def _stage(report: KafkaIngestReport, following: bool) -> str:
    """What a Kafka job is doing, as its progress line says it."""
    if report.caught_up:
        return ("caught up, waiting for new records" if following
                else "caught up, finishing")
    return "following" if following else "reading"


# -- files ------------------------------------------------------------------------------------

def start_files_ingest(manager: JobManager, store: EventStore, paths: Sequence[str], *,
                       fmt: str | None = None, preset: str = "auto", title: str | None = None,
                       token: str | None = None, roots: Sequence[str] | None = None,
                       duplicates: str = "skip") -> JobView:
    """Start loading files, folders or globs on the server in the background (only below
    `roots` when given: `start_path_ingest`). `duplicates`: rows whose event id is already
    stored are skipped ("skip") or loaded as copies ("copy")."""
    paths = [p.strip() for p in paths if p and p.strip()]
    if not paths:
        raise SourceError("enter a file, folder or glob on the server to load")
    if fmt is not None and fmt not in FORMATS:
        raise SourceError(f"unknown format {fmt!r}: use one of {', '.join(FORMATS)}")
    if preset not in FILE_PRESETS:
        raise SourceError(f"unknown mapping preset {preset!r}: use one of "
                          f"{', '.join(FILE_PRESETS)}")
    if duplicates not in DUPLICATES:
        raise SourceError(f"duplicates must be one of {', '.join(DUPLICATES)}, not "
                          f"{duplicates!r}")

    def run(ctx: JobContext) -> IngestReport | None:
        def progress(stage: str, done: int, total: int) -> None:
            if ctx.cancelled:
                raise _Cancelled
            ctx.update(stage=stage, done=done, total=total)

        try:
            report = ingest_paths(store, paths, fmt=fmt, spec=MappingSpec(preset=preset),
                                  progress=progress, roots=roots, duplicates=duplicates)
        except _Cancelled:
            return None
        ctx.update(stage="finished", records=report.rows_read, stored=report.rows_stored,
                   quarantined=report.rows_quarantined)
        missed = report.files_failed + [{"file": f["file"], "error": f["reason"]}
                                        for f in report.files_not_read]
        if missed and not report.files_read and not report.files_skipped:
            raise JobFailed("nothing was loaded: " + "; ".join(
                f"{f['file']}: {f['error']}" for f in missed[:5]), report)
        return report

    return manager.start(
        FILES, title or f"Files {', '.join(paths)}", run,
        keys=[f"path:{os.path.abspath(os.path.expanduser(p))}" for p in paths], token=token,
        params={"paths": paths, "format": fmt, "preset": preset, "duplicates": duplicates},
        progress=JobProgress(stage="finding files"))


def start_path_ingest(manager: JobManager, store: EventStore, path: str, *, db_path: str | Path,
                      fmt: str | None = None, preset: str = "auto",
                      token: str | None = None, duplicates: str = "skip") -> JobView:
    """The Sources page's path field: load a path typed in the browser, only below the data
    folders (`ingest.roots`: EVENTLAB_DATA_DIRS, else data/ beside the database). A path
    outside them is refused here, naming it; links out of them are skipped and listed."""
    if not path.strip():
        raise SourceError("enter a file, folder or glob on the server to load")
    roots = data_roots(db_path)
    check_typed_path(path, roots)
    return start_files_ingest(manager, store, [path], fmt=fmt, preset=preset, token=token,
                              roots=roots, duplicates=duplicates)


# -- uploads ----------------------------------------------------------------------------------

def upload_limit_mb(env: Mapping[str, str] | None = None) -> int:
    """The upload size cap in MB: EVENTLAB_UPLOAD_MAX_MB, default 200."""
    raw = (os.environ if env is None else env).get("EVENTLAB_UPLOAD_MAX_MB", "").strip()
    if not raw:
        return DEFAULT_UPLOAD_MAX_MB
    if not raw.isdigit() or int(raw) < 1:
        raise SourceError(f"EVENTLAB_UPLOAD_MAX_MB must be a whole number of MB, not {raw!r}")
    return int(raw)


def upload_dir(db_path: str | Path) -> Path:
    """Where uploads are kept: `uploads/` next to the database (.eventlab/uploads/)."""
    path = Path(db_path)
    return (Path(".eventlab") if str(path) == ":memory:" else path.parent) / "uploads"


def save_upload(name: str, data: bytes | memoryview, folder: Path, limit_mb: int) -> Path:
    """Write an uploaded export under `folder`, named by content hash (the same upload twice
    is the same file, which a second ingest skips). Refuses big files and other types."""
    size = len(data)
    if size > limit_mb * _MB:
        raise SourceError(f"{name} is {size / _MB:,.1f} MB, over the upload limit of "
                          f"{limit_mb} MB (EVENTLAB_UPLOAD_MAX_MB): load it by its path on the "
                          "server instead, or raise the limit")
    ext = Path(name).suffix.lower().lstrip(".")
    if ext not in UPLOAD_TYPES:
        raise SourceError(f"{name}: only {', '.join(UPLOAD_TYPES)} files can be uploaded")
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", Path(name).name).lstrip(".")[-100:] or f"upload.{ext}"
    target = folder / f"{hashlib.sha256(data).hexdigest()[:16]}-{safe}"
    if not target.exists():
        folder.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(target.name + ".part")
        tmp.write_bytes(data)
        tmp.replace(target)
    return target
