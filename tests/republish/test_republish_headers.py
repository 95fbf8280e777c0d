"""The headers of a chunk are built in one pass (`send._header_columns`): each record's are
its original headers, in order with repeated keys and null values, then the provenance ones."""

from __future__ import annotations

import pyarrow as pa

from eventlab.republish.send import _header_columns, _pylist

PROV = ["p-topic", "p-offset"]


def test_each_record_gets_its_own_headers_then_the_provenance_ones() -> None:
    hkeys = [[], ["a"], ["a", "a", "b"], [], ["x"]]
    hvalues = [[b"t0", b"0"], [b"1", b"t1", b"1"], [b"2", None, b"", b"t2", b"2"],
               [b"t3", b"3"], [b"\x00", b"t4", b"4"]]
    batch = pa.RecordBatch.from_pydict({
        "hkeys": pa.array(hkeys, pa.list_(pa.string())),
        "hvalues": pa.array(hvalues, pa.list_(pa.binary()))})
    for start, length in ((0, 5), (1, 3), (3, 2)):  # chunks are slices of DuckDB's batches
        part = batch.slice(start, length)
        keys, values, bounds = _header_columns(part, PROV)
        got = [list(zip(keys[bounds[i]:bounds[i + 1]], values[bounds[i]:bounds[i + 1]],
                        strict=True)) for i in range(length)]
        want = [list(zip(k + PROV, v, strict=True))
                for k, v in zip(hkeys[start:start + length], hvalues[start:start + length],
                                strict=True)]
        assert got == want


def test_columns_come_out_as_python_values_nulls_kept() -> None:
    assert _pylist(pa.array([1, 2], pa.int64())) == [1, 2]
    assert _pylist(pa.array([True, False])) == [True, False]
    assert _pylist(pa.array([1, None], pa.int32())) == [1, None]
    assert _pylist(pa.array([b"k", None])) == [b"k", None]


def test_reading_back_takes_each_records_first_header_of_a_name() -> None:
    from eventlab.kafka.provenance import _header_value, _texts

    header = pa.struct([("key", pa.string()), ("value", pa.binary())])
    rows = [[("a", b"1"), ("id", b"x"), ("id", b"y")], [], [("id", None), ("id", b"z")],
            [("b", b"2")], [("id", b"\xffq"), ("id", b"w")], [("id", "é".encode())]]
    headers = pa.array([[{"key": k, "value": v} for k, v in r] for r in rows],
                       pa.list_(header))
    for part in (headers, headers.slice(2, 3)):
        values = _header_value(part, "id")
        want = [next((v for k, v in r if k == "id"), None)
                for r in rows[part.offset:part.offset + len(part)]]
        assert values.to_pylist() == want
        assert _texts(values) == [None if v is None else v.decode("utf-8", "replace")
                                  for v in want]


def test_several_header_names_in_one_pass_equal_one_name_at_a_time() -> None:
    """`_header_values` (the read-back's one pass) gives, per name, what `_header_value`'s
    reference gives: each record's first header of that name, or null."""
    import random

    from eventlab.kafka.provenance import _header_values

    header = pa.struct([("key", pa.string()), ("value", pa.binary())])
    rng = random.Random(5)
    names = ["id", "a", "b", "none-has-it"]
    rows = [[(rng.choice(["id", "a", "b", "c"]), rng.choice([None, b"", bytes([i % 251, j])]))
             for j in range(rng.randrange(6))] for i in range(300)]
    headers = pa.array([[{"key": k, "value": v} for k, v in r] for r in rows], pa.list_(header))
    for part in (headers, headers.slice(17, 150)):
        got = _header_values(part, names)
        for name, values in zip(names, got, strict=True):
            assert values.to_pylist() == [next((v for k, v in r if k == name), None)
                                          for r in rows[part.offset:part.offset + len(part)]]
