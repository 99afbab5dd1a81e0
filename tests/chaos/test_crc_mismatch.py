"""Real CRC32 mismatches: bytes changed on the way, so that what arrives is still valid JSON.

The fault proxy flips bits at random (tests/chaos/test_sync_faults.py); here one digit of an
amount, or one field of a pulled document, is changed on purpose, the kind of damage a broken
middlebox or memory error leaves and a JSON parser cannot see. Central is a real `yadori
central` process on PostgreSQL, reached over HTTP; the edge runs in process on SQLite. The
damaged push must be refused whole and the damaged pull taken not at all; each time the next
normal sync converges.
"""

from __future__ import annotations

import dataclasses
import json
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx2
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from support.hotel import Hotel, build_hotel
from support.nodes import CentralProcess, central_process, edge_node, node_bearer
from support.sync import checksums, sync, worker_on
from yadori.bootstrap import NodeConfig, Yadori, bootstrap
from yadori.domain.ids import new_id
from yadori.domain.rooms import Condition
from yadori.services import commands as c
from yadori.storage.edge_sync import CorruptChange
from yadori.storage.engine import make_engine
from yadori.storage.tables import folio_lines, rooms, sync_applied, sync_origins
from yadori.sync.batching import choose_batch
from yadori.sync.canonical import JSON
from yadori.sync.http_transport import HttpTransport
from yadori.sync.mutation import Mutation
from yadori.sync.protocol import CONTENT_TYPE, CRC_HEADER, Batch, encode_batch

pytestmark = [pytest.mark.postgres]

AMOUNT = 4_321
"""A charge's amount, written once in its batch: the digit to change is found by it."""


@dataclass
class Site:
    """Central with the small hotel (a process on PostgreSQL), and an edge that pulled it."""

    central: CentralProcess
    engine: Engine
    hotel: Hotel  # bound to the edge
    edge: Yadori

    @property
    def property_id(self) -> str:
        """The hotel's id."""
        return self.hotel.property_id


@pytest.fixture
def site(pg_url: str, tmp_path: Path) -> Iterator[Site]:
    """Central on a fresh PostgreSQL with the small hotel, and an edge synced with it."""
    node = bootstrap(NodeConfig("central", "central", "C", pg_url))
    hotel = build_hotel(node)
    node.close()
    engine = make_engine(pg_url)
    with central_process(pg_url, tmp_path) as central:
        edge = edge_node(tmp_path, central.url, (hotel.property_id,))
        try:
            sync(edge)
            yield Site(central, engine, dataclasses.replace(hotel, node=edge), edge)
        finally:
            edge.close()
            engine.dispose()


def ledger(site: Site) -> dict[str, str]:
    """Central's recorded result of each of the edge's mutations, by mutation id."""
    with site.engine.connect() as conn:
        rows = conn.execute(
            sa.select(sync_applied.c.mutation_id, sync_applied.c.result).where(
                sync_applied.c.origin == site.edge.config.node_id
            )
        )
        return {r.mutation_id: r.result for r in rows}


def batches_seen(site: Site) -> int:
    """How many of the edge's batches central has placed in its chain."""
    with site.engine.connect() as conn:
        seen = conn.execute(
            sa.select(sync_origins.c.batches).where(
                sync_origins.c.origin == site.edge.config.node_id
            )
        ).scalar()
    return int(seen or 0)


def assert_converged(site: Site) -> None:
    """The edge holds exactly central's data for the hotel and waits for nothing."""
    assert checksums(site.edge.engine, site.property_id) == checksums(site.engine, site.property_id)
    assert site.edge.edge_store is not None
    assert site.edge.edge_store.pending_count() == 0


# --- push -----------------------------------------------------------------------------------


def _queued_batch(site: Site) -> tuple[bytes, int]:
    """The edge's pending mutations as its worker would push them next: body and CRC."""
    store = site.edge.edge_store
    assert store is not None
    state = store.state()
    chosen = choose_batch(store.pending(1_000), 500)  # lanes first, never before a dependency
    items = tuple(store.items([p.id for p in chosen]))
    number, prev = int(state.get("batch_no", "0")) + 1, int(state.get("batch_crc", "0"))
    return encode_batch(Batch(site.edge.config.node_id, number, prev, items, last=True))


def _one_digit_changed(body: bytes) -> bytes:
    """The batch's uncompressed bytes with the charge's amount one digit off (still JSON)."""
    raw = zlib.decompress(body)
    was, now = f'"amount":{AMOUNT}'.encode(), f'"amount":{AMOUNT + 500}'.encode()
    assert raw.count(was) == 1
    changed = raw.replace(was, now)
    json.loads(changed)  # a parser sees nothing wrong
    return changed


def _charge(site: Site) -> tuple[Mutation, str]:
    """Book a stay at the edge and charge its folio ``AMOUNT``: the charge and its line."""
    folio = site.hotel.folio_id(site.hotel.book(nights=1))
    line = new_id()
    cmd = c.PostCharge(
        folio_id=folio, line_id=line, category="minibar", description="beer", amount=AMOUNT
    )
    return site.hotel.run(cmd).mutation, line


def _amount_at_central(site: Site, line_id: str) -> int | None:
    with site.engine.connect() as conn:
        return conn.execute(
            sa.select(folio_lines.c.amount).where(folio_lines.c.id == line_id)
        ).scalar()


@pytest.mark.parametrize(
    "header",
    ["original", "recomputed"],
    ids=["batch-crc-of-the-original", "batch-crc-recomputed-mutation-crc-stale"],
)
def test_a_digit_changed_in_a_pushed_amount_is_refused_whole_and_the_sync_applies_it(
    site: Site, header: str
) -> None:
    """One digit of a charge's amount changed, recompressed: with the batch's own CRC header
    the batch fails its CRC; with a header recomputed to match, the charge fails its own. Both
    are 422 batch_corrupt and nothing of the batch is applied; the edge's sync then applies
    the charge as it was made."""
    charge, line = _charge(site)
    body, crc = _queued_batch(site)
    changed = _one_digit_changed(body)
    check = crc if header == "original" else zlib.crc32(changed)
    assert site.edge.node_key is not None
    headers = {
        "Content-Type": CONTENT_TYPE,
        CRC_HEADER: str(check),
        **node_bearer(site.edge.node_key),
    }
    answer = httpx2.post(
        f"{site.central.url}/sync/v1/push",
        content=zlib.compress(changed, 6),
        headers=headers,
        timeout=10,
    )
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert answer.json()["code"] == "batch_corrupt"
    reason = "CRC32 does not match" if header == "original" else f"first {charge.id}"
    assert reason in answer.json()["detail"]
    assert ledger(site) == {}  # neither the charge nor the booking before it
    assert batches_seen(site) == 0
    assert _amount_at_central(site, line) is None
    sync(site.edge)
    assert ledger(site)[charge.id] == "applied"
    assert _amount_at_central(site, line) == AMOUNT
    assert_converged(site)


# --- pull -----------------------------------------------------------------------------------


class DocChanged:
    """The edge's transport; one aggregate's pulled document arrives changed, its CRC as sent.

    Wherever the page comes: a pull's answer, or the page that rides with the push's answer
    (decision 0049). ``where`` says which calls carried the changed document.
    """

    def __init__(self, inner: HttpTransport, key: str, was: str, now: str) -> None:
        self._inner, self._key, self._was, self._now = inner, key, was, now
        self.where: list[str] = []

    def push(self, body: bytes, crc: int) -> dict[str, JSON]:
        return self._inner.push(body, crc)

    def push_pulling(self, body: bytes, crc: int, params: dict[str, str | int]) -> dict[str, JSON]:
        answer = self._inner.push_pulling(body, crc, params)
        page = answer.get("page")
        if isinstance(page, dict):
            self._change(page, "push_pulling")
        return answer

    def pull(self, params: dict[str, str | int]) -> dict[str, JSON]:
        answer = self._inner.pull(params)
        self._change(answer, "pull")
        return answer

    def _change(self, page: dict[str, JSON], call: str) -> None:
        changes = page.get("changes")
        assert isinstance(changes, list)
        for change in changes:
            if isinstance(change, dict) and change.get("key") == self._key:
                doc = str(change["doc"])
                assert doc.count(self._was) == 1, doc
                change["doc"] = doc.replace(self._was, self._now)
                json.loads(str(change["doc"]))  # still a document a parser takes
                self.where.append(call)


def _room(engine: Engine, room_id: str) -> tuple[str, str]:
    """A room's number and condition as a node's database holds them."""
    with engine.connect() as conn:
        row = conn.execute(
            sa.select(rooms.c.number, rooms.c.condition).where(rooms.c.id == room_id)
        ).one()
    return row.number, row.condition


@pytest.mark.parametrize("riding", [False, True], ids=["pulled", "riding-with-the-push"])
def test_a_pulled_document_changed_on_the_way_is_not_taken_and_the_next_pull_heals(
    site: Site, riding: bool
) -> None:
    """Head office reports room 201 dirty; its document reaches the edge with the number
    changed and central's CRC. The page fails with CorruptChange, whether pulled or riding with
    a push: no row of it is written, no cursor moves. The next sync, undamaged, converges."""
    room = site.hotel.rooms["201"]
    code = site.edge.directory.codes()[0]
    answer = httpx2.post(
        f"{site.central.url}/api/v1/properties/{code}/rooms/{room}/condition",
        json={"condition": "dirty"},
        headers=site.central.staff_headers(site.property_id),
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    if riding:  # something to push: the first page comes back with the push's answer
        other = c.SetRoomCondition(room_id=site.hotel.rooms["102"], condition=Condition.INSPECTED)
        site.hotel.run(other)
    store, transport = site.edge.edge_store, site.edge.transport
    assert store is not None
    assert transport is not None
    state, before = store.state(), checksums(site.edge.engine, site.property_id)
    damaged = DocChanged(transport, f"room:{room}", '"number":"201"', '"number":"299"')
    with pytest.raises(CorruptChange, match=f"room:{room}"):
        worker_on(site.edge, damaged).cycle()
    assert damaged.where == (["push_pulling"] if riding else ["pull"])
    after = store.state()
    for name in (f"cursor:{site.property_id}", "results_no", "last_pull_ok", "hlc_seen"):
        assert after.get(name) == state.get(name), name
    assert checksums(site.edge.engine, site.property_id) == before
    assert _room(site.edge.engine, room) == ("201", "clean")
    assert store.pending_count() == (1 if riding else 0)
    sync(site.edge)
    assert _room(site.edge.engine, room) == _room(site.engine, room) == ("201", "dirty")
    assert_converged(site)
