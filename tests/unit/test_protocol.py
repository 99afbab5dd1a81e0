"""The push batch on the wire: compressed, CRC32 checked, every mutation's CRC checked."""

from __future__ import annotations

import zlib

import pytest

from yadori.sync import canonical
from yadori.sync.mutation import Actor, Priority, make_mutation
from yadori.sync.protocol import (
    Batch,
    BatchCorrupt,
    BatchItem,
    decode_batch,
    encode_batch,
    items_crc,
    mutation_from_json,
    mutation_to_json,
)


def item(seq: int) -> BatchItem:
    """A sealed mutation as pushed."""
    m = make_mutation(
        id=f"m{seq}",
        origin="e1",
        seq=seq,
        hlc=f"{seq:015d}-000000-e1",
        name="post_charge",
        args={"amount": 500, "folio_id": "f"},
        deps=(),
        priority=Priority.PAYMENT,
        actor=Actor("s", "t"),
    )
    return BatchItem("p1", m, ("folio:f",))


def test_round_trip() -> None:
    """What is encoded decodes to the same batch; the body is compressed."""
    batch = Batch("e1", 7, 123, (item(1), item(2)))
    body, crc = encode_batch(batch)
    assert decode_batch(body, crc) == batch
    assert zlib.crc32(zlib.decompress(body)) == crc
    assert items_crc(batch.items) == items_crc(decode_batch(body, crc).items)


def test_the_last_batch_of_a_push_says_so() -> None:
    """``last`` travels with the batch; a batch that is not the last has the bytes it always
    had (an older central reads it as before, and one without the field is not the last)."""
    last = Batch("e1", 7, 123, (item(1),), last=True)
    body, crc = encode_batch(last)
    assert decode_batch(body, crc).last is True
    raw = zlib.decompress(encode_batch(Batch("e1", 7, 123, (item(1),)))[0])
    assert b'"last"' not in raw
    assert decode_batch(zlib.compress(raw), zlib.crc32(raw)).last is False


def test_damaged_batches_are_refused() -> None:
    """A wrong CRC, bytes that do not inflate, non-JSON, or a tampered mutation: BatchCorrupt."""
    body, crc = encode_batch(Batch("e1", 1, 0, (item(1),)))
    with pytest.raises(BatchCorrupt, match="CRC32"):
        decode_batch(body, crc ^ 1)
    with pytest.raises(BatchCorrupt, match="decompress"):
        decode_batch(b"not zlib", crc)
    raw = b"{not json"
    with pytest.raises(BatchCorrupt, match="JSON"):
        decode_batch(zlib.compress(raw), zlib.crc32(raw))
    obj = canonical.decode(zlib.decompress(body))
    assert isinstance(obj, dict)
    obj["items"][0]["mutation"]["args"]["amount"] = 5  # type: ignore[index,call-overload]
    tampered = canonical.encode(obj)
    with pytest.raises(BatchCorrupt, match="fail their CRC32"):
        decode_batch(zlib.compress(tampered), zlib.crc32(tampered))


@pytest.mark.parametrize(
    "obj",
    [
        [],
        {"items": "nope"},
        {"origin": "e1", "number": 1, "prev_crc": 0, "items": [{"mutation": {}}]},
        {"origin": "e1", "number": 1, "prev_crc": 0, "items": [{"aggregates": [], "mutation": 3}]},
        {"origin": "e1", "number": "1", "prev_crc": 0, "items": []},
    ],
)
def test_malformed_batches_are_refused(obj: object) -> None:
    """Shapes that are not a batch are refused as corrupt, never half-read."""
    raw = canonical.encode(obj)
    with pytest.raises(BatchCorrupt):
        decode_batch(zlib.compress(raw), zlib.crc32(raw))


def test_mutation_json_checks_types() -> None:
    """A mutation with a field of the wrong type is refused."""
    good = mutation_to_json(item(1).mutation)
    assert mutation_from_json(good) == item(1).mutation
    for broken in ({**good, "seq": "1"}, {**good, "deps": "x"}, {**good, "seq": True}):
        with pytest.raises(BatchCorrupt):
            mutation_from_json(broken)  # type: ignore[arg-type]
