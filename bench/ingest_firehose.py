"""Firehose archives: cutting concatenated JSON, and loading an SNS archive.

1. Cutting: EventLab's splitter (`ingest.concat_json`: candidate cuts found with bytes.find,
   each piece checked by orjson, exact decoding only for what fails) against a plain Python
   splitter (`json.JSONDecoder.raw_decode` in a loop, the textbook way that also gives
   per-object errors), both producing the Arrow text column the loader takes, on the same
   gzip archive in the same run, alternately. DuckDB's own `read_json_objects` is printed for
   reference only: it needs file access (the store's connections have none) and cannot say
   which object was bad (with `ignore_errors` it drops them silently).
2. Loading: `ingest_paths(..., preset sns)` of the archive into a fresh database file.

Prints each median and `ratio=X` last (plain splitter seconds / EventLab seconds: above 1 means
EventLab's cut is faster).
"""

from __future__ import annotations

import gzip
import json
import re
import statistics
import tempfile
import time
from pathlib import Path

import duckdb
import pyarrow as pa
from _common import CACHE

from eventlab.ingest.concat_json import open_content, read_docs
from eventlab.ingest.file_ingest import ingest_paths
from eventlab.ingest.mapping import MappingSpec
from eventlab.store.eventstore import EventStore

MESSAGES = 200_000
REPEAT = 3
_WS = re.compile(r"\s*")


def archive(n: int = MESSAGES) -> Path:
    """One gzip object of `n` SNS notifications back to back (cached)."""
    out = CACHE / f"firehose-{n}" / "2026" / "11" / "01" / "10" / "orders-1-2026-11-01-10"
    if out.exists():
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(out, "wb", compresslevel=1) as f:
        for i in range(n):
            inner = {"id": f"e-{i}", "type": "OrderPlaced", "aggregateId": f"order-{i % 5000}",
                     "timestamp": "2026-11-01T10:00:00Z", "version": i // 5000 + 1,
                     "data": {"amount": i * 1.5, "note": "x" * 60}}
            f.write(json.dumps({
                "Type": "Notification", "MessageId": f"m-{i}",
                "TopicArn": "arn:aws:sns:eu-west-1:123456789012:orders", "Subject": "order",
                "Message": json.dumps(inner), "Timestamp": "2026-11-01T10:00:01.000Z",
                "SignatureVersion": "1", "Signature": "c2ln" * 40,
                "SigningCertURL": "https://sns.example/c.pem",
                "UnsubscribeURL": "https://sns.example/u",
                "MessageAttributes": {"kind": {"Type": "String", "Value": "order"}}}).encode())
    return out


def plain_splitter(path: Path) -> int:
    """The baseline: decode the whole content, raw_decode object after object."""
    with open_content(str(path)) as f:
        text = f.read().decode("utf-8")
    dec = json.JSONDecoder()
    docs, pos, end = [], 0, len(text)
    while True:
        pos = _WS.match(text, pos).end()  # type: ignore[union-attr]
        if pos >= end:
            break
        _, stop = dec.raw_decode(text, pos)
        docs.append(text[pos:stop])
        pos = stop
    return len(pa.array(docs, pa.large_string()))


def eventlab_splitter(path: Path) -> int:
    return read_docs(str(path), str(path)).table.num_rows


def duckdb_objects(path: Path) -> int:
    con = duckdb.connect()
    n = con.execute("SELECT count(*) FROM read_json_objects(?, format = 'auto', "
                    "compression = 'gzip')", [str(path)]).fetchall()[0][0]
    con.close()
    return int(n)


def timed(fn, path: Path) -> tuple[float, int]:  # noqa: ANN001
    t = time.perf_counter()
    n = fn(path)
    return time.perf_counter() - t, n


def main() -> None:
    path = archive()
    size = path.stat().st_size
    print(f"# {MESSAGES:,} SNS notifications, one gzip object of {size / 1e6:.1f} MB")
    ours, plain, duck = [], [], []
    for _ in range(REPEAT):
        s, n1 = timed(plain_splitter, path)
        plain.append(s)
        s, n2 = timed(eventlab_splitter, path)
        ours.append(s)
        s, n3 = timed(duckdb_objects, path)
        duck.append(s)
        assert n1 == n2 == n3 == MESSAGES, (n1, n2, n3)
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        with EventStore(Path(tmp) / "b.duckdb") as store:
            report = ingest_paths(store, [str(path.parents[3])],
                                  spec=MappingSpec(preset="sns"))
        load = time.perf_counter() - t
        assert report.rows_stored == MESSAGES, report.summary()
    m_plain, m_ours = statistics.median(plain), statistics.median(ours)
    print(f"plain_raw_decode_s={m_plain:.2f}")
    print(f"eventlab_split_s={m_ours:.2f}")
    print(f"duckdb_read_json_objects_s={statistics.median(duck):.2f} (reference only)")
    print(f"eventlab_ingest_sns_s={load:.2f} ({MESSAGES / load:,.0f} msg/s)")
    print(f"ratio={m_plain / m_ours:.2f}")


if __name__ == "__main__":
    main()
