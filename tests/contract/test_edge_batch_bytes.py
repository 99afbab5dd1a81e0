"""The edge sends its queued mutations' stored text as it is, and the bytes are the canonical ones.

The worker builds each batch from the queue's rows with their args and deps spliced in as
stored (``encoded_items``), not read into mutations and written again. On a real edge's queue
(bookings, charges with Japanese descriptions, payments, room states) those bytes must be the
very bytes of the mutations read back and encoded whole, and a row that no longer reads back
must be named as damaged (so the worker sets it aside before sending), as it was before.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from support.hotel import Hotel
from yadori.bootstrap import Yadori
from yadori.domain.ids import new_id
from yadori.domain.rooms import Condition
from yadori.services import commands as c
from yadori.storage.edge_sync import EdgeSyncStore
from yadori.storage.tables import outbox
from yadori.sync.errors import DamagedQueue
from yadori.sync.protocol import StoredItem, encode_item


def _queue(edge: Yadori, hotel: Hotel) -> tuple[EdgeSyncStore, list[str]]:
    folio_id = hotel.folio_id(hotel.book())
    for amount, text in ((1_200, 'ミニバー "ビール"\n'), (800, "laundry \\ 洗濯")):
        hotel.run(
            c.PostCharge(
                folio_id=folio_id,
                line_id=new_id(),
                category="misc",
                description=text,
                amount=amount,
            )
        )
    hotel.run(c.PostPayment(folio_id=folio_id, line_id=new_id(), method="cash", amount=2_000))
    hotel.run(c.SetRoomCondition(room_id=hotel.rooms["104"], condition=Condition.DIRTY))
    store = EdgeSyncStore(edge.engine, lambda: datetime.now(UTC))  # no central: none built
    return store, [p.id for p in store.pending(1_000)]


def test_the_spliced_items_are_the_bytes_of_the_mutations_read_back(
    edge_hotel: Hotel, edge: Yadori
) -> None:
    store, ids = _queue(edge, edge_hotel)
    assert len(ids) >= 5
    whole = [encode_item(StoredItem.of(i)) for i in store.items(ids)]
    assert store.encoded_items(ids) == whole
    assert "ミニバー".encode() in b"".join(whole)  # UTF-8, not escaped


@pytest.mark.parametrize(
    "damage",
    [
        {"args": '{"amount": 12'},  # cut short
        {"deps": '{"not": "a list"}'},
        {"priority": 99},  # no such lane
        {"crc32": "seven"},  # SQLite keeps what it is given
        {"aggregates": "[oops"},
    ],
    ids=["args cut short", "deps not a list", "no such lane", "CRC not a number", "keys"],
)
def test_a_row_that_no_longer_reads_back_is_named_on_both_paths(
    edge_hotel: Hotel, edge: Yadori, damage: dict[str, object]
) -> None:
    store, ids = _queue(edge, edge_hotel)
    bad = ids[len(ids) // 2]
    with edge.engine.begin() as conn:
        conn.execute(sa.update(outbox).where(outbox.c.id == bad).values(**damage))
    # (a CRC of the wrong type reads back as a mutation, which central then refuses)
    both = "crc32" not in damage
    for read in (store.items, store.encoded_items) if both else (store.encoded_items,):
        with pytest.raises(DamagedQueue) as raised:
            read(ids)
        assert raised.value.ids == [bad]  # named: its checksum cannot match either


def test_args_stored_as_a_blob_are_read_whole_and_sent(edge_hotel: Hotel, edge: Yadori) -> None:
    """Text written back as a blob by some other tool (a repair, an export) still reads as the
    same mutation, as it did before the splice: it is encoded whole, not stuck in the queue."""
    store, ids = _queue(edge, edge_hotel)
    blob = ids[0]
    with edge.engine.begin() as conn:
        args, deps = conn.execute(
            sa.select(outbox.c.args, outbox.c.deps).where(outbox.c.id == blob)
        ).one()
        conn.exec_driver_sql(
            "UPDATE outbox SET args = ?, deps = ? WHERE id = ?",
            (args.encode(), deps.encode(), blob),
        )
    whole = [encode_item(StoredItem.of(i)) for i in store.items(ids)]
    assert store.encoded_items(ids) == whole
