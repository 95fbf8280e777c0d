"""Message attributes of a republished SQS/SNS record: an ingested message goes back with the
attribute types ingest recorded, without ingest's own headers (pure: no endpoint)."""

from __future__ import annotations

import json

from eventlab.aws.publish import attributes_for
from eventlab.aws.records import INGEST_HEADERS, TYPES_HEADER

PROVENANCE = [("eventlab-replay-id", b"job-1")]


def test_recorded_types_come_back_and_ingest_headers_stay_behind() -> None:
    types = {"amount": "Number", "blob": "Binary", "note": "String.custom"}
    original = [("amount", b"1.50"), ("blob", b"\x00\xff"), ("note", b"hi"),
                (TYPES_HEADER, json.dumps(types).encode()),
                ("x-sns-message-id", b"m-1"), ("x-sqs-message-id", b"q-1")]
    got = attributes_for(original, PROVENANCE)
    assert got == {
        "amount": {"DataType": "Number", "StringValue": "1.50"},
        "blob": {"DataType": "Binary", "BinaryValue": b"\x00\xff"},
        "note": {"DataType": "String.custom", "StringValue": "hi"},
        "eventlab-replay-id": {"DataType": "String", "StringValue": "job-1"},
    }
    assert not set(got) & set(INGEST_HEADERS)


def test_without_recorded_types_text_is_string_and_other_bytes_binary() -> None:
    got = attributes_for([("a", b"text"), ("b", b"\xff\x00")], PROVENANCE)
    assert got["a"] == {"DataType": "String", "StringValue": "text"}
    assert got["b"] == {"DataType": "Binary", "BinaryValue": b"\xff\x00"}


def test_a_recorded_type_that_no_longer_fits_the_value_falls_back() -> None:
    original = [("n", b"\xff"), (TYPES_HEADER, b'{"n": "Number"}')]
    assert attributes_for(original, PROVENANCE)["n"] == {"DataType": "Binary",
                                                         "BinaryValue": b"\xff"}
