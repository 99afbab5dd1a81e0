"""Convergence under faults: random commands at edges and central, random link faults, heal.

A hypothesis state machine drives a real PostgreSQL central and one or two real SQLite edges in
one process (tests/chaos/convergence_model.py). Steps run front-desk commands at any node
(bookings, check-ins, charges, payments, voids, housekeeping, out-of-order rooms, cancellations,
room moves, check-outs, closing the day, resolving conflict tickets) and sync cycles at an edge
with one fault armed: a push or pull request lost, its answer lost after central acted, a batch
delivered twice, a batch held back and delivered after a later one, a damaged batch; links are
cut and healed. At the end every link is healed and the edges sync until quiet; then every edge
must hold exactly central's data, every edge mutation must be done with the one result central
recorded, and every posted folio line must be at central once, exactly when its mutation was
kept. Staff then resolve every ticket (some at two nodes) and the checks run again.

Plain scenarios follow, including the bugs the machine found (now fixed).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    precondition,
    rule,
    run_state_machine_as_test,
)

from chaos.convergence_model import (
    FAULTS,
    STATS,
    Backends,
    Booking,
    Cluster,
    Posted,
)
from support.hotel import TODAY, guest
from yadori.domain.folio import ManagerOverride
from yadori.domain.ids import new_id
from yadori.domain.rooms import Condition, Service
from yadori.services import commands as c
from yadori.services.errors import StorageUnavailable
from yadori.storage.sync_server import SyncServer
from yadori.sync.canonical import JSON
from yadori.sync.worker import SyncWorker

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

ROOMS = ("101", "102", "103", "104", "201", "202")
HOT = ("101", "101", "102", "201")  # rooms most commands name, so that nodes collide often
BIG = 10_000  # a batch or a page larger than anything a run makes
LAST_DAY = TODAY + timedelta(days=3)  # closing later days would leave no stay to check in


class Env:
    """Where the machine gets its databases (set by the test that runs it)."""

    backends: Backends | None = None


NODE = st.integers(0, 2)  # 0 is central; edges are 1 … n (folded onto the edges there are)


class Convergence(RuleBasedStateMachine):
    """Commands anywhere, syncs with faults, cuts; healed, everything must agree."""

    def __init__(self) -> None:
        super().__init__()
        self.cluster: Cluster | None = None
        self.broken = False

    @contextmanager
    def _step(self) -> Iterator[Cluster]:
        assert self.cluster is not None
        try:
            yield self.cluster
        except BaseException:
            self.broken = True
            raise

    def _node(self, n: int) -> int:
        assert self.cluster is not None
        return n % len(self.cluster.nodes)

    def _edge(self, n: int) -> int:
        assert self.cluster is not None
        return 1 + n % len(self.cluster.links)

    def _booking(self, node: int, pick: int) -> Booking:
        """A booking, preferably one made at the node (so it is known there)."""
        assert self.cluster is not None
        every = self.cluster.model.bookings
        own = [b for b in every if b.node == node]
        choice = own if own and pick % 3 else every
        return choice[pick % len(choice)]

    @initialize(
        edges=st.integers(1, 2),
        small_batches=st.booleans(),
        small_pages=st.booleans(),
        riding=st.sampled_from((None, True, False)),
    )
    def start(
        self, edges: int, small_batches: bool, small_pages: bool, riding: bool | None
    ) -> None:
        """Central with the small hotel, and edges that have pulled it once.

        Batches of 3 make a cycle push several batches (so faults hit later ones too); pages
        of 3 make a pull take several pages (a child may come a page before its parent).
        Edges ask for their first pull page with their last batch or pull apart (``riding``:
        None, the first edge rides and the second does not).
        """
        assert Env.backends is not None
        batch = 3 if small_batches else BIG
        page = 3 if small_pages else BIG
        self.cluster = Cluster(Env.backends, edges, batch_size=batch, page_size=page, riding=riding)

    # --- commands -----------------------------------------------------------------------

    @rule(
        node=NODE,
        arrive=st.sampled_from((0, 0, 1, 2)),
        nights=st.integers(1, 3),
        twin=st.booleans(),
        adults=st.integers(1, 2),
        room=st.sampled_from((None, *HOT)),
    )
    def book(  # noqa: PLR0917 - one argument per drawn value
        self, node: int, arrive: int, nights: int, twin: bool, adults: int, room: str | None
    ) -> None:
        """Create a reservation, some with a named room."""
        with self._step() as cl:
            n, hotel = self._node(node), cl.hotel
            arrival = TODAY + timedelta(days=arrive)
            cmd = c.CreateReservation(
                reservation_id=new_id(),
                folio_id=new_id(),
                guest_name="Chaos Guest",
                arrival=arrival,
                departure=arrival + timedelta(days=nights),
                adults=adults,
                room_type_id=hotel.twn if twin else hotel.std,
                rate_plan_id=hotel.plan,
                room_id=hotel.rooms[room] if room else None,
            )
            if cl.run(n, cmd):
                cl.model.bookings.append(Booking(cmd.reservation_id, cmd.folio_id, adults, n))

    @precondition(lambda self: self.cluster is not None and self.cluster.model.bookings)
    @rule(node=NODE, pick=st.integers(0, 99), room=st.sampled_from((None, *HOT)))
    def check_in(self, node: int, pick: int, room: str | None) -> None:
        """Check a guest in with a valid registry (to a named room or the one assigned)."""
        with self._step() as cl:
            n = self._node(node)
            b = self._booking(n, pick)
            cmd = c.CheckIn(
                reservation_id=b.id,
                room_id=cl.hotel.rooms[room] if room else None,
                guests=tuple(guest(i) for i in range(b.adults)),
            )
            cl.run(n, cmd)

    @precondition(lambda self: self.cluster is not None and self.cluster.model.bookings)
    @rule(
        node=NODE,
        pick=st.integers(0, 99),
        payment=st.booleans(),
        amount=st.integers(1, 50).map(lambda k: k * 100),
    )
    def post(self, node: int, pick: int, payment: bool, amount: int) -> None:
        """Post a charge or a payment to a folio."""
        with self._step() as cl:
            n = self._node(node)
            b = self._booking(n, pick)
            line_id = new_id()
            cmd: c.Command
            if payment:
                cmd = c.PostPayment(
                    folio_id=b.folio_id, line_id=line_id, method="cash", amount=amount
                )
            else:
                cmd = c.PostCharge(
                    folio_id=b.folio_id,
                    line_id=line_id,
                    category="minibar",
                    description="Beer",
                    amount=amount,
                )
            mutation = cl.run(n, cmd)
            if mutation:
                kind = "payment" if payment else "charge"
                cl.model.lines.append(Posted(line_id, b.folio_id, n, mutation, kind))

    @precondition(lambda self: self.cluster is not None and self.cluster.model.lines)
    @rule(node=NODE, pick=st.integers(0, 99))
    def void(self, node: int, pick: int) -> None:
        """Void a posted line."""
        with self._step() as cl:
            n = self._node(node)
            line = cl.model.lines[pick % len(cl.model.lines)]
            void_id = new_id()
            cmd = c.VoidLine(
                folio_id=line.folio_id, line_id=line.line_id, void_line_id=void_id, reason="oops"
            )
            mutation = cl.run(n, cmd)
            if mutation:
                cl.model.lines.append(
                    Posted(void_id, line.folio_id, n, mutation, "void", voids=line.line_id)
                )

    @rule(node=NODE, room=st.sampled_from(ROOMS), condition=st.sampled_from(Condition))
    def housekeeping(self, node: int, room: str, condition: Condition) -> None:
        """Set a room's condition (a register)."""
        with self._step() as cl:
            cmd = c.SetRoomCondition(room_id=cl.hotel.rooms[room], condition=condition)
            cl.run(self._node(node), cmd)

    @rule(
        node=NODE,
        room=st.sampled_from(ROOMS),
        service=st.sampled_from((Service.OUT_OF_ORDER, Service.IN_SERVICE, Service.IN_SERVICE)),
    )
    def room_service(self, node: int, room: str, service: Service) -> None:
        """Take a room out of order (the type's inventory shrinks) or back into service."""
        with self._step() as cl:
            reason = "" if service is Service.IN_SERVICE else "leak"
            cmd = c.SetRoomService(room_id=cl.hotel.rooms[room], service=service, reason=reason)
            cl.run(self._node(node), cmd)

    @rule(node=NODE, pick=st.integers(0, 99))
    def resolve_ticket(self, node: int, pick: int) -> None:
        """Edges sync (links as they are), then staff at a node resolve an open conflict ticket."""
        with self._step() as cl:
            for edge in range(1, len(cl.nodes)):
                cl.sync(edge)
            n = self._node(node)
            tickets = cl.tickets_at(n)
            if tickets:
                cmd = c.ResolveTicket(ticket_id=tickets[pick % len(tickets)], resolution="done")
                cl.run(n, cmd)

    @precondition(lambda self: self.cluster is not None and self.cluster.model.bookings)
    @rule(node=NODE, pick=st.integers(0, 99))
    def cancel(self, node: int, pick: int) -> None:
        """Cancel a reservation."""
        with self._step() as cl:
            n = self._node(node)
            b = self._booking(n, pick)
            cl.run(n, c.CancelReservation(reservation_id=b.id, reason="chaos"))

    @precondition(lambda self: self.cluster is not None and self.cluster.model.bookings)
    @rule(node=NODE, pick=st.integers(0, 99), room=st.sampled_from(HOT))
    def move(self, node: int, pick: int, room: str) -> None:
        """Move a stay to another room."""
        with self._step() as cl:
            n = self._node(node)
            b = self._booking(n, pick)
            cmd = c.MoveRoom(reservation_id=b.id, to_room_id=cl.hotel.rooms[room], reason="chaos")
            cl.run(n, cmd)

    @precondition(lambda self: self.cluster is not None and self.cluster.model.bookings)
    @rule(node=NODE, pick=st.integers(0, 99))
    def check_out(self, node: int, pick: int) -> None:
        """Check a guest out (a manager override settles whatever the balance)."""
        with self._step() as cl:
            n = self._node(node)
            b = self._booking(n, pick)
            cmd = c.CheckOut(reservation_id=b.id, override=ManagerOverride("mgr-1", "chaos"))
            cl.run(n, cmd)

    @rule(node=NODE)
    def close_day(self, node: int) -> None:
        """Close the node's business day (night audit core)."""
        with self._step() as cl:
            n = self._node(node)
            day = cl.business_date(n)
            if day < LAST_DAY:  # later, no booking could check in any more
                cl.run(n, c.CloseBusinessDay(business_date=day))

    # --- the link -------------------------------------------------------------------------

    @rule(edge=st.integers(0, 1), fault=st.sampled_from(FAULTS), at=st.sampled_from((0, 0, 1, 2)))
    def sync(self, edge: int, fault: str, at: int) -> None:
        """A sync cycle at an edge whose ``at``-th push (or pull) suffers ``fault``.

        An edge with something to push is preferred, so that push faults hit a push.
        """
        with self._step() as cl:
            busy = [n for n in range(1, len(cl.nodes)) if cl.has_unsent(n)]
            cl.sync(busy[edge % len(busy)] if busy else self._edge(edge), fault, at)

    @rule()
    def sync_all(self) -> None:
        """A sync cycle at every edge, without faults (links that are cut stay cut)."""
        with self._step() as cl:
            for edge in range(1, len(cl.nodes)):
                cl.sync(edge)

    @rule(edge=st.integers(0, 1), cut=st.booleans())
    def link(self, edge: int, cut: bool) -> None:
        """Cut or heal an edge's link."""
        with self._step() as cl:
            cl.links[self._edge(edge) - 1].cut = cut

    def teardown(self) -> None:
        """Heal, sync until quiet, then check convergence and exactly-once results."""
        cluster, self.cluster = self.cluster, None
        if cluster is None:
            return
        try:
            if not self.broken:
                _settle_and_check(cluster)
                if cluster.resolve_tickets():  # staff work the tickets, at two nodes at times
                    _settle_and_check(cluster)
        finally:
            cluster.close()


@pytest.fixture(scope="module")
def backends(pg_template: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Backends]:
    """Central's database (emptied for each cluster) and edge files, for this module."""
    made = Backends(pg_template, tmp_path_factory.mktemp("convergence"))
    yield made
    made.close()


@pytest.fixture
def cluster(backends: Backends) -> Iterator[Cluster]:
    """Central with the small hotel and one edge that has pulled it, pushing and pulling apart
    (so that each of a pull's faults below hits a pull; riding_cluster's edge rides)."""
    made = Cluster(backends, 1, riding=False)
    yield made
    made.close()


def test_edges_and_central_converge_under_faults(backends: Backends) -> None:
    """Random commands, faults and cuts; after healing all nodes agree and nothing is doubled."""
    Env.backends = backends
    STATS.clear()
    try:
        run_state_machine_as_test(
            Convergence,
            settings=settings(
                max_examples=int(os.environ.get("YADORI_CHAOS_EXAMPLES", "80")),
                stateful_step_count=30,
                deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
            ),
        )
    finally:
        Env.backends = None
    for name, count in sorted(STATS.items()):
        print(f"{count:5d}  {name}")


# --- regression scenarios -------------------------------------------------------------------


def _stay(cl: Cluster, node: int, room: str = "101") -> Booking:
    """Book a one-night stay at a node, today, in a named room, and check it in there."""
    cmd = c.CreateReservation(
        reservation_id=new_id(),
        folio_id=new_id(),
        guest_name="Regression Guest",
        arrival=TODAY,
        departure=TODAY + timedelta(days=1),
        adults=1,
        room_type_id=cl.hotel.std if room.startswith("1") else cl.hotel.twn,
        rate_plan_id=cl.hotel.plan,
        room_id=cl.hotel.rooms[room],
    )
    assert cl.run(node, cmd)
    booking = Booking(cmd.reservation_id, cmd.folio_id, 1, node)
    cl.model.bookings.append(booking)
    assert cl.run(node, c.CheckIn(reservation_id=booking.id, guests=(guest(0),)))
    return booking


def _charge(cl: Cluster, node: int, booking: Booking, amount: int = 1_200) -> str:
    """Post a minibar charge at a node; the line id."""
    line_id = new_id()
    cmd = c.PostCharge(
        folio_id=booking.folio_id,
        line_id=line_id,
        category="minibar",
        description="Beer",
        amount=amount,
    )
    mutation = cl.run(node, cmd)
    assert mutation
    cl.model.lines.append(Posted(line_id, booking.folio_id, node, mutation, "charge"))
    return line_id


def _settle_and_check(cl: Cluster) -> dict[str, str]:
    """Heal and sync until quiet; check convergence, results and lines; the results."""
    cl.heal_and_settle()
    cl.check_converged()
    results = cl.check_results()
    cl.check_lines(results)
    return results


def test_a_batch_held_back_then_duplicated_is_applied_once(cluster: Cluster) -> None:
    """A batch delayed past its resend, the resend delivered twice: each mutation applied once."""
    cl = cluster
    stay = _stay(cl, 1)
    lines = [_charge(cl, 1, stay, 100 * k) for k in range(1, 4)]
    assert cl.sync(1, "push:hold") is None  # held back: central has nothing yet
    assert cl.sync(1, "push:duplicate") is not None  # resent twice, then the held one arrives
    assert cl.links[0].log == ["late delivery"]
    results = _settle_and_check(cl)
    assert len(results) == 5
    assert set(results.values()) == {"applied|"}
    assert all(line in cl.lines_at(0) for line in lines)


@pytest.fixture
def riding_cluster(backends: Backends) -> Iterator[Cluster]:
    """Central with the small hotel and one edge that asks for its first pull page with its
    last batch (decision 0049), as `yadori edge` does."""
    made = Cluster(backends, 1, riding=True)
    yield made
    made.close()


def test_a_page_that_rode_with_a_duplicated_push_is_applied_once(riding_cluster: Cluster) -> None:
    """The last batch arrives twice, each time asking for the page: applied once, one result
    per mutation, and the edge acknowledges every mutation from the page it gets back."""
    cl = riding_cluster
    stay = _stay(cl, 1)
    line = _charge(cl, 1, stay)
    report = cl.sync(1, "push:duplicate")
    assert report is not None
    assert report.results == 3
    assert cl.applied_count() == 3
    assert set(cl.outbox_states(1)) == {"done"}
    _settle_and_check(cl)
    assert cl.lines_at(0).count(line) == 1


def test_a_page_central_could_not_read_is_pulled_instead(riding_cluster: Cluster) -> None:
    """Reading the page after the batch fails at central: the push is answered without it
    (applied, acknowledged), and the edge pulls the page as usual."""
    cl = riding_cluster
    stay = _stay(cl, 1)
    line = _charge(cl, 1, stay)
    server = cl.central.sync_server
    assert server is not None
    pulls: list[str] = []

    def failing_once(*args: Any, **kwargs: Any) -> dict[str, JSON]:
        pulls.append("asked")
        if len(pulls) == 1:
            raise StorageUnavailable("the database did not answer (test)")
        return SyncServer.pull(server, *args, **kwargs)  # type: ignore[arg-type]

    server.pull = failing_once  # type: ignore[method-assign]
    report = cl.sync(1)
    assert report is not None
    assert (report.pushed, report.results) == (3, 3)
    assert len(pulls) == 2  # the page's read failed; the edge's own pull was served
    assert cl.applied_count() == 3
    _settle_and_check(cl)
    assert cl.lines_at(0).count(line) == 1


@pytest.mark.parametrize(
    ("riding", "fault", "left", "resent"),
    [
        # the pull's answer, with results and documents: the next cycle pulls them first (0055)
        (False, "pull:drop_answer", "sent", 0),
        # the push's, with the page riding in it (0049): never marked sent, so sent again
        (True, "push:drop_answer", "pending", 3),
    ],
)
def test_results_recorded_but_their_answer_lost_are_not_applied_twice(
    backends: Backends, riding: bool, fault: str, left: str, resent: int
) -> None:
    """Central applied and recorded, the answer bringing the results is lost: the results are
    pulled again (what was never marked sent is resent and deduplicated), acknowledged once."""
    cl = Cluster(backends, 1, riding=riding)
    try:
        stay = _stay(cl, 1)
        line = _charge(cl, 1, stay)
        assert cl.sync(1, fault) is None
        assert cl.applied_count() == 3  # central applied all three already
        assert cl.outbox_states(1) == {left: 3}  # a lost push answer: not even marked sent
        report = cl.sync(1)
        assert report is not None
        assert (report.pushed, report.results) == (resent, 3)  # answered from the ledger
        assert cl.applied_count() == 3
        _settle_and_check(cl)
        assert cl.lines_at(0).count(line) == 1
    finally:
        cl.close()


def test_offline_edge_and_central_collide_then_converge(cluster: Cluster) -> None:
    """Cut link: both sides put a guest in 201 tonight and set 101; healed: one state, a ticket."""
    cl = cluster
    cl.links[0].cut = True
    offline = _stay(cl, 1, "201")
    _charge(cl, 1, offline)
    online = _stay(cl, 0, "202")
    assert cl.run(0, c.MoveRoom(reservation_id=online.id, to_room_id=cl.hotel.rooms["201"]))
    assert cl.run(1, c.SetRoomCondition(room_id=cl.hotel.rooms["101"], condition=Condition.DIRTY))
    assert cl.run(0, c.SetRoomCondition(room_id=cl.hotel.rooms["101"], condition=Condition.DIRTY))
    assert cl.sync(1) is None  # still cut
    results = _settle_and_check(cl)
    assert any(r.startswith("conflict|") for r in results.values())
    assert cl.open_tickets(0) == cl.open_tickets(1) >= 1


def test_a_damaged_batch_is_refused_whole_then_resent(cluster: Cluster) -> None:
    """A batch damaged on the wire is refused by its CRC32 (nothing applied) and resent later."""
    cl = cluster
    stay = _stay(cl, 1)
    _charge(cl, 1, stay)
    assert cl.sync(1, "push:corrupt") is None
    assert cl.applied_count() == 0
    assert cl.outbox_states(1) == {"pending": 3}
    results = _settle_and_check(cl)
    assert len(results) == 3


def test_a_mutation_central_rejects_never_blocks_the_ones_after_it(cluster: Cluster) -> None:
    """Offline, edge and central move one stay to 102: the edge's move is rejected, the rest kept.

    Its answer is lost too; once healed the edge holds central's state, staff see the rejection,
    and the charge made after it was applied.
    """
    cl = cluster
    stay = _stay(cl, 0)
    assert cl.sync(1) is not None  # the edge has the stay
    cl.links[0].cut = True
    assert cl.run(0, c.MoveRoom(reservation_id=stay.id, to_room_id=cl.hotel.rooms["102"]))
    assert cl.run(1, c.MoveRoom(reservation_id=stay.id, to_room_id=cl.hotel.rooms["102"]))
    line = _charge(cl, 1, stay)
    cl.links[0].cut = False
    assert cl.sync(1, "push:drop_answer") is None
    results = _settle_and_check(cl)
    assert [r.partition("|")[0] for r in results.values()] == ["rejected", "applied"]
    assert cl.lines_at(1).count(line) == cl.lines_at(0).count(line) == 1
    store = cl.nodes[1].edge_store
    assert store is not None
    assert [r["name"] for r in store.queue().rejected] == ["move_room"]


def test_a_register_write_based_on_an_unsynced_local_write_is_not_current(
    cluster: Cluster,
) -> None:
    """Central inspects 101 (v2); offline the edge marks it dirty (local v2), then clean (base 2).

    Central's write outranks the edge's first write, which loses. The edge's second write was
    based on the edge's own v2, a state central never had, so by DESIGN §5 it must lose too and
    101 stays inspected; today it applies, as if it had been based on central's v2.
    """
    cl = cluster
    room = cl.hotel.rooms["101"]
    assert cl.run(0, c.SetRoomCondition(room_id=room, condition=Condition.INSPECTED))
    assert cl.run(1, c.SetRoomCondition(room_id=room, condition=Condition.DIRTY))
    assert cl.run(1, c.SetRoomCondition(room_id=room, condition=Condition.CLEAN))
    results = _settle_and_check(cl)  # converged: the bug is in which write wins, not in sync
    assert cl.room_condition(0, room) == "inspected", list(results.values())


def test_pulling_in_pages_when_a_parent_was_published_after_its_child(
    backends: Backends,
) -> None:
    """Minimal example found by the state machine with 3-row pages (page_size=3)."""
    cl = Cluster(backends, 1, batch_size=3, page_size=3)
    try:
        assert cl.run(0, c.CloseBusinessDay(business_date=TODAY))
        assert cl.run(0, c.CloseBusinessDay(business_date=TODAY + timedelta(days=1)))
        booked = c.CreateReservation(
            reservation_id=new_id(),
            folio_id=new_id(),
            guest_name="Regression Guest",
            arrival=TODAY,
            departure=TODAY + timedelta(days=1),
            adults=1,
            room_type_id=cl.hotel.std,
            rate_plan_id=cl.hotel.plan,
            room_id=cl.hotel.rooms["101"],
        )
        assert cl.run(0, booked)
        assert cl.run(0, c.CancelReservation(reservation_id=booked.reservation_id, reason="x"))
        cl.sync(1)  # page 1 holds the folio (and the room), its reservation is on page 2
        _settle_and_check(cl)
    finally:
        cl.close()


def test_a_new_edge_takes_a_hotel_in_pages_after_a_day_was_closed(backends: Backends) -> None:
    """Central closes a day (the property is re-published after its rooms); a new edge joins.

    The same bug at the default page size: any hotel with more than 2,000 aggregates that has
    ever closed a day cannot be taken by a new edge, whose first page holds rooms and room
    types but not the property they belong to.
    """
    cl = Cluster(backends, 0, page_size=5)
    try:
        assert cl.run(0, c.CloseBusinessDay(business_date=TODAY))
        edge = cl.add_edge()
        cl.sync(edge)
        _settle_and_check(cl)
    finally:
        cl.close()


class _NothingToPush:
    """The edge's store with nothing offered to push: a cycle that only pulls."""

    def __init__(self, store: object) -> None:
        self._store = store

    def pending(self, window: int) -> list[object]:
        """Nothing: what the edge has pending stays pending through this pull."""
        return []

    def __getattr__(self, name: str) -> object:
        return getattr(self._store, name)


def test_a_pull_while_a_posting_is_pending_keeps_the_edges_line(cluster: Cluster) -> None:
    """Central posts to a folio while the edge's own posting to it is still pending; a pull in
    between (staff kept working during a sync) must neither fail nor drop the edge's line.

    Positions are given by the node that appends a line, so central's line and the edge's pending
    one share a position: the edge keeps the folio as it is until its posting's result is in,
    then takes central's whole folio (decision 0009; 0031 tried a document per line and failed
    exactly here)."""
    cl = cluster
    stay = _stay(cl, 1)
    _settle_and_check(cl)
    at_central = _charge(cl, 0, stay, 700)
    at_edge = _charge(cl, 1, stay, 300)
    edge = cl.nodes[1]
    assert edge.edge_store is not None
    pull_only = SyncWorker(
        _NothingToPush(edge.edge_store),  # type: ignore[arg-type]
        cl.links[0],
        origin="e1",
        properties=lambda: [cl.pid],
        hlc=edge.bus.hlc,
        now=lambda: datetime.now(UTC),
    )
    pull_only.cycle()
    assert at_edge in cl.lines_at(1)  # what the desk just posted is still shown
    _settle_and_check(cl)
    assert {at_central, at_edge} <= set(cl.lines_at(1))
