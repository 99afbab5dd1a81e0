"""The push batch on the wire: compressed, CRC32 checked, every mutation's CRC checked."""

from __future__ import annotations

import zlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from yadori.sync import canonical
from yadori.sync.canonical import JSON
from yadori.sync.mutation import Actor, Priority, make_mutation
from yadori.sync.protocol import (
    BATCH_FRAME,
    MAX_BATCH_BYTES,
    MAX_BODY_BYTES,
    Batch,
    BatchCorrupt,
    BatchItem,
    BatchTooLarge,
    StoredItem,
    decode_batch,
    encode_batch,
    encode_item,
    encode_items,
    items_crc,
    items_that_fit,
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


def test_a_truncated_batch_is_corrupt() -> None:
    """A body cut short on the way does not inflate to the end: refused as corrupt, resent."""
    body, crc = encode_batch(Batch("e1", 1, 0, (item(1), item(2))))
    with pytest.raises(BatchCorrupt, match="decompress"):
        decode_batch(body[:-4], crc)


def test_a_batch_that_inflates_past_the_bound_is_refused_unread() -> None:
    """A small body that inflates past MAX_BATCH_BYTES (a zip bomb, or an edge that ignored
    the bound) is refused as too large, inflated no further than the bound: 64 MiB of zeros
    compress to 64 KB. A body larger than any bounded batch compresses to is refused too."""
    bomb = zlib.compressobj(9)
    zeros = bytes(1024 * 1024)
    body = b"".join(bomb.compress(zeros) for _ in range(64)) + bomb.flush()
    assert len(body) < MAX_BODY_BYTES // 100
    with pytest.raises(BatchTooLarge, match="inflates"):
        decode_batch(body, 0)
    with pytest.raises(BatchTooLarge, match="body"):
        decode_batch(bytes(MAX_BODY_BYTES + 1), 0)
    header = b',"number":1,"origin":"e1","prev_crc":0}'
    fits = b'{"items":[]' + b" " * (MAX_BATCH_BYTES - 100) + header
    assert len(fits) <= MAX_BATCH_BYTES
    assert decode_batch(zlib.compress(fits, 1), zlib.crc32(fits)).number == 1


@given(
    st.lists(st.binary(min_size=1, max_size=300), max_size=30),
    st.integers(0, 4_000),
    st.text(st.characters(exclude_categories=("Cs",)), max_size=16),
    st.booleans(),
)
def test_items_that_fit_fill_a_batch_up_to_its_bound(
    items: list[bytes], extra: int, origin: str, last: bool
) -> None:
    """The leading items ``items_that_fit`` counts make a batch within the limit, whatever the
    header's numbers, origin (up to 64 bytes in UTF-8) and ``last``; one item more would not
    fit within the frame's reserve. None fit when the first alone is larger."""
    limit = 300 + extra
    fit = items_that_fit(items, limit)
    body, _ = encode_items(origin, 2**62, 2**32 - 1, items[:fit], last=last)
    size = len(zlib.decompress(body))
    assert size <= limit
    if fit < len(items):
        assert size + len(items[fit]) + 1 > limit - BATCH_FRAME


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


def _canonical_bytes(batch: Batch) -> bytes:
    """The batch as one canonical document: what the wire carried before items were spliced."""
    fields: dict[str, JSON] = {
        "origin": batch.origin,
        "number": batch.number,
        "prev_crc": batch.prev_crc,
        "items": [
            {
                "property_id": i.property_id,
                "aggregates": list(i.aggregates),
                "mutation": mutation_to_json(i.mutation),
            }
            for i in batch.items
        ],
    }
    if batch.last:
        fields["last"] = True
    return canonical.encode_plain(fields)


_text = st.text(st.characters(exclude_categories=("Cs",)), max_size=12)  # no lone surrogates
_plain: st.SearchStrategy[JSON] = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | _text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_text, inner, max_size=3),
    max_leaves=8,
)


@st.composite
def _items(draw: st.DrawFn) -> BatchItem:
    m = make_mutation(
        id=draw(_text),
        origin=draw(_text),
        seq=draw(st.integers(0, 2**62)),
        hlc=draw(_text),
        name=draw(_text),
        args=draw(st.dictionaries(_text, _plain, max_size=4)),
        deps=tuple(draw(st.lists(_text, max_size=3))),
        priority=draw(st.sampled_from(Priority)),
        actor=Actor(draw(_text), draw(_text)),
    )
    return BatchItem(draw(_text), m, tuple(draw(st.lists(_text, max_size=3))))


@given(
    st.lists(_items(), max_size=4),
    st.text(max_size=8),
    st.integers(0, 2**40),
    st.integers(0, 2**32 - 1),
    st.booleans(),
)
def test_spliced_items_are_the_canonical_bytes(
    items: list[BatchItem], origin: str, number: int, prev_crc: int, last: bool
) -> None:
    """Items encoded one by one, their args and deps spliced in as the queue stores them, make
    the very bytes (and so the CRC32) of the batch encoded as one canonical document, whatever
    the strings (quotes, escapes, any script), numbers and nesting; and they decode back."""
    batch = Batch(origin, number, prev_crc, tuple(items), last=last)
    raw = _canonical_bytes(batch)
    stored = [encode_item(StoredItem.of(i)) for i in batch.items]
    body, crc = encode_items(origin, number, prev_crc, stored, last=last)
    assert zlib.decompress(body) == raw
    assert crc == zlib.crc32(raw)
    assert encode_batch(batch) == (body, crc)
    assert decode_batch(body, crc) == batch
