"""Room service through the real sync: inventory accuracy under faults, the price table, and a
delivery retried through link cuts that posts one charge.

Central (PostgreSQL) owns the menu and counts stock in and out; the edge (SQLite) takes orders
and delivers them, linked by the faulty in-process link of ``convergence_model``. After healing,
every node must hold central's data, stock must be initial + restocks − delivered orders at every
node, and every oversell (stock below zero after a merge) must have its ticket.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from chaos.convergence_model import FAULTS, STATS, Backends, Cluster
from support.hotel import Hotel
from support.roomservice import Menu, build_menu
from yadori.domain.conflicts import ConflictKind
from yadori.domain.ids import new_id
from yadori.domain.roomservice import OrderSource, OrderStatus, PricePolicy
from yadori.services import commands as c
from yadori.storage.tables import (
    conflict_tickets,
    folio_lines,
    outbox,
    room_service_orders,
    stock_moves,
)

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

INITIAL = 6


@pytest.fixture(scope="module")
def backends(pg_template: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Backends]:
    """Central's database (emptied for each cluster) and edge files, for this module."""
    made = Backends(pg_template, tmp_path_factory.mktemp("roomservice"))
    yield made
    made.close()


@dataclass
class Shop:
    """A cluster with the menu made at central, one stay in house, pulled by the edge."""

    cluster: Cluster
    menu: Menu
    reservation_id: str
    folio_id: str

    def stock(self, node: int) -> int:
        """The curry's stock at a node."""
        item = self.menu.item("CURRY")
        with self.cluster.nodes[node].engine.connect() as conn:
            query = sa.select(sa.func.coalesce(sa.func.sum(stock_moves.c.delta), 0)).where(
                stock_moves.c.item_id == item
            )
            return int(conn.execute(query).scalar_one())

    def order(self, node: int, quantity: int, **extra: object) -> str | None:
        """Order curries for the stay at a node; the order id, or None when refused."""
        order_id = new_id()
        cmd = c.PlaceOrder(
            order_id=order_id,
            reservation_id=self.reservation_id,
            source=OrderSource.STAFF,
            items=(c.OrderItem(self.menu.item(str(extra.get("code", "CURRY"))), quantity),),
        )
        return order_id if self.cluster.run(node, cmd) else None

    def advance(self, node: int, order_id: str, status: OrderStatus) -> bool:
        """Move an order on at a node; whether it was taken."""
        cmd = c.AdvanceOrder(order_id=order_id, status=status)
        return self.cluster.run(node, cmd) is not None

    def orders(self, node: int) -> dict[str, str]:
        """Order id → status at a node."""
        with self.cluster.nodes[node].engine.connect() as conn:
            rows = conn.execute(sa.select(room_service_orders.c.id, room_service_orders.c.status))
            return {r.id: r.status for r in rows}

    def oversold_tickets(self, node: int) -> list[str]:
        """Facts of the oversell tickets at a node."""
        with self.cluster.nodes[node].engine.connect() as conn:
            query = sa.select(conflict_tickets.c.facts).where(
                conflict_tickets.c.kind == ConflictKind.OVERSOLD.value
            )
            return list(conn.execute(query).scalars())

    def room_service_lines(self, node: int) -> list[int]:
        """Amounts of room-service charges on the stay's folio at a node."""
        with self.cluster.nodes[node].engine.connect() as conn:
            query = sa.select(folio_lines.c.amount).where(
                folio_lines.c.folio_id == self.folio_id,
                folio_lines.c.category == "room_service",
            )
            return list(conn.execute(query).scalars())


def open_shop(backends: Backends, stock: int = INITIAL) -> Shop:
    """Central builds the hotel, the menu and a stay in 101; the edge pulls all of it."""
    cluster = Cluster(backends, 1)
    try:
        central = Hotel(
            cluster.central, cluster.pid, cluster.hotel.std, cluster.hotel.twn, cluster.hotel.plan
        )
        central.rooms = cluster.hotel.rooms
        menu = build_menu(central, stock=stock)
        stay = central.check_in(central.book(room="101"), "101")
        folio_id = central.folio_id(stay)
        with cluster.central.engine.connect() as conn:  # the model knows central's setup
            cluster.model.mutations[0] = list(conn.execute(sa.select(outbox.c.id)).scalars())
        cluster.heal_and_settle()
        return Shop(cluster, menu, stay.id, folio_id)
    except BaseException:
        cluster.close()
        raise


@pytest.fixture
def shop(backends: Backends) -> Iterator[Shop]:
    """A fresh shop."""
    made = open_shop(backends)
    yield made
    made.cluster.close()


# --- inventory accuracy under faults (hypothesis) ---------------------------------------------


class Env:
    """Where the machine gets its databases."""

    backends: Backends | None = None


class Inventory(RuleBasedStateMachine):
    """Orders, deliveries and cancellations at the edge; stock counted at central; faults."""

    def __init__(self) -> None:
        super().__init__()
        self.shop: Shop | None = None
        self.restocked = 0
        self.open: list[str] = []

    @initialize()
    def start(self) -> None:
        assert Env.backends is not None
        self.shop = open_shop(Env.backends)

    @rule(quantity=st.integers(1, 3))
    def order_at_edge(self, quantity: int) -> None:
        assert self.shop is not None
        order_id = self.shop.order(1, quantity)
        if order_id:
            self.open.append(order_id)

    @precondition(lambda self: self.open)
    @rule(pick=st.integers(0, 99), deliver=st.booleans())
    def finish_at_edge(self, pick: int, deliver: bool) -> None:
        assert self.shop is not None
        order_id = self.open.pop(pick % len(self.open))
        status = OrderStatus.DELIVERED if deliver else OrderStatus.CANCELLED
        assert self.shop.advance(1, order_id, status)

    @rule(delta=st.sampled_from([-3, -2, -1, 2, 4]))
    def count_at_central(self, delta: int) -> None:
        assert self.shop is not None
        cmd = c.AdjustStock(move_id=new_id(), item_id=self.shop.menu.item("CURRY"), delta=delta)
        if self.shop.cluster.run(0, cmd):
            self.restocked += delta

    @rule(out=st.integers(1, 3), quantity=st.integers(1, 3))
    def both_sell_during_an_outage(self, out: int, quantity: int) -> None:
        """The link is cut; central counts some out and the edge sells from its older count."""
        assert self.shop is not None
        self.shop.cluster.links[0].cut = True
        self.count_at_central(-out)
        self.order_at_edge(quantity)

    @rule(fault=st.sampled_from(FAULTS), at=st.integers(0, 2))
    def sync(self, fault: str, at: int) -> None:
        assert self.shop is not None
        self.shop.cluster.sync(1, fault, at)

    @rule(cut=st.sampled_from([True, True, False]))  # cut more often than not: more oversells
    def link(self, cut: bool) -> None:
        assert self.shop is not None
        self.shop.cluster.links[0].cut = cut

    @invariant()
    def an_oversell_at_central_has_its_ticket(self) -> None:
        if self.shop is not None and self.shop.stock(0) < 0:
            assert self.shop.oversold_tickets(0), "central's stock is below zero with no ticket"

    def teardown(self) -> None:
        shop, self.shop = self.shop, None
        if shop is None:
            return
        try:
            for order_id in self.open:  # every order still open is delivered in the end
                assert shop.advance(1, order_id, OrderStatus.DELIVERED)
            shop.cluster.heal_and_settle()
            shop.cluster.check_converged()
            shop.cluster.check_lines(shop.cluster.check_results())
            orders = shop.orders(0)
            assert orders == shop.orders(1)
            delivered = _delivered_quantity(shop)
            expected = INITIAL + self.restocked - delivered
            assert shop.stock(0) == shop.stock(1) == expected
            assert not any(s in ("accepted", "preparing", "delivering") for s in orders.values())
            STATS["runs"] += 1
            STATS["runs with an oversell"] += bool(shop.oversold_tickets(0))
            STATS["orders"] += len(orders)
            STATS["final stock below zero"] += shop.stock(0) < 0
        finally:
            shop.cluster.close()


def _delivered_quantity(shop: Shop) -> int:
    with shop.cluster.central.engine.connect() as conn:
        rows = conn.execute(
            sa.select(room_service_orders.c.id).where(room_service_orders.c.status == "delivered")
        ).scalars()
        ids = list(rows)
    order_moves = shop.cluster.central.bus.read(
        shop.cluster.pid, lambda uow: [uow.orders.get(i) for i in ids]
    )
    return sum(line.quantity for order in order_moves for line in order.lines)


def test_stock_is_exact_at_every_node_after_faults(backends: Backends) -> None:
    """Random orders, deliveries, cancellations, stock counts and faults: after healing,
    stock = initial + restocks − delivered at every node, and oversells have tickets."""
    Env.backends = backends
    STATS.clear()
    run_state_machine_as_test(
        Inventory,
        settings=settings(
            max_examples=int(os.environ.get("YADORI_CHAOS_EXAMPLES", "80")) // 4,
            stateful_step_count=25,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )
    print(dict(STATS))  # with -s: how often the runs oversold


def test_an_oversell_merged_at_central_opens_a_ticket(shop: Shop) -> None:
    """Offline, the edge sells 5 of 6 while central counts 4 out: −3 everywhere, one ticket."""
    shop.cluster.links[0].cut = True
    assert shop.order(1, 5)
    assert shop.cluster.run(
        0, c.AdjustStock(move_id=new_id(), item_id=shop.menu.item("CURRY"), delta=-4)
    )
    shop.cluster.heal_and_settle()
    shop.cluster.check_converged()
    assert shop.stock(0) == shop.stock(1) == -3
    assert len(shop.oversold_tickets(0)) == len(shop.oversold_tickets(1)) == 1


# --- a delivery retried through link cuts -----------------------------------------------------


def test_a_delivery_retried_ten_times_through_link_cuts_posts_one_charge(shop: Shop) -> None:
    """The kitchen presses delivered ten times while the link is cut, half-open and healed:
    one charge at the edge and one at central."""
    order_id = shop.order(1, 2)
    assert order_id
    faults = ("push:drop_answer", "pull:drop_answer", "push:duplicate", "push:hold", "none")
    for attempt in range(10):
        shop.cluster.links[0].cut = attempt % 3 == 0
        shop.advance(1, order_id, OrderStatus.DELIVERED)  # refused or a no-op after the first
        shop.cluster.sync(1, faults[attempt % len(faults)], attempt % 2)
    shop.cluster.heal_and_settle()
    shop.cluster.check_converged()
    assert shop.room_service_lines(0) == shop.room_service_lines(1) == [3_600]
    assert shop.orders(0)[order_id] == "delivered"


# --- the price table ----------------------------------------------------------------------------


@dataclass(frozen=True)
class PriceCase:
    """An order made at the edge while central changed things, and what the guest pays."""

    name: str
    code: str
    quantity: int
    central_price: int | None  # the price central set while the edge was offline
    policy: PricePolicy | None  # the policy set at central before the outage
    estimated: int
    confirmed: int
    charged: int
    tax: int  # consumption tax inside the charge (10 %, floored)


PRICE_CASES = [
    PriceCase("unchanged", "CURRY", 2, None, None, 3_600, 3_600, 3_600, 327),
    PriceCase("raised at central, lower", "CURRY", 2, 2_000, None, 3_600, 4_000, 3_600, 327),
    PriceCase("cut at central, lower", "CURRY", 2, 1_500, None, 3_600, 3_000, 3_000, 272),
    PriceCase(
        "raised, confirmed policy",
        "CURRY",
        1,
        2_000,
        PricePolicy.CONFIRMED,
        1_800,
        2_000,
        2_000,
        181,
    ),
    PriceCase(
        "cut, estimated policy", "CURRY", 1, 1_500, PricePolicy.ESTIMATED, 1_800, 1_500, 1_800, 163
    ),
    PriceCase("service charge 10 %", "CLUB", 1, None, None, 2_420, 2_420, 2_420, 220),
    PriceCase("service charge, raised", "CLUB", 3, 2_205, None, 7_260, 7_276, 7_260, 660),
    PriceCase("service charge, cut", "CLUB", 1, 2_105, None, 2_420, 2_315, 2_315, 210),
]


@pytest.mark.parametrize("case", PRICE_CASES, ids=lambda case: case.name)
def test_estimated_against_confirmed(backends: Backends, case: PriceCase) -> None:
    """The edge estimates (and first confirms) at its menu; central confirms at its own; the
    folio at every node gets the policy's charge, with the tax of one invoice line."""
    shop = open_shop(backends)
    try:
        cl = shop.cluster
        if case.policy is not None:
            assert cl.run(0, c.SetPricePolicy(property_id=cl.pid, policy=case.policy))
            cl.heal_and_settle()
        cl.links[0].cut = True
        if case.central_price is not None:
            Menu(shop.menu.hotel, shop.menu.mains, shop.menu.drinks, shop.menu.items).set_price(
                case.code, case.central_price
            )
        order_id = shop.order(1, case.quantity, code=case.code)
        assert order_id
        assert shop.advance(1, order_id, OrderStatus.DELIVERED)
        cl.heal_and_settle()
        cl.check_converged()
        order = cl.central.bus.read(cl.pid, lambda uow: uow.orders.get(order_id))
        assert (order.estimated_total, order.confirmed_total, order.charge) == (
            case.estimated,
            case.confirmed,
            case.charged,
        )
        assert shop.room_service_lines(0) == shop.room_service_lines(1) == [case.charged]
        folio = cl.central.bus.read(cl.pid, lambda uow: uow.folios.get(shop.folio_id))
        assert folio.invoice().tax_total == case.tax
    finally:
        shop.cluster.close()
