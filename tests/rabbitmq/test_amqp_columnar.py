"""The batch-at-once AMQP reader: it reads the common layout itself (rows it leaves alone
would be read one by one, slowly) and its batch equals the per-message reader's, whatever
the mix of layouts and their order in the batch."""

from __future__ import annotations

import random

from rstream import AMQPMessage, Properties
from test_amqp_fast import U, common_messages, odd_messages, outcome

from eventlab.rabbitmq import amqp_columnar
from eventlab.rabbitmq.records import _PROPERTY_NAMES, message_parts, raw_table

LEFT_ALONE = {  # values the columnar reader hands to the per-message reader, on purpose
    "every-property", "every-property-wide", "app-props-every-type", "app-props-odd-keys",
    "app-props-repeated-key", "value-int", "value-bool", "value-uuid", "property-float",
    "property-double", "property-nan", "property-uuid"}


def _rows(table: object) -> list[tuple[bytes | None, list[tuple[str, bytes | None]]]]:
    return [(r["value"], [(h["key"], h["value"]) for h in r["headers"]])
            for r in table.to_pylist()]  # type: ignore[attr-defined]


def _expected(raw: bytes) -> object:
    got = outcome(message_parts, raw)
    if isinstance(got[0], str):
        return (raw, [("x-eventlab-undecodable", f"{got[0]}: {got[1]}".encode()[:500])])
    return got


def test_the_common_layout_is_read_by_the_batch_reader_itself() -> None:
    messages = [bytes(AMQPMessage(
        body=f'{{"i": {i}}}'.encode(),
        properties=Properties(message_id=f"m-{i}", content_type="application/json",
                              correlation_id=i, creation_time=1_700_000_000_000 + i),
        application_properties={"tenant": "acme", "n": i - 500, "ok": i % 2 == 0,
                                "big": 2**62 * (1 if i % 2 else -1), "b": b"\x00\xff",
                                "none": None}))
        for i in range(1000)]
    common = {k: v for k, v in common_messages().items() if k not in LEFT_ALONE}
    batch = messages + list(common.values())
    _bodies, _offsets, _headers, left = amqp_columnar.batch(batch, _PROPERTY_NAMES)
    assert left.tolist() == []
    assert _rows(raw_table("s", 0, [(i, 0, m) for i, m in enumerate(batch)])) == [
        message_parts(m) for m in batch]


def test_any_mix_of_layouts_in_any_order_equals_the_per_message_reader() -> None:
    every = list(common_messages().values()) + list(odd_messages().values())
    rng = random.Random(7)
    for _ in range(20):
        batch = rng.choices(every, k=60)
        table = raw_table("s", 0, [(i, 0, m) for i, m in enumerate(batch)])
        assert _rows(table) == [_expected(m) for m in batch]
        assert table["serialized_value_size"].to_pylist() == [
            -1 if v is None else len(v) for v, _h in _rows(table)]


def test_a_uuid_or_float_value_leaves_only_its_own_row() -> None:
    plain = bytes(AMQPMessage(body=b"{}", application_properties={"k": "v"}))
    odd = bytes(AMQPMessage(body=b"{}", application_properties={"k": U, "f": 1.5}))
    _b, _o, _h, left = amqp_columnar.batch([plain, odd, plain], _PROPERTY_NAMES)
    assert left.tolist() == [1]
