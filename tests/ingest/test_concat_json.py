"""Concatenated JSON and gzip (Firehose archives): the splitter, and file ingest of such files
(objects back to back, gzip told by magic bytes, files with no extension, a bad object mid-file
quarantined with its object index and byte offset, a truncated gzip listed as failed)."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from helpers_files import events, ingest, quarantine

from eventlab.ingest.concat_json import Splitter, looks_like_json, read_docs
from eventlab.ingest.exports import discover
from eventlab.ingest.formats import guess_format
from eventlab.store.eventstore import EventStore


def _split(data: bytes, block: int) -> tuple[list[str], list[int], list[int], bool, list]:
    s = Splitter()
    for i in range(0, len(data), block):
        s.feed(data[i:i + block])
    s.feed(b"", final=True)
    docs = [x.as_py() for part in s.parts for x in part]
    bad = [(p.raw, p.offset, p.index, p.reason) for p in s.bad]
    return docs, s.lines, s.indexes, s.one_per_line, bad


CASES = {
    "back to back": (b'{"a":1}{"b":2}', ['{"a":1}', '{"b":2}'], []),
    "json lines": (b'{"a":1}\n{"b":2}\n\n{"c":3}\n', ['{"a":1}', '{"b":2}', '{"c":3}'], []),
    "brace pair inside a string": (b'{"a":"x}{y"}{"b":2}', ['{"a":"x}{y"}', '{"b":2}'], []),
    "pretty printed": (b'{\n "a": 1\n}\n{\n "b": [1,\n 2]\n}',
                       ['{\n "a": 1\n}', '{\n "b": [1,\n 2]\n}'], []),
    "blanks between": (b'{"a":1} {"b":2}\r\n{"c":3}', ['{"a":1}', '{"b":2}', '{"c":3}'], []),
    "blanks only between": (b'{"a":1} {"b":2}\t{"c":{"d":3}}',
                            ['{"a":1}', '{"b":2}', '{"c":{"d":3}}'], []),
    "bad object mid-file": (b'{"a":1}{"b":}{"c":3}', ['{"a":1}', '{"c":3}'],
                            [(b'{"b":}', 7, 1, "invalid JSON")]),
    "truncated last object": (b'{"a":1}{"b":2', ['{"a":1}'], [(b'{"b":2', 7, 1, "invalid JSON")]),
    "not UTF-8": (b'{"a":"\xff"}{"b":2}', ['{"b":2}'], [(b'{"a":"\xff"}', 0, 0, "not UTF-8")]),
    "bad lines stay apart": (b'{nope\n\xff\xfe\n{"c":3}', ['{"c":3}'],
                             [(b"{nope", 0, 0, "invalid JSON"), (b"\xff\xfe", 6, 1, "not UTF-8")]),
    "fragments of one bad object join": (b'{"a":[1}{"c":]}{"d":3}', ['{"d":3}'],
                                         [(b'{"a":[1}{"c":]}', 0, 0, "invalid JSON")]),
    "object cut short, next one right after": (b'{"a":{"b":1}', ['{"b":1}'],
                                               [(b'{"a":', 0, 0, "invalid JSON")]),
}


@pytest.mark.parametrize("name", CASES)
def test_splitter_cuts_objects_the_same_in_any_block_size(name: str) -> None:
    data, docs, bad = CASES[name]
    whole = _split(data, len(data) or 1)
    assert whole[0] == docs and whole[4] == bad
    for block in (1, 2, 3, 5, 7, 64):
        assert _split(data, block) == whole, block


def test_rows_are_lines_for_json_lines_and_indexes_for_concatenated() -> None:
    lines = _split(b'{"a":1}\n\n{"b":2}\n', 4)
    assert (lines[1], lines[3]) == ([0, 2], True)
    concat = _split(b'{"a":1}{"b":2}\n{"c":3}', 4)
    assert (concat[2], concat[3]) == ([0, 1, 2], False)


def _sns(i: int, **extra: object) -> dict[str, object]:
    inner = {"id": f"e-{i}", "type": "OrderPlaced", "aggregateId": f"order-{i % 3}",
             "timestamp": f"2026-11-01T10:00:{i:02d}Z", "data": {"n": i}}
    return {"Type": "Notification", "MessageId": f"m-{i}",
            "TopicArn": "arn:aws:sns:eu-west-1:123456789012:orders",
            "Message": json.dumps(inner), "Timestamp": f"2026-11-01T10:00:{i:02d}.500Z",
            "MessageAttributes": {"kind": {"Type": "String", "Value": "order"}}, **extra}


def _concat(docs: list[dict[str, object]]) -> bytes:
    return "".join(json.dumps(d) for d in docs).encode()


def test_gzip_is_told_by_magic_bytes_and_read_in_blocks(tmp_path: Path) -> None:
    plain = _concat([_sns(i) for i in range(50)])
    f = tmp_path / "orders-1-2026-11-01-10-00-00-abc"  # a Firehose object name: no extension
    f.write_bytes(gzip.compress(plain))
    assert looks_like_json(str(f)) and guess_format(str(f)) is None
    docs = read_docs(str(f), str(f), block=100)
    assert docs.table.num_rows == 50 and docs.bad == []
    assert [json.loads(d)["MessageId"] for d in docs.table["__doc"].to_pylist()] == \
        [f"m-{i}" for i in range(50)]
    assert docs.table["__row"].to_pylist() == list(range(50))


def test_discovery_reads_json_files_with_no_extension_or_gz(tmp_path: Path) -> None:
    (tmp_path / "2026/11/01/10").mkdir(parents=True)
    (tmp_path / "2026/11/01/10/a").write_bytes(_concat([_sns(1)]))
    (tmp_path / "2026/11/01/10/b.gz").write_bytes(gzip.compress(_concat([_sns(2)])))
    (tmp_path / "2026/11/01/10/c.jsonl.gz").write_bytes(gzip.compress(_concat([_sns(3)])))
    (tmp_path / "2026/11/01/10/notes").write_bytes(b"not json at all")
    found = discover([str(tmp_path)])
    assert sorted((Path(r.path).name, r.fmt) for r in found.files) == [
        ("a", "jsonl"), ("b.gz", "jsonl"), ("c.jsonl.gz", "jsonl")]


def _flat(i: int) -> dict[str, object]:
    return {"entity_id": f"o-{i}", "event_type": "T", "ts": f"2026-11-01T10:00:{i:02d}Z"}


def test_concatenated_and_gzip_files_load_with_a_bad_object_quarantined(
        store: EventStore, tmp_path: Path) -> None:
    good = tmp_path / "2026/11/01/10/part-1"
    good.parent.mkdir(parents=True)
    good.write_bytes(_concat([_flat(0), _flat(1)]))
    zipped = tmp_path / "2026/11/01/11/part-2.gz"
    zipped.parent.mkdir(parents=True)
    bad_object = b'{"entity_id":"o-9","event_type":'
    body = _concat([_flat(2)]) + bad_object + _concat([_flat(3)])
    zipped.write_bytes(gzip.compress(body))
    report = ingest(store, tmp_path)
    assert (report.files_read, report.rows_stored, report.rows_quarantined) == (2, 4, 1)
    assert report.files_failed == []
    assert sorted(e["entity_id"] for e in events(store)) == ["o-0", "o-1", "o-2", "o-3"]
    (q,) = quarantine(store)
    offset = len(_concat([_flat(2)]))
    assert (q["source"], q["offset"], q["reason"]) == (str(zipped), 1, "invalid JSON")
    assert bytes(q["raw"]) == bad_object
    assert q["detail"].startswith(f"object 1 at byte {offset} is not valid JSON")
    again = ingest(store, tmp_path)
    assert (again.rows_stored, again.rows_quarantined, len(again.files_skipped)) == (0, 0, 2)


def test_truncated_gzip_is_listed_and_the_other_files_load(store: EventStore,
                                                           tmp_path: Path) -> None:
    (tmp_path / "ok").write_bytes(_concat([_flat(0)]))
    whole = gzip.compress(_concat([_flat(i) for i in range(1, 200)]))
    cut = tmp_path / "cut.gz"
    cut.write_bytes(whole[: len(whole) // 2])
    report = ingest(store, tmp_path)
    assert report.rows_stored == 1
    (failed,) = report.files_failed
    assert failed["file"] == str(cut)
    assert "gzip stream is corrupt or truncated" in failed["error"]


def test_nesting_deeper_than_pythons_decoder_is_left_to_duckdb() -> None:
    deep = b'{"deep": ' + b"[" * 5000 + b"]" * 5000 + b"}"
    docs, _, _, _, bad = _split(deep + b"\n" + b'{"NaN": NaN}', 1 << 20)
    assert docs == [deep.decode(), '{"NaN": NaN}'] and bad == []
