"""The push/pull wire format, sans I/O: batches with CRC32 chains, compressed.

A push batch is canonical JSON — the origin, the batch's number, the CRC of the origin's
previous batch, items (a mutation with its own CRC, its property and the aggregates it
touched), and whether it is the last of its push — compressed with zlib; the batch's CRC32
covers the uncompressed bytes and travels in a header. Central refuses a batch whose CRC or
any mutation's CRC does not match: the edge resends it, nothing is applied from it. A batch is
bounded (``MAX_BATCH_BYTES``): the edge sends a longer queue in more batches, and central
refuses a larger one, applying none of it.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass

import orjson

from yadori.sync import canonical
from yadori.sync.canonical import JSON
from yadori.sync.errors import SyncError
from yadori.sync.mutation import Actor, Mutation, Priority

CONTENT_TYPE = "application/x-yadori-batch"
CRC_HEADER = "X-Yadori-Batch-CRC"
SEQ_TAKEN = "seq_taken"
"""A pushed mutation's result when central holds its (origin, seq) for another mutation: the
edge was restored from a backup, or lost commits it had sent. It is not applied and nothing is
recorded; the push's answer then says central's highest seq of the origin (``last_seq``), and
the edge numbers it again above that and sends it again (decision 0059)."""


# The largest batch central takes, uncompressed, and its largest body. A batch of 1,000
# mutations is about 0.6 MB, and an edge's window (twice its batch, at most 10,000) stays below
# this unless its mutations average 1.6 KB; the edge then sends a leading part of the batch
# (``items_that_fit``). The bound keeps a push's memory at central bounded: a small body must
# not inflate into gigabytes. zlib's worst case (stored blocks) adds far less than 0.1 %.
MAX_BATCH_BYTES = 16 * 1024 * 1024
MAX_BODY_BYTES = MAX_BATCH_BYTES + MAX_BATCH_BYTES // 1000 + 1024
BATCH_FRAME = 256
"""Bytes a batch adds around its items, at most: its fields, an origin of up to 64 bytes."""


class BatchCorrupt(ValueError):
    """A batch whose bytes, CRC32 or mutations do not check: resend it."""


class BatchTooLarge(ValueError):
    """A batch larger than ``MAX_BATCH_BYTES``: refused, none of it applied; resend won't help."""


@dataclass(frozen=True, slots=True)
class BatchItem:
    """One mutation as pushed: with its property and the aggregates it touched."""

    property_id: str
    mutation: Mutation
    aggregates: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Batch:
    """A push batch of one origin."""

    origin: str
    number: int
    prev_crc: int
    items: tuple[BatchItem, ...]
    # Nothing else was waiting when it was sent: central publishes what it changed at once
    # (decision 0042), for the pull that follows. Left out of the bytes when False.
    last: bool = False


@dataclass(frozen=True, slots=True)
class PageAsk:
    """A pull page asked for with a push: the pull's own parameters (decision 0049)."""

    property_id: str
    since: int
    results_after: int
    limit: int


def mutation_to_json(m: Mutation) -> dict[str, JSON]:
    """A mutation's fields and its CRC, as JSON values."""
    return {**m.body(), "crc32": m.crc32}


def mutation_from_json(obj: JSON) -> Mutation:
    """Read a mutation back; its CRC is kept as sent (check it with ``checksum_ok``)."""
    if not isinstance(obj, dict):
        raise BatchCorrupt("a mutation must be an object")
    try:
        actor, args, deps = obj["actor"], obj["args"], obj["deps"]
        if not (isinstance(actor, dict) and isinstance(args, dict) and isinstance(deps, list)):
            raise ValueError("actor, args and deps have the wrong types")
        return Mutation(
            id=str(obj["id"]),
            origin=str(obj["origin"]),
            seq=_int(obj["seq"]),
            hlc=str(obj["hlc"]),
            name=str(obj["name"]),
            args=args,
            deps=tuple(str(d) for d in deps),
            priority=Priority(_int(obj["priority"])),
            actor=Actor(str(actor["staff_id"]), str(actor["token_id"])),
            crc32=_int(obj["crc32"]),
        )
    except (KeyError, ValueError) as exc:
        raise BatchCorrupt(f"a malformed mutation: {exc!r}") from exc


def _int(value: JSON) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueError(f"{value!r} is not an integer")
    return value


@dataclass(frozen=True, slots=True)
class StoredItem:
    """A batch item as the edge's queue keeps it: args and deps as their canonical JSON text.

    Encoded by splicing that text in (``encode_item``): a recovery sends every queued mutation,
    and parsing each one's arguments only to write the same bytes again was a third of the
    edge's work on a batch.
    """

    property_id: str
    aggregates: tuple[str, ...]
    id: str
    origin: str
    seq: int
    hlc: str
    name: str
    args_json: str  # canonical JSON of an object (canonical.encode)
    deps_json: str  # canonical JSON of a list of ids
    priority: int
    staff_id: str
    token_id: str
    crc32: int

    @classmethod
    def of(cls, item: BatchItem) -> StoredItem:
        """The stored form of a batch item."""
        m = item.mutation
        return cls(
            item.property_id,
            item.aggregates,
            m.id,
            m.origin,
            m.seq,
            m.hlc,
            m.name,
            canonical.encode_plain(m.args).decode(),
            canonical.encode_plain(list(m.deps)).decode(),
            int(m.priority),
            m.actor.staff_id,
            m.actor.token_id,
            m.crc32,
        )


def encode_item(i: StoredItem) -> bytes:
    """One item's canonical bytes, its args and deps spliced in as stored.

    Keys sorted at every level, as ``canonical.encode_plain`` writes them.
    """
    text = orjson.dumps
    return b"".join(
        (
            b'{"aggregates":',
            text(list(i.aggregates)),
            b',"mutation":{"actor":{"staff_id":',
            text(i.staff_id),
            b',"token_id":',
            text(i.token_id),
            b'},"args":',
            i.args_json.encode(),
            b',"crc32":',
            b"%d" % i.crc32,
            b',"deps":',
            i.deps_json.encode(),
            b',"hlc":',
            text(i.hlc),
            b',"id":',
            text(i.id),
            b',"name":',
            text(i.name),
            b',"origin":',
            text(i.origin),
            b',"priority":',
            b"%d" % i.priority,
            b',"seq":',
            b"%d" % i.seq,
            b'},"property_id":',
            text(i.property_id),
            b"}",
        )
    )


def encode_items(
    origin: str, number: int, prev_crc: int, items: Sequence[bytes], *, last: bool = False
) -> tuple[bytes, int]:
    """The compressed body of a batch of encoded items, and its CRC32.

    The CRC covers the uncompressed canonical bytes (keys sorted, ``last`` left out when False).
    """
    raw = b"".join(
        (
            b'{"items":[',
            b",".join(items),
            b'],"last":true' if last else b"]",
            b',"number":%d,"origin":' % number,
            orjson.dumps(origin),
            b',"prev_crc":%d}' % prev_crc,
        )
    )
    return zlib.compress(raw, 6), zlib.crc32(raw)


def items_that_fit(items: Sequence[bytes], limit: int = MAX_BATCH_BYTES) -> int:
    """How many of the leading encoded items one batch of at most ``limit`` bytes carries.

    A batch's leading part is a batch too: ``choose_batch`` puts every mutation after its
    dependencies. Zero when the first item alone is larger (the queue cannot send it).
    """
    size = BATCH_FRAME
    for taken, item in enumerate(items):
        size += len(item) + 1  # its comma
        if size > limit:
            return taken
    return len(items)


def encode_batch(batch: Batch) -> tuple[bytes, int]:
    """The compressed body of a batch and its CRC32 (of the uncompressed canonical bytes)."""
    items = [encode_item(StoredItem.of(i)) for i in batch.items]
    return encode_items(batch.origin, batch.number, batch.prev_crc, items, last=batch.last)


def decode_batch(body: bytes, crc: int) -> Batch:
    """Decompress and check a batch; every mutation's own CRC must hold too."""
    raw = _inflate(body)
    if zlib.crc32(raw) != crc:
        raise BatchCorrupt("the batch's CRC32 does not match its bytes")
    try:
        obj = canonical.decode(raw)
    except ValueError as exc:
        raise BatchCorrupt(f"the batch is not JSON: {exc}") from exc
    if not isinstance(obj, dict) or not isinstance(obj.get("items"), list):
        raise BatchCorrupt("a batch must be an object with items")
    items = tuple(_item(i) for i in obj["items"])  # type: ignore[union-attr]
    bad = [i.mutation.id for i in items if not i.mutation.checksum_ok()]
    if bad:
        raise BatchCorrupt(f"{len(bad)} mutation(s) fail their CRC32, first {bad[0]}")
    try:
        return Batch(
            str(obj.get("origin")),
            _int(obj.get("number")),
            _int(obj.get("prev_crc")),
            items,
            last=obj.get("last") is True,
        )
    except ValueError as exc:
        raise BatchCorrupt(f"a malformed batch header: {exc}") from exc


def _inflate(body: bytes) -> bytes:
    """The batch's bytes, inflated no further than ``MAX_BATCH_BYTES`` (BatchTooLarge past it)."""
    if len(body) > MAX_BODY_BYTES:
        raise BatchTooLarge(f"the batch's body is {len(body)} bytes, more than {MAX_BODY_BYTES}")
    inflater = zlib.decompressobj()
    try:
        raw = inflater.decompress(body, MAX_BATCH_BYTES + 1)
    except zlib.error as exc:
        raise BatchCorrupt(f"the batch does not decompress: {exc}") from exc
    if len(raw) > MAX_BATCH_BYTES:
        raise BatchTooLarge(f"the batch inflates to more than {MAX_BATCH_BYTES} bytes")
    if not inflater.eof:
        raise BatchCorrupt("the batch does not decompress: incomplete or truncated stream")
    return raw


def _item(obj: JSON) -> BatchItem:
    if not isinstance(obj, dict) or not isinstance(obj.get("aggregates"), list):
        raise BatchCorrupt("a batch item must be an object with aggregates")
    keys = obj["aggregates"]
    assert isinstance(keys, list)  # noqa: S101 - checked above
    return BatchItem(
        str(obj.get("property_id")), mutation_from_json(obj.get("mutation")), tuple(map(str, keys))
    )


def items_crc(items: Sequence[BatchItem]) -> int:
    """A CRC over a run of items (for logs and tests)."""
    return canonical.crc32([mutation_to_json(i.mutation) for i in items])


@dataclass(frozen=True, slots=True)
class PulledChange:
    """One aggregate's state as pulled, already checked against its CRC."""

    key: str  # "<property id>/<kind>:<id>"
    version: int
    doc: str | None
    crc32: int


@dataclass(frozen=True, slots=True)
class PulledResult:
    """Central's result for one of this edge's mutations."""

    mutation_id: str
    result: str
    reason: str
    tickets: tuple[str, ...]


def pulled_cursor(value: JSON, default: int) -> int:
    """A cursor from a pull answer (``default`` if it has none)."""
    if value is None:
        return default
    if not isinstance(value, int) or isinstance(value, bool):
        raise SyncError("the pull answer has a cursor that is not an integer")
    return value


def pulled_list(answer: dict[str, JSON], name: str) -> list[JSON]:
    """A list from the answer (``changes``, ``results``): there must be one."""
    value = answer.get(name)
    if not isinstance(value, list):
        raise SyncError(f"the pull answer has no {name} list")
    return value


def pulled_change(property_id: str, obj: JSON) -> PulledChange:
    """A pulled change, its key prefixed with its property (its CRC is checked when applied)."""
    if not isinstance(obj, dict):
        raise SyncError("a change must be an object")
    doc = obj.get("doc")
    version, crc = obj.get("version"), obj.get("crc32")
    if not isinstance(version, int) or not isinstance(crc, int):
        raise SyncError("a change needs an integer version and crc32")
    return PulledChange(
        f"{property_id}/{obj.get('key')}", version, doc if isinstance(doc, str) else None, crc
    )


def pulled_result(obj: JSON) -> PulledResult:
    """Central's result for one of this edge's mutations, as pulled."""
    if not isinstance(obj, dict):
        raise SyncError("a result must be an object")
    tickets = obj.get("tickets")
    return PulledResult(
        str(obj.get("mutation_id")),
        str(obj.get("result")),
        str(obj.get("reason") or ""),
        tuple(str(t) for t in tickets) if isinstance(tickets, list) else (),
    )
