"""Edge ↔ central over real HTTP: a `yadori central` process on PostgreSQL, edges on SQLite.

Each test starts central on a fresh database holding a small hotel, puts the fault proxy in
front of it, and syncs in-process edges through it by calling the worker's cycle directly, so
every step is deterministic. Central-side staff work goes through central's HTTP API.
Convergence is judged by per-table row counts and combined CRC32s of the hotel, computed the
same way on both databases.
"""

from __future__ import annotations

import dataclasses
import queue
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx2
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from starlette.testclient import TestClient
from typer.testing import CliRunner

from support.hotel import ACTOR, TODAY, Hotel, build_hotel
from support.nodes import CentralProcess, central_process, edge_node, enrol_key, proxy_to
from support.sync import checksums, sync, worker_on
from yadori.api.app import create_app
from yadori.auth.tokens import issue_node
from yadori.bootstrap import NodeConfig, Yadori, bootstrap
from yadori.cli.demo_hotel import demo_id, seed
from yadori.cli.fault_proxy import FaultProxy
from yadori.cli.main import app as cli
from yadori.domain.conflicts import TicketStatus
from yadori.domain.folio import ManagerOverride
from yadori.domain.ids import new_id
from yadori.domain.reservations import Reservation, ReservationStatus
from yadori.domain.rooms import Condition, Service
from yadori.services import commands as c
from yadori.services import queries
from yadori.storage import aggregates
from yadori.storage.edge_sync import CorruptChange, EdgeSyncStore
from yadori.storage.engine import make_engine
from yadori.storage.tables import (
    folio_lines,
    outbox,
    room_nights,
    sync_applied,
    sync_dirty,
    sync_feed,
    sync_origins,
)
from yadori.sync import queue_guard
from yadori.sync import worker as worker_module
from yadori.sync.batching import Pending
from yadori.sync.canonical import JSON
from yadori.sync.errors import LinkDown, QueueHeld, SyncError, SyncRefused
from yadori.sync.http_transport import HttpTransport
from yadori.sync.mutation import Mutation, Priority, make_mutation
from yadori.sync.protocol import BATCH_FRAME, MAX_BATCH_BYTES, Batch, BatchItem, encode_batch
from yadori.sync.sync_ports import REPUBLISH
from yadori.sync.worker import SyncWorker

pytestmark = [
    pytest.mark.postgres,
    # support/nodes.py leaves central's log file for the garbage collector (reported)
]


@dataclass
class Site:
    """Central as a process with the small hotel, the fault proxy in front, and edges."""

    central: CentralProcess
    proxy: FaultProxy
    engine: Engine
    api: httpx2.Client
    hotel: Hotel
    code: str
    tmp: Path
    edges: list[Yadori] = field(default_factory=list)

    def edge(self, name: str = "edge1", prefix: str = "E1") -> tuple[Yadori, Hotel]:
        """A new edge that has pulled the hotel, and the hotel's shortcuts bound to it."""
        node = edge_node(
            self.tmp, self.proxy.url, (self.hotel.property_id,), name=name, prefix=prefix
        )
        self.edges.append(node)
        sync(node)
        return node, dataclasses.replace(self.hotel, node=node)

    def post(self, path: str, body: dict[str, object]) -> dict[str, object]:
        """POST to central's API for the hotel, as head-office staff."""
        response = self.api.post(f"/api/v1/properties/{self.code}{path}", json=body)
        assert response.status_code < 300, response.text
        answer: dict[str, object] = response.json()
        return answer

    def get(self, path: str, **params: str) -> object:
        """GET from central's API for the hotel."""
        response = self.api.get(f"/api/v1/properties/{self.code}{path}", params=params)
        assert response.status_code == 200, response.text
        return response.json()

    def cut(self, edge: Yadori) -> None:
        """Cut the WAN and show that the edge can no longer sync."""
        self.proxy.set("cut")
        with pytest.raises(LinkDown):
            edge.worker.cycle()  # type: ignore[union-attr]

    def heal(self, *edges: Yadori) -> None:
        """Restore the WAN and sync the edges in turn, twice (so each sees the others)."""
        self.proxy.set("pass")
        for _ in range(2):
            for edge in edges:
                sync(edge)


@pytest.fixture
def site(pg_url: str, tmp_path: Path) -> Iterator[Site]:
    """Central on a fresh PostgreSQL with the small hotel, behind a fault proxy."""
    node = bootstrap(NodeConfig("central", "central", "C", pg_url))
    hotel = build_hotel(node)
    code = node.directory.codes()[0]
    node.close()
    engine = make_engine(pg_url)
    with (
        central_process(pg_url, tmp_path) as central,
        proxy_to(central) as proxy,
        httpx2.Client(
            base_url=central.url, headers=central.staff_headers(hotel.property_id), timeout=10
        ) as api,
    ):
        made = Site(central, proxy, engine, api, hotel, code, tmp_path)
        try:
            yield made
        finally:
            for edge in made.edges:
                edge.close()
            engine.dispose()


def assert_converged(site: Site, *edges: Yadori) -> None:
    """Every edge holds exactly central's data for the hotel and waits for nothing."""
    want = checksums(site.engine, site.hotel.property_id)
    assert want, "central holds no data for the hotel"
    for edge in edges:
        assert checksums(edge.engine, site.hotel.property_id) == want, edge.config.node_id
        assert edge.edge_store is not None
        assert edge.edge_store.pending_count() == 0


def ledger(site: Site, origin: str) -> dict[str, sa.Row[tuple[object, ...]]]:
    """Central's recorded results of an origin's mutations, by mutation id."""
    with site.engine.connect() as conn:
        rows = conn.execute(sa.select(sync_applied).where(sync_applied.c.origin == origin))
        return {r.mutation_id: r for r in rows}


def outbox_rows(edge: Yadori) -> list[sa.Row[tuple[object, ...]]]:
    """The edge's outbox in sequence order."""
    with edge.engine.connect() as conn:
        return list(conn.execute(sa.select(outbox).order_by(outbox.c.seq)))


def told(banner: queue.Queue[dict[str, JSON]]) -> dict[str, list[dict[str, JSON]]]:
    """The events the edge's hub has told a subscription so far, by kind, in order."""
    by_kind: dict[str, list[dict[str, JSON]]] = {}
    while not banner.empty():
        event = banner.get_nowait()
        assert isinstance(event["data"], dict)
        by_kind.setdefault(str(event["event"]), []).append(event["data"])
    return by_kind


def walk_in(hotel: Hotel, room: str, name: str = "Walk-in Guest") -> Reservation:
    """A guest without a booking: book one night and check in to the room."""
    return hotel.check_in(hotel.book(nights=1, name=name), room)


def charge(hotel: Hotel, folio_id: str, amount: int, what: str = "minibar") -> Mutation:
    """Post a minibar charge and return its mutation."""
    cmd = c.PostCharge(
        folio_id=folio_id, line_id=new_id(), category="minibar", description=what, amount=amount
    )
    return hotel.run(cmd).mutation


def room_of(node: Yadori, hotel: Hotel, number: str) -> dict[str, object]:
    """A room's register fields as the node holds them."""
    room = node.bus.read(hotel.property_id, lambda uow: uow.rooms.get(hotel.rooms[number]))
    return {"condition": room.condition.value, "version": room.version, "by": room.stamp.node}


# --- pull and push ------------------------------------------------------------------------


def test_initial_pull_copies_the_seeded_demo_hotel(pg_url: str, tmp_path: Path) -> None:
    """An empty edge pulls the whole demo hotel and then holds exactly central's rows."""
    node = bootstrap(NodeConfig("central", "central", "C", pg_url))
    demo = seed(node.bus, TODAY)
    node.close()
    engine = make_engine(pg_url)
    with central_process(pg_url, tmp_path) as central, proxy_to(central) as proxy:
        edge = edge_node(tmp_path, proxy.url, (demo_id("property"),))
        try:
            first = edge.worker.cycle()  # type: ignore[union-attr]
            again = edge.worker.cycle()  # type: ignore[union-attr]
            pulled = checksums(edge.engine, demo.property_id)
            assert pulled == checksums(engine, demo.property_id)
            rows = {s.table: s.rows for s in pulled}
        finally:
            edge.close()
            engine.dispose()
    assert rows["rooms"] == demo.rooms == 40
    assert rows["reservations"] == demo.reservations
    assert rows["registry_entries"] >= demo.in_house > 0
    assert first.pulled_changes > demo.rooms + demo.reservations
    assert (again.pulled_changes, again.pushed) == (0, 0)


def test_front_desk_writes_at_the_edge_reach_central(site: Site) -> None:
    """Check-in, charges, a payment and housekeeping made at the edge converge at central."""
    edge, hotel = site.edge()
    guest = walk_in(hotel, "201")
    folio = hotel.folio_id(guest)
    charge(hotel, folio, 600, "beer")
    charge(hotel, folio, 300, "water")
    hotel.run(c.PostPayment(folio_id=folio, line_id=new_id(), method="card", amount=900))
    hotel.run(c.SetRoomCondition(room_id=hotel.rooms["102"], condition=Condition.DIRTY))
    written = len(outbox_rows(edge))
    sync(edge)
    assert_converged(site, edge)
    results = ledger(site, "edge1")
    assert len(results) == written == 6
    assert {r.result for r in results.values()} == {"applied"}
    stay = site.get(f"/reservations/{guest.id}")
    assert isinstance(stay, dict)
    assert stay["reservation"]["status"] == "checked_in"
    assert sorted(line["amount"] for line in stay["folio"]["lines"]) == [300, 600, 900]


def test_every_mutation_gets_one_result_and_leaves_the_queue_only_after_the_pull(
    site: Site,
) -> None:
    """Pushed but not yet pulled is still pending; resending dedups; the pull acknowledges."""
    edge, hotel = site.edge()
    assert edge.edge_store is not None
    assert edge.transport is not None
    guest = hotel.book(nights=2)
    made = [charge(hotel, hotel.folio_id(guest), 100 * n) for n in range(1, 6)]
    push_only = SyncWorker(
        edge.edge_store,
        _NoPull(edge.transport),
        origin="edge1",
        properties=lambda: [hotel.property_id],
        hlc=edge.bus.hlc,
        now=lambda: datetime.now(UTC),
    )
    for _ in range(2):  # the second push resends what is still unacknowledged
        with pytest.raises(LinkDown):
            push_only.cycle()
        assert edge.edge_store.pending_count() == 6
        assert {r.state for r in outbox_rows(edge)} == {"sent"}
        assert len(ledger(site, "edge1")) == 6
    sync(edge)
    rows = outbox_rows(edge)
    assert {r.state for r in rows} == {"done"}
    assert {r.result for r in rows} == {"applied"}
    results = ledger(site, "edge1")
    assert set(results) == {r.id for r in rows} >= {m.id for m in made}
    assert sorted(r.seq for r in results.values()) == [r.seq for r in rows]
    assert_converged(site, edge)


class _NoPull:
    """The edge's transport with every pull failing (lost, by default): pushes only."""

    def __init__(self, inner: HttpTransport, error: SyncError | None = None) -> None:
        self._inner = inner
        self._error = error or LinkDown("this test loses every pull")

    def push(self, body: bytes, crc: int) -> dict[str, object]:
        return self._inner.push(body, crc)  # type: ignore[return-value]

    def pull(self, params: dict[str, str | int]) -> dict[str, object]:
        raise self._error


def test_a_rejected_mutation_is_shown_and_blocks_nothing(site: Site) -> None:
    """A charge to an unknown folio is rejected, shown in /sync/status, and blocks nothing after."""
    edge, hotel = site.edge()
    guest = hotel.book(nights=2)
    folio = hotel.folio_id(guest)
    sync(edge)
    ghost = _folio_only_the_edge_has(edge, hotel, guest)
    bad = charge(hotel, ghost, 700, "to a folio central never had")
    after = [
        charge(hotel, folio, 300),
        hotel.run(c.PostPayment(folio_id=folio, line_id=new_id(), method="cash", amount=300)),
        hotel.run(c.SetRoomCondition(room_id=hotel.rooms["104"], condition=Condition.DIRTY)),
        hotel.run(c.CreateReservation(**_booking(hotel))),  # type: ignore[arg-type]
    ]
    later = [m if isinstance(m, Mutation) else m.mutation for m in after]
    banner = edge.events.subscribe()
    report = edge.worker.cycle()  # type: ignore[union-attr]
    assert (report.pushed, report.rejected) == (5, 1)
    results = ledger(site, "edge1")
    assert results[bad.id].result == "rejected"
    assert "unknown_folio" in results[bad.id].reason
    # the staff banner is told at once, with the reason, on the edge's /events stream
    [told_rejected] = told(banner)["rejected"]
    assert told_rejected["mutations"] == [{"mutation_id": bad.id, "reason": results[bad.id].reason}]
    assert all(results[m.id].result == "applied" for m in later)
    status = edge.sync_status()
    assert status["pending"] == 0
    assert status["rejected"] == [
        {"id": bad.id, "name": "post_charge", "reason": results[bad.id].reason, "hlc": bad.hlc}
    ]
    headers = site.central.staff_headers(hotel.property_id)  # central's tokens hold at edges
    with TestClient(create_app(edge), headers=headers) as client:
        shown = client.get("/sync/status").json()
    assert [r["id"] for r in shown["rejected"]] == [bad.id]
    assert_converged(site, edge)  # the ghost folio is gone at the edge too
    with edge.engine.connect() as conn:
        assert aggregates.snapshot(conn, f"folio:{ghost}") is None


@pytest.mark.parametrize("damage", ["flipped", "unreadable"])
def test_a_mutation_damaged_in_the_edges_queue_is_set_aside_and_the_rest_syncs(
    site: Site, damage: str
) -> None:
    """A queued mutation whose stored bytes changed after it was sealed (a bit flipped on the
    disk) fails its CRC32 at central, and central refuses every batch that carries it: the
    whole queue would stay stuck behind it, and the link look down (DESIGN §11). The edge sets
    it aside instead, rejected with a reason and an alert, when central refuses its batch
    ("flipped"), or before sending when its row no longer reads back at all ("unreadable");
    everything else in every lane syncs in the same cycle."""
    edge, hotel = site.edge()
    guest = hotel.book(nights=2)
    folio = hotel.folio_id(guest)
    sync(edge)
    bad = charge(hotel, folio, 700, "minibar")
    good = [
        charge(hotel, folio, 300),
        hotel.run(c.PostPayment(folio_id=folio, line_id=new_id(), method="cash", amount=300)),
        hotel.run(c.SetRoomCondition(room_id=hotel.rooms["104"], condition=Condition.DIRTY)),
    ]
    later = [m if isinstance(m, Mutation) else m.mutation for m in good]
    args = sa.func.replace(outbox.c.args, "700", "100") if damage == "flipped" else "{\x00"
    with edge.engine.begin() as conn:  # the disk, not the code: the row changes under its CRC
        conn.execute(sa.update(outbox).where(outbox.c.id == bad.id).values(args=args))
    banner = edge.events.subscribe()
    report = edge.worker.cycle()  # type: ignore[union-attr]
    assert report.pushed == len(later)
    results = ledger(site, "edge1")
    assert bad.id not in results
    assert all(results[m.id].result == "applied" for m in later)
    status = edge.sync_status()
    assert status["pending"] == 0
    [rejected] = status["rejected"]  # type: ignore[misc]
    assert rejected["id"] == bad.id
    assert rejected["reason"].startswith("damaged_at_edge:")
    assert edge.edge_store is not None
    assert [a["kind"] for a in edge.edge_store.alerts()] == ["outbox_damaged"]
    events = told(banner)  # the banner hears of both, as they happen
    [alert] = events["alert"]
    assert alert["kind"] == "outbox_damaged"
    assert bad.id in str(alert["message"])
    [told_rejected] = events["rejected"]
    assert told_rejected["mutations"] == [{"mutation_id": bad.id, "reason": rejected["reason"]}]
    sync(edge)  # nothing left to send, nothing refused


def test_a_damaged_mutation_in_a_later_batch_keeps_the_chain_whole(site: Site) -> None:
    """Batches of two, the fourth of five charges damaged: the first batch is answered, the
    second refused; the push starts over from the stored chain without the damaged one, so
    central sees no break in the chain and every other charge applied."""
    edge, hotel = site.edge()
    folio = hotel.folio_id(hotel.book(nights=2))
    sync(edge)
    made = [charge(hotel, folio, 100 + n) for n in range(5)]
    bad = made[3]
    with edge.engine.begin() as conn:
        conn.execute(
            sa.update(outbox)
            .where(outbox.c.id == bad.id)
            .values(args=sa.func.replace(outbox.c.args, '"amount":103', '"amount":193'))
        )
    assert edge.transport is not None
    breaks_before = _chain(site, "edge1")[2]
    report = worker_on(edge, edge.transport, batch_size=2).cycle()
    assert (report.pushed, report.rejected) == (4, 1)
    results = ledger(site, "edge1")
    assert bad.id not in results
    assert all(results[m.id].result == "applied" for m in made if m is not bad)
    _, batches, breaks = _chain(site, "edge1")
    assert breaks == breaks_before
    later = charge(hotel, folio, 900)
    sync(edge)  # and the edge's own worker carries the chain on from there
    assert _chain(site, "edge1")[1:] == (batches + 1, breaks_before)
    assert ledger(site, "edge1")[later.id].result == "applied"


def test_more_damaged_mutations_than_a_disk_fault_explains_hold_the_queue(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Setting aside has a brake: past MAX_SET_ASIDE damaged mutations in all (an upgrade that
    reads old rows otherwise, a bug), the queue is held and the error raised for the monitor to
    escalate, rather than every queued operation rejected; nothing is set aside or lost."""
    monkeypatch.setattr(queue_guard, "MAX_SET_ASIDE", 1)
    edge, hotel = site.edge()
    folio = hotel.folio_id(hotel.book(nights=2))
    sync(edge)
    bad = [charge(hotel, folio, 700), charge(hotel, folio, 800)]
    with edge.engine.begin() as conn:
        for m in bad:
            conn.execute(
                sa.update(outbox)
                .where(outbox.c.id == m.id)
                .values(args=sa.func.replace(outbox.c.args, "00", "01"))
            )
    assert edge.worker is not None
    assert edge.edge_store is not None
    with pytest.raises(QueueHeld, match="more than a disk fault or an odd operation explains"):
        edge.worker.cycle()
    assert edge.edge_store.pending_count() == 2
    assert edge.sync_status()["rejected"] == []
    assert not any(m.id in ledger(site, "edge1") for m in bad)


def test_it_releases_the_brake_and_the_held_queue_goes_on(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past the brake the queue is held. `yadori edge release-brake --allow N`, run beside the
    edge on its database, lets N more be set aside from then on: too few, and the brake holds
    again, now counting since the release; enough, and the next cycle sets the damaged ones
    aside (rejected, each with an alert; central's folio taken back) and syncs the rest. Each
    release is recorded as an alert."""
    monkeypatch.setattr(queue_guard, "MAX_SET_ASIDE", 1)
    edge, hotel = site.edge()
    folio = hotel.folio_id(hotel.book(nights=2))
    sync(edge)
    bad = [charge(hotel, folio, 701 + n) for n in range(3)]
    room = hotel.run(c.SetRoomCondition(room_id=hotel.rooms["104"], condition=Condition.DIRTY))
    with edge.engine.begin() as conn:
        for m in bad:
            args = sa.func.replace(outbox.c.args, str(m.args["amount"]), "1")
            conn.execute(sa.update(outbox).where(outbox.c.id == m.id).values(args=args))
    assert edge.worker is not None
    assert edge.edge_store is not None
    with pytest.raises(QueueHeld, match="set aside in the last 24 hours"):
        edge.worker.cycle()

    def release(allow: int) -> str:
        command = ["edge", "--data-dir", str(site.tmp), "--node-id", "edge1", "release-brake"]
        result = CliRunner().invoke(cli, [*command, "--allow", str(allow)])
        assert result.exit_code == 0, result.output
        return " ".join(result.output.split())

    told = release(2)
    assert "up to 2 queued operation(s) that cannot be sent may be set aside" in told
    assert f"{len(bad) + 1} wait for central" in told
    with pytest.raises(QueueHeld, match="since IT released the brake at"):
        edge.worker.cycle()
    assert edge.edge_store.pending_count() == len(bad) + 1
    release(len(bad))
    report = edge.worker.cycle()
    assert (report.pushed, report.rejected) == (1, len(bad))
    assert ledger(site, "edge1")[room.mutation.id].result == "applied"
    assert sorted(r["id"] for r in edge.sync_status()["rejected"]) == sorted(m.id for m in bad)  # type: ignore[union-attr]
    kinds = [a["kind"] for a in edge.edge_store.alerts()]
    assert kinds.count("brake_released") == 2
    assert kinds.count("outbox_damaged") == len(bad)
    assert_converged(site, edge)


def test_batches_cut_to_central_s_bound_apply_in_order_over_http(site: Site) -> None:
    """An edge whose chosen batches are larger than a batch may be (here: room for three
    charges) sends their leading parts: central applies every mutation once, in order, the
    chain unbroken, and both sides hold the same data."""
    edge, hotel = site.edge()
    folio = hotel.folio_id(hotel.book(nights=2))
    sync(edge)
    made = [charge(hotel, folio, 100 + n) for n in range(10)]
    assert edge.transport is not None
    assert edge.edge_store is not None
    items = edge.edge_store.encoded_items([m.id for m in made])
    limit = BATCH_FRAME + 3 * (max(map(len, items)) + 1)
    breaks_before = _chain(site, "edge1")[1:]
    report = worker_on(edge, edge.transport, batch_size=10, batch_bytes=limit).cycle()
    assert (report.pushed, report.rejected) == (10, 0)
    assert report.batches >= 4  # ten charges, at most three (four of the smallest) a batch
    results = ledger(site, "edge1")
    assert all(results[m.id].result == "applied" for m in made)
    assert _chain(site, "edge1")[1:] == (breaks_before[0] + report.batches, breaks_before[1])
    assert edge.edge_store.pending_count() == 0
    assert_converged(site, edge)


def test_a_mutation_too_large_to_send_is_set_aside_and_the_rest_syncs(site: Site) -> None:
    """Small, small, one too large for any batch, then small again on the same folio: the small
    ones are applied at central in that cycle, none twice; the large one is sent nowhere and
    set aside, rejected with a reason, an alert and an ESCALATION line (it would hold every
    lane behind it for ever, decision 0063). The charge after it touched the same folio, so
    central's folio comes back without the large line, and both nodes hold the same data."""
    edge, hotel = site.edge()
    folio = hotel.folio_id(hotel.book(nights=2))
    sync(edge)
    small = [charge(hotel, folio, 100), charge(hotel, folio, 200)]
    large = hotel.run(
        c.PostCharge(
            folio_id=folio, line_id=new_id(), category="misc", description="宿" * 500, amount=1
        )
    ).mutation
    small.append(charge(hotel, folio, 300))
    assert edge.transport is not None
    assert edge.edge_store is not None
    sizes = [len(i) for i in edge.edge_store.encoded_items([m.id for m in (*small, large)])]
    limit = BATCH_FRAME + sizes[0] + sizes[1] + 2
    assert BATCH_FRAME + sizes[3] + 1 > limit  # alone, too large
    worker = worker_on(edge, edge.transport, batch_bytes=limit)
    banner = edge.events.subscribe()
    batches = _chain(site, "edge1")[1]
    report = worker.cycle()
    assert (report.pushed, report.rejected, report.batches) == (3, 1, 2)
    assert _chain(site, "edge1")[1] == batches + 2  # the two before it, then the one after
    results = ledger(site, "edge1")
    assert [results[m.id].result for m in small] == ["applied"] * 3
    assert large.id not in results
    status = edge.sync_status()
    assert status["pending"] == 0
    [rejected] = status["rejected"]  # type: ignore[misc]
    assert rejected["id"] == large.id
    assert rejected["reason"].startswith(f"too_large_to_send: it is {sizes[3]} bytes encoded")
    assert [a["kind"] for a in edge.edge_store.alerts()] == ["outbox_too_large"]
    events = told(banner)
    assert [a["kind"] for a in events["alert"]] == ["outbox_too_large"]
    assert events["rejected"][0]["mutations"] == [
        {"mutation_id": large.id, "reason": rejected["reason"]}
    ]
    assert_converged(site, edge)
    batches = _chain(site, "edge1")[1]
    assert worker.cycle().pushed == 0  # nothing left to send, nothing sent twice
    assert _chain(site, "edge1")[1] == batches


def _set_aside_alone(site: Site, why: str) -> tuple[Yadori, Hotel, Mutation, Mutation, int]:
    """An edge with a charge that will be set aside (``damaged`` at rest, or ``too_large`` for a
    batch), alone on its folio, then a room's condition; a batch may carry the condition."""
    edge, hotel = site.edge()
    folio = hotel.folio_id(hotel.book(nights=2))
    sync(edge)
    description = "宿" * 500 if why == "too_large" else "minibar"
    bad = hotel.run(
        c.PostCharge(
            folio_id=folio, line_id=new_id(), category="misc", description=description, amount=700
        )
    ).mutation
    room = hotel.run(c.SetRoomCondition(room_id=hotel.rooms["104"], condition=Condition.DIRTY))
    assert edge.edge_store is not None
    if why == "damaged":
        with edge.engine.begin() as conn:  # the disk, not the code: it changes under its CRC
            args = sa.func.replace(outbox.c.args, "700", "100")
            conn.execute(sa.update(outbox).where(outbox.c.id == bad.id).values(args=args))
    [size] = [len(i) for i in edge.edge_store.encoded_items([room.mutation.id])]
    assert _lines(edge, bad) == 1  # the edge shows the charge until central's folio is back
    limit = BATCH_FRAME + size + 2 if why == "too_large" else MAX_BATCH_BYTES
    return edge, hotel, bad, room.mutation, limit


def _lines(node: Yadori, charged: Mutation) -> int:
    """How many lines the node holds of a charge's mutation (by its line id)."""
    with node.engine.connect() as conn:
        query = sa.select(sa.func.count()).where(folio_lines.c.id == charged.args["line_id"])
        return int(conn.execute(query).scalar_one())


def _asks(edge: Yadori) -> dict[str, str]:
    """The edge's stored asks for central to publish again (decision 0064)."""
    assert edge.edge_store is not None
    return {k: v for k, v in edge.edge_store.state().items() if k.startswith(REPUBLISH)}


@pytest.mark.parametrize("why", ["damaged", "too_large"])
def test_what_a_set_aside_mutation_did_is_undone_at_the_edge(site: Site, why: str) -> None:
    """A mutation set aside never reaches central, and here nothing else touches its folio:
    the edge asks central to publish what it touched again (decision 0064) and takes central's
    folio back in the same cycle, without the line only the edge had; both nodes hold the
    same data, and the ask is not made twice."""
    edge, _, bad, room, limit = _set_aside_alone(site, why)
    assert edge.transport is not None
    report = worker_on(edge, edge.transport, batch_bytes=limit).cycle()
    assert (report.pushed, report.rejected) == (1, 1)
    assert ledger(site, "edge1")[room.id].result == "applied"
    assert bad.id not in ledger(site, "edge1")
    assert _lines(edge, bad) == 0
    assert_converged(site, edge)
    assert _asks(edge) == {}


class _AskFailsOnce:
    """The edge's link, cut once while it asks central to publish again."""

    def __init__(self, inner: HttpTransport) -> None:
        self.inner = inner
        self.asked: list[tuple[str, list[str]]] = []

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)

    def republish(self, property_id: str, keys: list[str]) -> dict[str, JSON]:
        self.asked.append((property_id, keys))
        if len(self.asked) == 1:
            raise LinkDown("POST /sync/v1/republish: the link was cut")
        return self.inner.republish(property_id, keys)


def _set_aside_through(
    site: Site,
    wrap: type[_AskFailsOnce],
    caplog: pytest.LogCaptureFixture,
    level: str,
) -> tuple[Yadori, Hotel, Mutation, SyncWorker, _AskFailsOnce]:
    """A too-large charge alone on its folio, then a room's condition, synced once through
    ``wrap`` of the edge's link (logs at ``level`` kept): the charge set aside, the condition
    applied."""
    edge, hotel, bad, room, limit = _set_aside_alone(site, "too_large")
    assert edge.transport is not None
    link = wrap(edge.transport)
    worker = worker_on(edge, link, batch_bytes=limit)
    with caplog.at_level(level, logger="yadori.sync"):
        report = worker.cycle()
    assert (report.pushed, report.rejected) == (1, 1)
    assert ledger(site, "edge1")[room.id].result == "applied"
    return edge, hotel, bad, worker, link


def test_an_ask_that_fails_is_asked_again_and_holds_nothing(
    site: Site, caplog: pytest.LogCaptureFixture
) -> None:
    """The ask is stored with the set-aside, in one transaction. A cut while asking keeps it
    (said once) and the push goes on: an ask never holds the queue. The next cycle asks
    first; the edge gets central's folio back and both hold the same data."""
    edge, hotel, bad, worker, link = _set_aside_through(site, _AskFailsOnce, caplog, "WARNING")
    assert caplog.text.count("asked again next cycle, and the push goes on") == 1
    stored = _asks(edge)
    assert list(stored) == [f"{REPUBLISH}{hotel.property_id}"]
    assert f"folio:{bad.args['folio_id']}" in stored[f"{REPUBLISH}{hotel.property_id}"]
    assert _lines(edge, bad) == 1
    worker.cycle()
    assert link.asked[0] == link.asked[1]
    assert _lines(edge, bad) == 0
    assert_converged(site, edge)
    assert _asks(edge) == {}


def test_an_ask_is_made_before_the_pull_when_the_push_gave_up(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A cycle starts its push over after setting damaged mutations aside, a few times at most
    (``DAMAGED_RETRIES``); when the last try set some aside, what they touched is asked for
    before the pull, so the edge still gets central's folio back in that cycle."""
    monkeypatch.setattr(worker_module, "DAMAGED_RETRIES", 1)
    edge, _, bad, room, _ = _set_aside_alone(site, "damaged")
    assert edge.worker is not None
    report = edge.worker.cycle()
    assert (report.pushed, report.rejected) == (0, 1)  # the room waits for the next cycle
    assert _lines(edge, bad) == 0
    assert _asks(edge) == {}
    sync(edge)
    assert ledger(site, "edge1")[room.id].result == "applied"
    assert_converged(site, edge)


class _AsksForAnotherProperty(_AskFailsOnce):
    """The edge's link, asking for a property the edge is not enrolled for (one it left)."""

    def republish(self, property_id: str, keys: list[str]) -> dict[str, JSON]:
        self.asked.append((property_id, keys))
        return self.inner.republish("another-property", keys)


def test_an_ask_central_refuses_is_dropped_loudly(
    site: Site, caplog: pytest.LogCaptureFixture
) -> None:
    """Central refuses an ask for a property the edge is not enrolled for: asking again cannot
    help, so the ask is dropped with an ESCALATION line and the rest syncs; the edge keeps the
    set-aside charge's line (the daily reconciliation shows it), and asks nothing again."""
    edge, _, bad, worker, link = _set_aside_through(site, _AsksForAnotherProperty, caplog, "ERROR")
    [line] = [r.getMessage() for r in caplog.records if "republish_refused" in r.getMessage()]
    assert line.startswith("ESCALATION republish_refused:")
    assert "wrong_property" in line
    assert _asks(edge) == {}
    assert _lines(edge, bad) == 1
    worker.cycle()
    assert len(link.asked) == 1


def test_mutations_too_large_past_the_brake_hold_the_queue(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Set aside for being too large counts towards the same brake as damaged: past
    MAX_SET_ASIDE (a bound lowered by an upgrade, a bug), the queue is held for IT rather than
    emptied. A small charge, then two too large: the small one's batch, in flight when the
    brake holds, is still answered and marked sent (its chain place stored), and its result
    pulled; the first large one is set aside, the second waits; nothing large reaches
    central."""
    monkeypatch.setattr(queue_guard, "MAX_SET_ASIDE", 1)
    edge, hotel = site.edge()
    folio = hotel.folio_id(hotel.book(nights=2))
    sync(edge)
    small = charge(hotel, folio, 100)
    large = [
        hotel.run(
            c.PostCharge(
                folio_id=folio, line_id=new_id(), category="misc", description="宿" * 500, amount=n
            )
        ).mutation
        for n in (1, 2)
    ]
    assert edge.transport is not None
    assert edge.edge_store is not None
    sizes = [len(i) for i in edge.edge_store.encoded_items([small.id, large[0].id])]
    limit = BATCH_FRAME + sizes[0] + 2
    assert BATCH_FRAME + sizes[1] + 1 > limit
    worker = worker_on(edge, edge.transport, batch_bytes=limit)
    batches = _chain(site, "edge1")[1]
    with pytest.raises(QueueHeld, match=f"{large[1].id} cannot be sent \\(too_large_to_send\\)"):
        worker.cycle()
    assert ledger(site, "edge1")[small.id].result == "applied"
    assert not any(m.id in ledger(site, "edge1") for m in large)
    assert [r["id"] for r in edge.sync_status()["rejected"]] == [large[0].id]  # type: ignore[union-attr]
    assert [r.id for r in outbox_rows(edge) if r.state != "done"] == [large[1].id]
    assert _chain(site, "edge1")[1] == batches + 1 == int(edge.edge_store.state()["batch_no"])


def _folio_only_the_edge_has(edge: Yadori, hotel: Hotel, guest: Reservation) -> str:
    """Write a second folio for a stay straight into the edge's SQLite, bypassing the outbox."""
    ghost = new_id()
    doc = {
        "folios": [
            {
                "id": ghost,
                "property_id": hotel.property_id,
                "reservation_id": guest.id,
                "status": "open",
                "override_manager_id": None,
                "override_reason": None,
            }
        ],
        "folio_lines": [],
    }
    with edge.engine.begin() as conn:
        aggregates.restore(conn, f"folio:{ghost}", doc)  # type: ignore[arg-type]
    return ghost


def _booking(
    hotel: Hotel, room: str | None = None, name: str = "Booked Guest"
) -> dict[str, object]:
    return {
        "reservation_id": new_id(),
        "folio_id": new_id(),
        "guest_name": name,
        "arrival": TODAY,
        "departure": TODAY + timedelta(days=1),
        "adults": 1,
        "room_type_id": hotel.std,
        "rate_plan_id": hotel.plan,
        "room_id": hotel.rooms[room] if room else None,
    }


# --- conflicts by kind --------------------------------------------------------------------


def test_a_room_held_twice_opens_one_ticket_at_both_nodes_and_keeps_both_stays(
    site: Site,
) -> None:
    """Central books room 101 tonight while the offline edge walks a guest into it."""
    edge, hotel = site.edge()
    booked = site.post("/reservations", _json(_booking(hotel, "101", "OTA Guest")))
    site.cut(edge)
    guest = walk_in(hotel, "101")
    site.heal(edge)
    results = ledger(site, "edge1")
    check_in = next(r for r in results.values() if r.name == "check_in")
    assert check_in.result == "conflict"
    tickets = site.get("/tickets", status="open")
    assert isinstance(tickets, list)
    assert len(tickets) == 1
    ticket = tickets[0]
    assert ticket["kind"] == "room_double_booked"
    assert ticket["id"] in check_in.tickets
    assert ticket["facts"]["room"] == "101"
    at_edge = edge.bus.read(hotel.property_id, lambda uow: uow.tickets.list(TicketStatus.OPEN))
    assert [t.id for t in at_edge] == [ticket["id"]]
    assert edge.sync_status()["open_tickets"] == 1
    for engine in (site.engine, edge.engine):
        with engine.connect() as conn:
            holders = conn.execute(
                sa.select(room_nights.c.reservation_id).where(
                    room_nights.c.room_id == hotel.rooms["101"], room_nights.c.night == TODAY
                )
            ).scalars()
            assert set(holders) == {booked["id"], guest.id}
    assert_converged(site, edge)


def test_a_walk_in_booked_into_the_room_then_checked_in_opens_one_ticket(site: Site) -> None:
    """A walk-in booked straight into room 101 and checked in, offline: one ticket, not two."""
    edge, hotel = site.edge()
    site.post("/reservations", _json(_booking(hotel, "101", "OTA Guest")))
    site.cut(edge)
    hotel.check_in(hotel.book(nights=1, room="101", name="Walk-in Guest"), "101")
    site.heal(edge)
    assert len(site.get("/tickets", status="open")) == 1  # type: ignore[arg-type]


def test_resolving_a_ticket_at_the_edge_syncs_to_central(site: Site) -> None:
    """Staff close the double-booking ticket at the hotel; central shows it resolved."""
    edge, hotel = site.edge()
    site.post("/reservations", _json(_booking(hotel, "102", "OTA Guest")))
    site.cut(edge)
    walk_in(hotel, "102")
    site.heal(edge)
    (ticket,) = edge.bus.read(hotel.property_id, lambda uow: uow.tickets.list())
    cmd = c.ResolveTicket(ticket_id=ticket.id, resolution="moved the walk-in to 103")
    edge.bus.execute(hotel.property_id, cmd, ACTOR)
    sync(edge)
    (resolved,) = site.get("/tickets")  # type: ignore[misc]
    assert resolved["status"] == "resolved"
    assert resolved["resolution"] == "moved the walk-in to 103"
    assert resolved["resolved_by"] == ACTOR.staff_id
    assert site.get("/tickets", status="open") == []
    assert edge.sync_status()["open_tickets"] == 0
    assert_converged(site, edge)


def test_register_written_on_both_sides_goes_to_central_by_system_priority(site: Site) -> None:
    """Central (30) beats the edge (20) on a room's condition even with the later HLC."""
    edge, hotel = site.edge()
    site.cut(edge)
    at_central = site.post(f"/rooms/{hotel.rooms['103']}/condition", {"condition": "dirty"})
    time.sleep(0.005)  # the edge's write is later by the clock too
    mine = hotel.run(c.SetRoomCondition(room_id=hotel.rooms["103"], condition=Condition.INSPECTED))
    site.heal(edge)
    result = ledger(site, "edge1")[mine.mutation.id]
    assert result.result == "applied_with_changes"
    assert "superseded_by=central" in result.reason
    central_room = site.get(f"/rooms/{hotel.rooms['103']}")
    assert isinstance(central_room, dict)
    assert central_room["condition"] == "dirty" == at_central["condition"]
    assert room_of(edge, hotel, "103") == {
        "condition": "dirty",
        "version": central_room["version"],
        "by": "central",
    }
    assert_converged(site, edge)


@pytest.mark.parametrize("first", ["earlier", "later"])
def test_register_between_two_edges_goes_to_the_later_hlc(site: Site, first: str) -> None:
    """Two edges write one room offline: the later HLC wins either way, and the loser is logged
    whichever arrives first."""
    (edge1, hotel1), (edge2, hotel2) = site.edge("edge1", "E1"), site.edge("edge2", "E2")
    site.proxy.set("cut")
    earlier = _condition(hotel1, "104", Condition.INSPECTED)
    time.sleep(0.005)
    later = _condition(hotel2, "104", Condition.DIRTY)
    assert later.hlc > earlier.hlc
    site.heal(*((edge1, edge2) if first == "earlier" else (edge2, edge1)))
    assert site.get(f"/rooms/{hotel1.rooms['104']}")["condition"] == "dirty"  # type: ignore[index]
    for node in (edge1, edge2):
        assert room_of(node, hotel1, "104")["condition"] == "dirty"
    loser, winner = ledger(site, "edge1")[earlier.id], ledger(site, "edge2")[later.id]
    if first == "later":  # the loser came second: logged in its own result
        assert loser.result == "applied_with_changes"
        assert "superseded_by=edge2" in loser.reason
        assert winner.result == "applied"
    else:  # the winner came second, over a write it never saw: logged in the winner's result
        assert loser.result == "applied"
        assert winner.result == "applied_with_changes"
        assert "overwrote=edge1" in winner.reason
        assert "was=" in winner.reason
    assert_converged(site, edge1, edge2)


def test_a_winning_register_write_is_not_refused_by_a_state_it_never_saw(site: Site) -> None:
    """Dirty at edge 1, later inspected at edge 2 (clean there): the later write wins, unrefused."""
    (edge1, hotel1), (edge2, hotel2) = site.edge("edge1", "E1"), site.edge("edge2", "E2")
    site.proxy.set("cut")
    _condition(hotel1, "104", Condition.DIRTY)
    time.sleep(0.005)
    later = _condition(hotel2, "104", Condition.INSPECTED)
    site.heal(edge1, edge2)
    assert ledger(site, "edge2")[later.id].result != "rejected"
    assert site.get(f"/rooms/{hotel1.rooms['104']}")["condition"] == "inspected"  # type: ignore[index]


@pytest.mark.parametrize("at_edge", ["condition", "service"])
def test_a_write_to_one_register_keeps_a_concurrent_write_to_the_other(
    site: Site, at_edge: str
) -> None:
    """Condition and service are registers of their own (decision 0067): offline, the edge
    writes one of room 104's and central the other. Both are kept, the edge's write is
    ``applied``, and the nodes converge. With one version for the whole room, the edge's write
    was stale and lost to central's priority: a cleaning was lost to an out-of-order."""
    edge, hotel = site.edge()
    room_id = hotel.rooms["104"]
    _condition(hotel, "104", Condition.DIRTY)  # a guest left: housekeeping has work to do
    sync(edge)
    site.cut(edge)
    if at_edge == "condition":  # housekeeping cleans; the office takes the room out of order
        mine = _condition(hotel, "104", Condition.CLEAN)
        site.post(f"/rooms/{room_id}/service", {"service": "out_of_order", "reason": "leak"})
    else:  # the desk takes the room out of order; the office's report says it is clean
        cmd = c.SetRoomService(room_id=room_id, service=Service.OUT_OF_ORDER, reason="leak")
        mine = hotel.run(cmd).mutation
        site.post(f"/rooms/{room_id}/condition", {"condition": "clean"})
    site.heal(edge)
    assert ledger(site, "edge1")[mine.id].result == "applied"
    at_central = site.get(f"/rooms/{room_id}")
    assert isinstance(at_central, dict)
    assert (at_central["condition"], at_central["service"]) == ("clean", "out_of_order")
    assert (at_central["condition_version"], at_central["service_version"]) == (3, 2)
    at_edge_now = edge.bus.read(hotel.property_id, lambda uow: uow.rooms.get(room_id))
    assert (at_edge_now.condition, at_edge_now.service) == (Condition.CLEAN, Service.OUT_OF_ORDER)
    assert_converged(site, edge)


def _condition(hotel: Hotel, room: str, condition: Condition) -> Mutation:
    cmd = c.SetRoomCondition(room_id=hotel.rooms[room], condition=condition)
    return hotel.run(cmd).mutation


def test_register_tie_on_the_clock_goes_to_the_node_id(site: Site) -> None:
    """Two writes with the same HLC time: the higher node id wins and the loser is logged."""
    room = site.hotel.rooms["201"]
    wall = int(time.time() * 1000)
    writes = {
        origin: make_mutation(
            id=new_id(),
            origin=origin,
            seq=1,
            hlc=f"{wall:015d}-000000-{origin}",
            name="set_room_condition",
            args=c.SetRoomCondition(room_id=room, condition=cond, base_version=1).args(),
            deps=(),
            priority=Priority.ROOM_STATUS,
            actor=ACTOR,
        )
        for origin, cond in (("edgeB", Condition.INSPECTED), ("edgeA", Condition.DIRTY))
    }
    for origin in ("edgeB", "edgeA"):  # the winner arrives first, the loser is logged
        key = enrol_key(site.central, origin, (site.hotel.property_id,))
        transport = HttpTransport(site.proxy.url, token=lambda k=key: issue_node(k, _now()))
        item = BatchItem(site.hotel.property_id, writes[origin], (f"room:{room}",))
        body, crc = encode_batch(Batch(origin, 1, 0, (item,)))
        try:
            transport.push(body, crc)
        finally:
            transport.close()
    assert ledger(site, "edgeA")[writes["edgeA"].id].result == "applied_with_changes"
    edge, hotel = site.edge()
    assert room_of(edge, hotel, "201") == {"condition": "inspected", "version": 2, "by": "edgeB"}
    assert_converged(site, edge)


def test_central_cancels_while_the_edge_checks_in_and_checked_in_wins(site: Site) -> None:
    """Central cancels while the edge checks the guest in: checked in wins, a ticket at both."""
    booked = site.post("/reservations", _json(_booking(hotel=site.hotel, name="Late Guest")))
    edge, hotel = site.edge()
    site.cut(edge)
    site.post(f"/reservations/{booked['id']}/cancel", {"reason": "guest called to cancel"})
    reservation = edge.bus.read(
        hotel.property_id, lambda uow: uow.reservations.get(str(booked["id"]))
    )
    hotel.check_in(reservation, "202")
    site.heal(edge)
    check_in = next(r for r in ledger(site, "edge1").values() if r.name == "check_in")
    assert check_in.result == "conflict"
    stay = site.get(f"/reservations/{booked['id']}")
    assert stay["reservation"]["status"] == "checked_in"  # type: ignore[index]
    at_edge = edge.bus.read(hotel.property_id, lambda uow: uow.reservations.get(str(booked["id"])))
    assert at_edge.status is ReservationStatus.CHECKED_IN
    (ticket,) = site.get("/tickets", status="open")  # type: ignore[misc]
    assert ticket["kind"] == "lifecycle"
    assert ticket["facts"]["was"] == "cancelled"
    assert edge.sync_status()["open_tickets"] == 1
    assert_converged(site, edge)


def _in_house_then_cut(
    site: Site, room: str, *, nights: int
) -> tuple[Yadori, Hotel, Reservation, str]:
    """An edge with a guest checked in to ``room`` and synced, then cut off; and the folio."""
    edge, hotel = site.edge()
    guest = hotel.book(nights=nights, room=room)
    hotel.check_in(guest, room)
    sync(edge)
    site.cut(edge)
    return edge, hotel, guest, hotel.folio_id(guest)


RESIDENT = {"name": "佐藤 太郎", "address": "東京都中央区日本橋1-1", "contact": "090-1234-5678"}


def test_the_edge_cancels_a_booking_central_checked_in_and_the_stay_is_kept(site: Site) -> None:
    """The offline edge cancels a booking while central checks the guest in: the later state
    in the lifecycle wins. The cancel is applied with changes (``status_kept``), the stay stays
    checked in at both nodes, and nothing is released."""
    booked = site.post("/reservations", _json(_booking(hotel=site.hotel, name="Early Guest")))
    edge, hotel = site.edge()
    site.cut(edge)
    body = {"room_id": site.hotel.rooms["202"], "guests": [RESIDENT]}
    site.post(f"/reservations/{booked['id']}/check-in", body)
    cancel = hotel.run(c.CancelReservation(reservation_id=str(booked["id"]), reason="no card"))
    site.heal(edge)
    result = ledger(site, "edge1")[cancel.mutation.id]
    assert result.result == "applied_with_changes"
    assert "status_kept" in str(result.reason)
    assert "checked_in" in str(result.reason)
    stay = site.get(f"/reservations/{booked['id']}")
    assert stay["reservation"]["status"] == "checked_in"  # type: ignore[index]
    at_edge = edge.bus.read(hotel.property_id, lambda uow: uow.reservations.get(str(booked["id"])))
    assert at_edge.status is ReservationStatus.CHECKED_IN
    assert site.get("/tickets", status="open") == []
    assert_converged(site, edge)


def test_both_nodes_check_the_guest_out_and_one_departure_is_kept(site: Site) -> None:
    """Central and the offline edge both check the same guest out: the edge's check-out is
    applied with changes (``status_was``), no night is charged twice, no ticket is opened, and
    both nodes hold one settled folio."""
    edge, hotel, guest, folio = _in_house_then_cut(site, "103", nights=2)
    override = {"manager_id": "mgr", "reason": "invoiced to the company"}
    site.post(f"/reservations/{guest.id}/check-out", {"override": override})
    lines = site.get(f"/folios/{folio}")
    assert isinstance(lines, dict)
    out = hotel.run(
        c.CheckOut(reservation_id=guest.id, override=ManagerOverride("mgr2", "same, at the desk"))
    )
    site.heal(edge)
    result = ledger(site, "edge1")[out.mutation.id]
    assert result.result == "applied_with_changes"
    assert "status_was" in str(result.reason)
    bill = site.get(f"/folios/{folio}")
    assert isinstance(bill, dict)
    assert bill["status"] == "settled"
    assert bill["lines"] == lines["lines"]  # nothing charged twice
    assert site.get("/tickets", status="open") == []
    assert_converged(site, edge)


def test_the_edge_checks_out_a_folio_central_charged_meanwhile_with_a_ticket(site: Site) -> None:
    """The offline edge checks a guest out with nothing owed, while central posts a restaurant
    charge to the folio. The departure stands: the folio is settled anyway and a
    ``settled_with_balance`` ticket says what is owed, so staff collect it."""
    edge, hotel, guest, folio = _in_house_then_cut(site, "104", nights=1)
    body = {"category": "misc", "description": "restaurant", "amount": 2400}
    site.post(f"/folios/{folio}/charges", body)
    hotel.run(c.PostRoomCharges(reservation_id=guest.id, through=guest.departure))
    owed = edge.bus.read(hotel.property_id, lambda uow: queries.folio(uow, folio)).balance
    pay = c.PostPayment(folio_id=folio, line_id=new_id(), method="cash", amount=owed)
    hotel.run(pay)
    out = hotel.run(c.CheckOut(reservation_id=guest.id))  # nothing owed at the edge
    site.heal(edge)
    result = ledger(site, "edge1")[out.mutation.id]
    assert result.result == "conflict"
    (ticket,) = site.get("/tickets", status="open")  # type: ignore[misc]
    assert ticket["kind"] == "settled_with_balance"
    assert ticket["facts"]["balance"] == "2400"
    bill = site.get(f"/folios/{folio}")
    assert isinstance(bill, dict)
    assert (bill["status"], bill["balance"]) == ("settled", 2400)
    assert edge.sync_status()["open_tickets"] == 1
    assert_converged(site, edge)


def test_what_the_edge_posts_to_a_folio_central_settled_is_kept_with_a_ticket(site: Site) -> None:
    """Central checks a guest out (settled, a manager's override) while the offline edge, which
    still sees the guest in house, posts the stay's room nights and a minibar charge. Folio
    lines are append-only: both are kept, and each opens a ``posted_after_settlement`` ticket
    (the mutations' results are ``conflict``), so staff collect or refund. Before, the room
    nights were added to the settled bill silently, ``applied``: a guest gone owed more and
    nobody was told."""
    edge, hotel, guest, folio = _in_house_then_cut(site, "101", nights=3)
    override = {"manager_id": "mgr", "reason": "left early, the agent pays"}
    site.post(f"/reservations/{guest.id}/check-out", {"override": override})
    nights = hotel.run(c.PostRoomCharges(reservation_id=guest.id, through=guest.departure))
    minibar = charge(hotel, folio, 1200)
    site.heal(edge)
    results = ledger(site, "edge1")
    assert results[nights.mutation.id].result == "conflict"
    assert results[minibar.id].result == "conflict"
    tickets = site.get("/tickets", status="open")
    assert isinstance(tickets, list)
    assert sorted(t["kind"] for t in tickets) == ["posted_after_settlement"] * 2
    room = next(t for t in tickets if "night" in t["summary"])
    posted = {line.id: line for line in nights.value(list)}  # the nights central lacked
    lines = room["facts"]["lines"].split()
    assert lines
    assert set(lines) <= set(posted)
    assert room["facts"]["amount"] == str(sum(posted[line].amount for line in lines))
    bill = site.get(f"/folios/{folio}")
    assert isinstance(bill, dict)
    assert bill["status"] == "settled"
    kept = {*lines, str(minibar.args["line_id"])}
    assert kept <= {line["id"] for line in bill["lines"]}
    assert edge.sync_status()["open_tickets"] == 2
    assert_converged(site, edge)


# --- batches ------------------------------------------------------------------------------


def test_the_same_batch_pushed_twice_is_applied_once(site: Site) -> None:
    """Central answers a repeated batch with the same results and writes nothing twice."""
    edge, hotel = site.edge()
    assert edge.edge_store is not None
    assert edge.transport is not None
    guest = hotel.book(nights=2)
    sync(edge)
    made = [charge(hotel, hotel.folio_id(guest), 100 * n) for n in range(1, 4)]
    items = edge.edge_store.items([m.id for m in made])
    body, crc = encode_batch(Batch("edge1", 2, 0, tuple(items)))
    first = edge.transport.push(body, crc)
    again = edge.transport.push(body, crc)
    assert first["results"] == again["results"]
    assert [r["result"] for r in first["results"]] == ["applied"] * 3  # type: ignore[index, union-attr]
    sync(edge)  # the worker sends them a third time: still once
    assert len(ledger(site, "edge1")) == len(outbox_rows(edge)) == 4
    stay = site.get(f"/reservations/{guest.id}")
    assert [ln["amount"] for ln in stay["folio"]["lines"]] == [100, 200, 300]  # type: ignore[index]
    assert_converged(site, edge)


def feed_version(site: Site, key: str) -> int | None:
    """The version of an aggregate's document in central's feed (None if never published)."""
    with site.engine.connect() as conn:
        query = sa.select(sync_feed.c.version).where(sync_feed.c.key == key)
        return conn.execute(query).scalar()


def marked(site: Site) -> list[str]:
    """Central's aggregates changed by replays and not yet published."""
    with site.engine.connect() as conn:
        return list(conn.execute(sa.select(sync_dirty.c.key)).scalars())


def test_pushed_batches_are_published_once_by_the_next_pull(site: Site) -> None:
    """Two batches charging one folio publish nothing; the next pull publishes the folio once,
    with both lines, and the pull after it finds nothing new."""
    edge, hotel = site.edge()
    assert edge.edge_store is not None
    assert edge.transport is not None
    guest = hotel.book(nights=2)
    sync(edge)
    folio = hotel.folio_id(guest)
    key = f"{hotel.property_id}/folio:{folio}"
    published = feed_version(site, key)
    assert published is not None
    crc = 0
    for number, amount in ((50, 100), (51, 200)):
        items = edge.edge_store.items([charge(hotel, folio, amount).id])
        body, next_crc = encode_batch(Batch("edge1", number, crc, tuple(items)))
        edge.transport.push(body, next_crc)
        crc = next_crc
    assert feed_version(site, key) == published
    assert key in marked(site)
    sync(edge)
    assert marked(site) == []
    once = feed_version(site, key)
    assert once is not None
    assert once > published
    stay = site.get(f"/reservations/{guest.id}")
    assert [ln["amount"] for ln in stay["folio"]["lines"]] == [100, 200]  # type: ignore[index]
    sync(edge)
    assert feed_version(site, key) == once
    assert_converged(site, edge)


def test_a_batch_whose_prev_crc_does_not_match_counts_a_chain_break(site: Site) -> None:
    """The worker's batches chain cleanly; one claiming another predecessor is counted."""
    edge, hotel, folio_id = _two_batches_chained(site)
    assert edge.edge_store is not None
    assert edge.transport is not None
    stray = charge(hotel, folio_id, 200)
    state = edge.edge_store.state()
    items = tuple(edge.edge_store.items([stray.id]))
    body, crc = encode_batch(Batch("edge1", 3, int(state["batch_crc"]) ^ 0xFFFF, items))
    answer = edge.transport.push(body, crc)
    assert answer["chain_ok"] is False
    assert _chain(site, "edge1") == (crc, 3, 1)
    assert _logged(site, "batch 3 of edge1 names a previous CRC"), "central logs the break"
    body, next_crc = encode_batch(Batch("edge1", 4, crc, items))
    assert edge.transport.push(body, next_crc)["chain_ok"] is True
    assert _chain(site, "edge1") == (next_crc, 4, 1)
    assert len(ledger(site, "edge1")) == 3  # the break is noticed, the mutation applied once


def _logged(site: Site, text: str, within: float = 5.0) -> bool:
    """Whether central's log says ``text`` (it is written by another process: wait a little)."""
    deadline = time.monotonic() + within
    while text not in site.central.log.read_text(errors="replace"):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def test_a_rebuilt_resend_of_the_latest_batch_carries_the_chain_on(site: Site) -> None:
    """Central applied batch 3 but its answer never reached the edge (a crash, a timeout); the
    edge sends batch 3 again, rebuilt with a command made meanwhile, and chains batch 4 from
    the rebuild's CRC. That is no break: central takes the rebuild's CRC for its latest
    number. A resend of an older number changes nothing, and a real break still counts."""
    edge, hotel, folio_id = _two_batches_chained(site)
    assert edge.edge_store is not None
    assert edge.transport is not None
    prev = int(edge.edge_store.state()["batch_crc"])
    first = charge(hotel, folio_id, 200)
    body, crc = encode_batch(Batch("edge1", 3, prev, tuple(edge.edge_store.items([first.id]))))
    assert edge.transport.push(body, crc)["chain_ok"] is True  # the answer the edge lost
    meanwhile = charge(hotel, folio_id, 300)
    rebuilt = tuple(edge.edge_store.items([first.id, meanwhile.id]))
    again, rebuilt_crc = encode_batch(Batch("edge1", 3, prev, rebuilt))
    assert edge.transport.push(again, rebuilt_crc)["chain_ok"] is True
    assert _chain(site, "edge1") == (rebuilt_crc, 3, 0)
    later = charge(hotel, folio_id, 400)
    items = tuple(edge.edge_store.items([later.id]))
    body4, crc4 = encode_batch(Batch("edge1", 4, rebuilt_crc, items))
    assert edge.transport.push(body4, crc4)["chain_ok"] is True
    assert _chain(site, "edge1") == (crc4, 4, 0)
    assert edge.transport.push(body, crc)["chain_ok"] is True  # an older number: a resend
    assert _chain(site, "edge1") == (crc4, 4, 0)
    body5, crc5 = encode_batch(Batch("edge1", 5, crc4 ^ 0xFFFF, items))
    assert edge.transport.push(body5, crc5)["chain_ok"] is False
    assert _chain(site, "edge1") == (crc5, 5, 1)
    assert len(ledger(site, "edge1")) == 5  # each mutation applied once


def _two_batches_chained(site: Site) -> tuple[Yadori, Hotel, str]:
    """An edge that synced a booking and a charge on its folio: two batches, chained cleanly."""
    edge, hotel = site.edge()
    folio_id = hotel.folio_id(hotel.book(nights=2))
    sync(edge)
    charge(hotel, folio_id, 100)
    sync(edge)
    assert _chain(site, "edge1")[1:] == (2, 0)
    return edge, hotel, folio_id


def _chain(site: Site, origin: str) -> tuple[int, int, int]:
    with site.engine.connect() as conn:
        row = conn.execute(sa.select(sync_origins).where(sync_origins.c.origin == origin)).one()
    return (row.last_batch_crc, row.batches, row.chain_breaks)


def _json(values: dict[str, object]) -> dict[str, object]:
    return {k: v.isoformat() if hasattr(v, "isoformat") else v for k, v in values.items()}


def _now() -> datetime:
    return datetime.now(UTC)


# --- the first pull page rides with the push's last batch (decision 0049) -----------------------


@dataclass
class Calls:
    """How often an edge's transport was asked to push, push with a page, and pull."""

    push: int = 0
    push_pulling: int = 0
    pull: int = 0


def count_calls(transport: HttpTransport) -> Calls:
    """Count the transport's sync calls from now on (it stays an HttpTransport)."""
    calls = Calls()
    for name in ("push", "push_pulling", "pull"):
        inner = getattr(transport, name)

        def counted(*args: object, _inner: object = inner, _name: str = name) -> object:
            setattr(calls, _name, getattr(calls, _name) + 1)
            return _inner(*args)  # type: ignore[operator]

        setattr(transport, name, counted)
    return calls


def test_the_push_s_last_batch_brings_the_first_pull_page(site: Site) -> None:
    """One call to central acknowledges a small batch: its results and documents ride back."""
    edge, hotel = site.edge()
    assert edge.transport is not None
    guest = hotel.book(nights=2)
    for amount in (100, 200, 300):
        charge(hotel, hotel.folio_id(guest), amount)
    calls = count_calls(edge.transport)
    commits = _commits(edge)
    sync(edge)
    assert calls == Calls(push=0, push_pulling=1, pull=0)
    # the batch is marked sent in the transaction that takes the page: one write, one fsync
    assert commits == [1]
    assert {r.state for r in outbox_rows(edge)} == {"done"}
    assert_converged(site, edge)


def _commits(edge: Yadori) -> list[int]:
    """A counter of the edge database's transactions that changed rows, from now on (SQLite
    writes and syncs its log only for those)."""
    count = [0]

    def committed(conn: sa.Connection) -> None:
        if conn.info.pop("wrote", False):
            count[0] += 1

    def wrote(  # noqa: PLR0917 - SQLAlchemy's event signature
        conn: sa.Connection,
        cursor: object,
        statement: str,
        parameters: object,
        context: object,
        executemany: bool,
    ) -> None:
        reads = statement.lstrip().upper().startswith(("SELECT", "PRAGMA"))
        if not reads and getattr(cursor, "rowcount", 0) > 0:
            conn.info["wrote"] = True

    sa.event.listen(edge.engine, "after_cursor_execute", wrote)
    sa.event.listen(edge.engine, "commit", committed)
    return count


@pytest.mark.parametrize("failure", ["crc", "inside_the_transaction"])
def test_a_riding_page_that_is_not_taken_still_leaves_its_batch_marked_sent(
    site: Site, monkeypatch: pytest.MonkeyPatch, failure: str
) -> None:
    """The page that rode back with the last batch is not taken — it fails its CRC32 at the
    edge, or applying it fails inside the transaction that would have marked the batch (rolled
    back). The batch was answered all the same: it is marked sent alone, its place in the chain
    kept, and the next cycle pulls the page again and converges."""
    edge, hotel = site.edge()
    assert edge.transport is not None
    assert edge.edge_store is not None
    folio = hotel.folio_id(hotel.book(nights=2))
    made = [charge(hotel, folio, amount) for amount in (100, 200)]
    inner = edge.transport.push_pulling

    def damaging(body: bytes, crc: int, params: dict[str, str | int]) -> dict[str, JSON]:
        answer = inner(body, crc, params)
        page = answer["page"]
        assert isinstance(page, dict)
        assert isinstance(page["changes"], list)
        first = page["changes"][0]
        assert isinstance(first, dict)
        first["crc32"] = int(str(first["crc32"])) ^ 1
        return answer

    def broken(*args: object, **kwargs: object) -> int:
        raise RuntimeError("the disk said no")

    if failure == "crc":
        edge.transport.push_pulling = damaging  # type: ignore[method-assign]
        expected: type[Exception] = CorruptChange
    else:
        monkeypatch.setattr(EdgeSyncStore, "_take", broken)
        expected = RuntimeError
    with pytest.raises(expected):
        edge.worker.cycle()  # type: ignore[union-attr]
    rows = {r.id: r.state for r in outbox_rows(edge)}
    assert [rows[m.id] for m in made] == ["sent", "sent"]
    number = edge.edge_store.state()["batch_no"]
    assert _chain(site, "edge1")[1] == int(number)
    edge.transport.push_pulling = inner  # type: ignore[method-assign]
    monkeypatch.undo()
    sync(edge)
    assert_converged(site, edge)


def test_pages_after_the_one_that_rode_are_pulled_as_before(site: Site) -> None:
    """With pages of two, the page carried by the push is the first of several."""
    edge, hotel = site.edge()
    assert edge.transport is not None
    guest = hotel.book(nights=2)
    for amount in range(100, 800, 100):
        charge(hotel, hotel.folio_id(guest), amount)
    calls = count_calls(edge.transport)
    report = worker_on(edge, edge.transport, page_size=2).cycle()
    assert report.results == 8
    assert calls.push_pulling == 1
    assert calls.pull >= 3  # eight results and their documents, two at a time
    assert_converged(site, edge)


def test_a_later_page_that_fails_leaves_the_batch_marked_once_with_the_first(
    site: Site,
) -> None:
    """Pages of two: the page that rode back is taken, with the batch marked sent in its
    transaction; the next page's pull fails. The batch is not marked again (one write in all),
    nothing is left pending, the chain's place is stored; the next cycle converges."""
    edge, hotel = site.edge()
    assert edge.transport is not None
    assert edge.edge_store is not None
    guest = hotel.book(nights=2)
    for amount in range(100, 800, 100):
        charge(hotel, hotel.folio_id(guest), amount)
    inner = edge.transport.pull

    def lost(params: dict[str, str | int]) -> dict[str, JSON]:
        raise LinkDown("the WAN went down after the push")

    edge.transport.pull = lost  # type: ignore[method-assign]
    commits = _commits(edge)
    with pytest.raises(LinkDown):
        worker_on(edge, edge.transport, page_size=2).cycle()
    assert commits == [1]
    states = Counter(r.state for r in outbox_rows(edge))
    assert states["pending"] == 0
    assert states["done"] >= 2  # the first page's results
    assert _chain(site, "edge1")[1] == int(edge.edge_store.state()["batch_no"])
    edge.transport.pull = inner  # type: ignore[method-assign]
    sync(edge)
    assert_converged(site, edge)


class _OlderCentral:
    """The edge's transport, answering pushes as a central from before decision 0049 does."""

    def __init__(self, inner: HttpTransport) -> None:
        self._inner = inner
        self.pulls = 0

    def push(self, body: bytes, crc: int) -> dict[str, object]:
        return self._inner.push(body, crc)  # type: ignore[return-value]

    def push_pulling(
        self, body: bytes, crc: int, params: dict[str, str | int]
    ) -> dict[str, object]:
        answer = self._inner.push_pulling(body, crc, params)
        answer.pop("page")
        return answer  # type: ignore[return-value]

    def pull(self, params: dict[str, str | int]) -> dict[str, object]:
        self.pulls += 1
        return self._inner.pull(params)  # type: ignore[return-value]


def test_an_answer_without_the_page_is_followed_by_a_pull(site: Site) -> None:
    """A central that ignores the page's parameters answers the push alone: the edge pulls."""
    edge, hotel = site.edge()
    assert edge.transport is not None
    hotel.book(nights=1)
    older = _OlderCentral(edge.transport)
    worker_on(edge, older).cycle()
    assert older.pulls == 1
    assert_converged(site, edge)


def test_a_page_of_another_property_is_not_served_but_the_batch_is_applied(site: Site) -> None:
    """Only a property the edge is enrolled for is read for it: the push is answered without
    a page (the edge then pulls, and that pull says why it is refused)."""
    edge, hotel = site.edge()
    assert edge.transport is not None
    assert edge.edge_store is not None
    hotel.book(nights=1)
    (item,) = edge.edge_store.items([outbox_rows(edge)[-1].id])  # type: ignore[list-item]
    body, crc = encode_batch(Batch("edge1", 1, 0, (item,), last=True))
    other = {"property": new_id(), "since": 0, "results_after": 0, "limit": 100}
    answer = edge.transport.push_pulling(body, crc, other)
    assert "page" not in answer
    assert [r["result"] for r in answer["results"]] == ["applied"]  # type: ignore[index, union-attr]
    assert item.mutation.id in ledger(site, "edge1")
    with pytest.raises(SyncRefused, match="wrong_property"):
        edge.transport.pull({"origin": "edge1", "property": str(other["property"])})
    sync(edge)
    assert_converged(site, edge)


def test_a_page_that_went_stale_in_flight_is_dropped(site: Site) -> None:
    """A mutation queued while the last batch flies makes a new last batch; the first page is
    not applied (it predates that batch), and the second one rides back instead."""
    edge, hotel = site.edge()
    assert edge.transport is not None
    assert edge.edge_store is not None
    guest = hotel.book(nights=2)
    charge(hotel, hotel.folio_id(guest), 100)
    store = edge.edge_store
    looks = 0

    def pending(window: int) -> list[Pending]:
        nonlocal looks
        looks += 1
        if looks == 2:  # the first batch is in flight: staff keep working
            charge(hotel, hotel.folio_id(guest), 200)
        return type(store).pending(store, window)

    store.pending = pending  # type: ignore[method-assign]
    calls = count_calls(edge.transport)
    try:
        sync(edge)
    finally:
        del store.pending  # the class's own again
    assert (calls.push_pulling, calls.push, calls.pull) == (2, 0, 0)
    stay = site.get(f"/reservations/{guest.id}")
    assert [ln["amount"] for ln in stay["folio"]["lines"]] == [100, 200]  # type: ignore[index]
    assert_converged(site, edge)


def _answers_lost(transport: HttpTransport) -> None:
    """Central applies each last batch, but its answer (with the page) never comes back
    (``del transport.push_pulling`` makes it the class's own again)."""
    inner = transport.push_pulling

    def lost(body: bytes, crc: int, params: dict[str, str | int]) -> dict[str, JSON]:
        inner(body, crc, params)
        raise LinkDown("the answer was lost on the way back")

    transport.push_pulling = lost  # type: ignore[method-assign]


def test_a_lost_answer_and_its_page_are_asked_for_again(site: Site) -> None:
    """Central applies the batch but its answer (with the page) never arrives: the next cycle
    resends the batch, gets the same results and the page, and nothing is applied twice."""
    edge, hotel = site.edge()
    assert edge.transport is not None
    guest = hotel.book(nights=2)
    charge(hotel, hotel.folio_id(guest), 100)
    _answers_lost(edge.transport)
    with pytest.raises(LinkDown):
        edge.worker.cycle()  # type: ignore[union-attr]
    del edge.transport.push_pulling  # the class's own again
    sync(edge)
    assert len(ledger(site, "edge1")) == len(outbox_rows(edge))
    stay = site.get(f"/reservations/{guest.id}")
    assert [ln["amount"] for ln in stay["folio"]["lines"]] == [100]  # type: ignore[index]
    assert_converged(site, edge)


def test_batches_central_answered_are_not_sent_again_after_a_failed_cycle(site: Site) -> None:
    """Batches of three: the first three are answered, the last one's answer is lost (central
    applied it). The next cycle pulls the results first: all eleven come, nothing is sent again
    and the chain goes on unbroken (decision 0055). Before, every mutation whose result was not
    pulled yet went again: after one timeout at the end of a million, 108 s of resending."""
    edge, hotel = site.edge()
    assert edge.transport is not None
    guest = hotel.book(nights=2)
    made = [charge(hotel, hotel.folio_id(guest), 100 * n) for n in range(1, 11)]
    _answers_lost(edge.transport)
    with pytest.raises(LinkDown):
        worker_on(edge, edge.transport, batch_size=3).cycle()
    assert Counter(r.state for r in outbox_rows(edge)) == {"sent": 9, "pending": 2}
    del edge.transport.push_pulling  # the class's own again
    calls = count_calls(edge.transport)
    report = worker_on(edge, edge.transport, batch_size=3).cycle()
    assert (report.pushed, calls.push, calls.push_pulling) == (0, 0, 0)
    assert report.results == 11  # each mutation's result, once
    assert len(ledger(site, "edge1")) == len(made) + 1
    assert_converged(site, edge)
    charge(hotel, hotel.folio_id(guest), 5)  # the chain goes on from the batch answered last
    assert worker_on(edge, edge.transport, batch_size=3).cycle().pushed == 1
    assert _chain(site, "edge1")[2] == 0
    assert_converged(site, edge)


def test_answered_mutations_central_no_longer_holds_are_sent_again(site: Site) -> None:
    """Mutations the edge holds as answered but central has no result for (it was restored
    from a backup taken before them) are sent again after the results that did come."""
    edge, hotel = site.edge()
    guest = hotel.book(nights=2)
    charge(hotel, hotel.folio_id(guest), 100)
    with edge.engine.begin() as conn:  # as if central had answered them, then lost them
        conn.execute(sa.update(outbox).where(outbox.c.state == "pending").values(state="sent"))
    report = edge.worker.cycle()  # type: ignore[union-attr]
    assert report.pushed == 2
    assert len(ledger(site, "edge1")) == 2
    assert_converged(site, edge)


def test_a_pull_that_keeps_failing_does_not_hold_back_the_pushes(site: Site) -> None:
    """Answered mutations wait for their results; the pull that would bring them first keeps
    failing. Each cycle still pushes what was written since (with those, deduplicated), so
    every write reaches central; the cycle then fails on the pull and says why (0055)."""
    edge, hotel = site.edge()
    assert edge.transport is not None
    guest = hotel.book(nights=2)
    refused = SyncRefused("GET /sync/v1/pull: wrong_property: not this edge's", "wrong_property")
    refusing = worker_on(edge, _NoPull(edge.transport, refused))
    with pytest.raises(SyncRefused):
        refusing.cycle()
    assert Counter(r.state for r in outbox_rows(edge)) == {"sent": 1}
    later = charge(hotel, hotel.folio_id(guest), 700)
    with pytest.raises(SyncRefused):
        refusing.cycle()
    assert later.id in ledger(site, "edge1")
    sync(edge)
    assert_converged(site, edge)
