"""Handlers of room service: the menu, stock, orders (with their one folio charge), guest tokens.

Stock is a counter (DESIGN §5): every change is a move; where an order is taken the local sum
is checked, and a replay that leaves it below zero opens an ``oversold`` ticket instead of
refusing. Orders are a state machine merged by lifecycle order. Delivery posts one charge whose
line id is derived from the order, so however often a delivery is retried or replayed, the
folio gets it once.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, time
from zoneinfo import ZoneInfo

from yadori.domain.conflicts import ConflictKind
from yadori.domain.errors import InvalidInput
from yadori.domain.folio import ChargeCategory, FolioLine, FolioStatus, LineKind
from yadori.domain.ids import derived_id, human_number
from yadori.domain.inventory import StockMove, StockReason, check_stock, oversold
from yadori.domain.limits import check_rate
from yadori.domain.reservations import ReservationStatus
from yadori.domain.roomservice import (
    MenuCategory,
    MenuItem,
    Order,
    OrderLine,
    OrderStatus,
    PricePolicy,
    StayNotInHouse,
    order_price,
)
from yadori.services.commands import (
    AdjustStock,
    AdvanceOrder,
    IssueGuestToken,
    OrderItem,
    PlaceOrder,
    SaveMenuCategory,
    SaveMenuItem,
    SetPricePolicy,
)
from yadori.services.context import Context
from yadori.services.ports import UnitOfWork
from yadori.services.roomservice_ports import OrderStay

# --- the menu -----------------------------------------------------------------------------------


def save_menu_category(cmd: SaveMenuCategory, uow: UnitOfWork, ctx: Context) -> MenuCategory:
    """Create or change a menu category."""
    category = MenuCategory(cmd.category_id, cmd.code, cmd.name_ja, cmd.name_en, cmd.position)
    uow.menu.save_category(category)
    return category


def save_menu_item(cmd: SaveMenuItem, uow: UnitOfWork, ctx: Context) -> MenuItem:
    """Create or change a menu item; a changed price keeps the one it replaces."""
    check_rate("service_charge_rate", cmd.service_charge_rate)  # where a rate comes in
    item = MenuItem(
        id=cmd.item_id,
        category_id=cmd.category_id,
        code=cmd.code,
        name_ja=cmd.name_ja,
        name_en=cmd.name_en,
        price=cmd.price,
        tax_class=cmd.tax_class,
        service_charge_rate=cmd.service_charge_rate,
        available_from=_time(cmd.available_from, "available_from"),
        available_until=_time(cmd.available_until, "available_until"),
        allergens=cmd.allergens,
        sold_out=cmd.sold_out,
        track_stock=cmd.track_stock,
    )
    old = next((i for i in uow.menu.items() if i.id == cmd.item_id), None)
    saved = item.replacing(old)
    uow.menu.save_item(saved)
    return saved


def set_price_policy(cmd: SetPricePolicy, uow: UnitOfWork, ctx: Context) -> PricePolicy:
    """Set what guests pay when a confirmed price differs from their estimate."""
    if cmd.property_id != uow.property_id:
        raise InvalidInput("the policy names another property", field="property_id")
    uow.menu.set_policy(cmd.policy)
    return cmd.policy


# --- stock ----------------------------------------------------------------------------------------


def adjust_stock(cmd: AdjustStock, uow: UnitOfWork, ctx: Context) -> int:
    """Count stock in or out; return the stock after the move."""
    item = uow.menu.get_item(cmd.item_id)
    move = StockMove(cmd.move_id, item.id, cmd.delta, StockReason.RESTOCK, note=cmd.note)
    if not ctx.replay:
        check_stock(item.id, uow.stock.on_hand([item.id])[item.id], -cmd.delta)
    return _move(uow, ctx, move)


def _move(uow: UnitOfWork, ctx: Context, move: StockMove) -> int:
    """Append a move; a merged stock below zero opens an oversell ticket."""
    uow.stock.add(move, node=ctx.stamp.node, at=ctx.at)
    after = uow.stock.on_hand([move.item_id])[move.item_id]
    if ctx.replay and oversold(after):
        item = uow.menu.get_item(move.item_id)
        ctx.conflict(
            ConflictKind.OVERSOLD,
            f"menu_item:{move.item_id}",
            f"{item.name_en} ({item.name_ja}): stock {after} after merging, {-after} sold that "
            "were not there; tell the guests concerned, or count the stock again",
            item=item.code,
            move=move.id,
            stock=str(after),
        )
    return after


def _take(uow: UnitOfWork, ctx: Context, order_id: str, wanted: dict[str, int], how: str) -> None:
    reason = StockReason(how)
    sign = 1 if reason is StockReason.CANCEL else -1
    for item_id, quantity in sorted(wanted.items()):
        move_id = derived_id(f"order:{order_id}", f"{how}/{item_id}")
        move = StockMove(move_id, item_id, sign * quantity, reason, order_id)
        if not ctx.replay:  # a new step here: its moves are new
            uow.stock.add(move, node=ctx.stamp.node, at=ctx.at)
        elif not uow.stock.exists(move_id):  # a replay of a step not taken here yet
            _move(uow, ctx, move)


# --- orders ---------------------------------------------------------------------------------------


def place_order(cmd: PlaceOrder, uow: UnitOfWork, ctx: Context) -> Order:
    """Take an order for an in-house stay, priced twice: as estimated and as confirmed here."""
    stay = uow.orders.stay(cmd.reservation_id)
    ctx.depends_on(f"reservation:{stay.reservation_id}")
    _in_house(ctx, stay)
    items = _items(uow, cmd.items)
    prop = uow.properties.get()
    if not ctx.replay:
        local = _local_time(ctx.at, prop.timezone)
        for item in items.values():
            item.check_orderable(local)
    lines = _lines(cmd, items, ctx)
    estimated = order_price(lines, prop.service_charge_rounding, estimated=True).total
    confirmed = order_price(lines, prop.service_charge_rounding, estimated=False).total
    order = Order(
        id=cmd.order_id,
        reservation_id=stay.reservation_id,
        folio_id=stay.folio_id,
        room_number=stay.room_number,
        source=cmd.source,
        status=OrderStatus.ACCEPTED,
        lines=lines,
        estimated_total=estimated,
        confirmed_total=confirmed,
        policy=cmd.policy or uow.menu.policy(),
        placed_at=ctx.at,
        notes=cmd.notes,
        deliver_at=_deliver_at(cmd.deliver_at),
        client_id=cmd.client_id,
        number=cmd.number or human_number(ctx.node_prefix, uow.counters.next("rs_order")),
    )
    _confirm(ctx, cmd, order)
    wanted = _tracked(items, cmd.items)
    if not ctx.replay:
        on_hand = uow.stock.on_hand(wanted) if wanted else {}
        for item_id, quantity in wanted.items():
            check_stock(item_id, on_hand[item_id], quantity)
    uow.orders.add(order)
    _take(uow, ctx, order.id, wanted, StockReason.ORDER.value)
    return order


def _in_house(ctx: Context, stay: OrderStay) -> None:
    if stay.status is not ReservationStatus.CHECKED_IN and not ctx.replay:
        raise StayNotInHouse(
            f"reservation {stay.number} is {stay.status.value}, not in house",
            reservation=stay.number,
        )


def _items(uow: UnitOfWork, ordered: Iterable[OrderItem]) -> dict[str, MenuItem]:
    return {o.item_id: uow.menu.get_item(o.item_id) for o in ordered}


def _lines(cmd: PlaceOrder, items: dict[str, MenuItem], ctx: Context) -> tuple[OrderLine, ...]:
    """Each line with its estimated and its confirmed unit price.

    The estimate is what the orderer was shown: the guest page's cached price when this node
    knows it as the item's current or previous price, else this node's price. A replay reuses
    the estimate resolved where the order was placed, and confirms at its own prices.
    """
    if not cmd.items:
        raise InvalidInput("an order needs at least one line", field="items")
    estimated = cmd.estimated
    if estimated is None or len(estimated) != len(cmd.items):
        estimated = tuple(_estimate(o, items[o.item_id]) for o in cmd.items)
        ctx.resolve(estimated=estimated)
    return tuple(
        OrderLine(
            item_id=o.item_id,
            name_ja=items[o.item_id].name_ja,
            name_en=items[o.item_id].name_en,
            quantity=o.quantity,
            estimated_unit_price=unit,
            unit_price=items[o.item_id].price,
            tax_class=items[o.item_id].tax_class,
            service_charge_rate=items[o.item_id].service_charge_rate,
        )
        for o, unit in zip(cmd.items, estimated, strict=True)
    )


def _estimate(ordered: OrderItem, item: MenuItem) -> int:
    shown = ordered.estimated_unit_price
    return shown if shown is not None and item.recognises(shown) else item.price


def _confirm(ctx: Context, cmd: PlaceOrder, order: Order) -> None:
    """Record the issuer's confirmation; a replay confirming otherwise says so."""
    if cmd.confirmed_total is None:
        ctx.resolve(number=order.number, policy=order.policy, confirmed_total=order.confirmed_total)
    elif cmd.confirmed_total != order.confirmed_total:
        ctx.changed(confirmed_total=order.confirmed_total, issuer_confirmed=cmd.confirmed_total)


def _tracked(items: dict[str, MenuItem], ordered: Iterable[OrderItem]) -> dict[str, int]:
    wanted: dict[str, int] = {}
    for o in ordered:
        if items[o.item_id].track_stock:
            wanted[o.item_id] = wanted.get(o.item_id, 0) + o.quantity
    return wanted


def advance_order(cmd: AdvanceOrder, uow: UnitOfWork, ctx: Context) -> Order:
    """Move an order on; delivery posts its one charge, cancellation gives its stock back."""
    order = uow.orders.get(cmd.order_id, for_update=True)
    if order.status is cmd.status:  # a retried step: nothing more to do
        return order
    moved = order.merged(cmd.status) if ctx.replay else order.advance(cmd.status)
    if moved.status is order.status:
        ctx.changed(kept=order.status.value, refused=cmd.status.value)  # later in the lifecycle
        return order
    wanted: dict[str, int] = {}
    for line in order.lines:
        wanted[line.item_id] = wanted.get(line.item_id, 0) + line.quantity
    tracked = {i: q for i, q in wanted.items() if uow.menu.get_item(i).track_stock}
    if moved.status is OrderStatus.CANCELLED:
        _take(uow, ctx, order.id, tracked, StockReason.CANCEL.value)
    if moved.status is OrderStatus.DELIVERED:
        if order.status is OrderStatus.CANCELLED:
            _delivered_after_cancel(uow, ctx, order, tracked)
        _post_charge(uow, ctx, moved)
    uow.orders.save(moved)
    return moved


def _delivered_after_cancel(
    uow: UnitOfWork, ctx: Context, order: Order, tracked: dict[str, int]
) -> None:
    _take(uow, ctx, order.id, tracked, StockReason.REDELIVER.value)
    ctx.conflict(
        ConflictKind.LIFECYCLE,
        f"order:{order.id}",
        f"order {order.number} was cancelled elsewhere but delivered at the hotel: it is "
        "charged; refund it if the guest did not have it",
        order=order.number,
        was=OrderStatus.CANCELLED.value,
    )


def _post_charge(uow: UnitOfWork, ctx: Context, order: Order) -> None:
    """Post the order's one charge; its line id is derived from the order (exactly once)."""
    line = FolioLine(
        id=derived_id(f"order:{order.id}", "charge"),
        kind=LineKind.CHARGE,
        category=ChargeCategory.ROOM_SERVICE.value,
        description=f"Room service {order.number}",
        amount=order.charge,
        business_date=ctx.business_date,
        tax_class=order.lines[0].tax_class,
        tax_included=True,
    )
    folio = uow.folios.get(order.folio_id, for_update=True, lines=False)
    merging = ctx.replay and folio.status is FolioStatus.SETTLED
    folio.append(line, merging=merging)
    if merging:
        ctx.conflict(
            ConflictKind.POSTED_AFTER_SETTLEMENT,
            f"folio:{folio.id}",
            f"room service of {line.amount} yen reached a folio already settled: collect it",
            line=line.id,
            amount=str(line.amount),
        )
    uow.folios.append(folio.id, line, actor=ctx.actor.staff_id, at=ctx.at)


# --- guest access ---------------------------------------------------------------------------------


def issue_guest_token(cmd: IssueGuestToken, uow: UnitOfWork, ctx: Context) -> str:
    """Store the hash of a new guest token for an in-house stay; return the token id."""
    stay = uow.orders.stay(cmd.reservation_id)
    if cmd.method not in ("link", "room_surname"):
        raise InvalidInput("a guest token is made by link or room_surname", field="method")
    if len(cmd.token_hash) != 64:
        raise InvalidInput("a token hash is a SHA-256 in hex", field="token_hash")
    _in_house(ctx, stay)
    ctx.depends_on(f"reservation:{stay.reservation_id}")
    uow.guest_tokens.add(cmd.token_id, stay.reservation_id, cmd.token_hash, cmd.method, ctx.at)
    return cmd.token_id


# --- values ---------------------------------------------------------------------------------------


def _time(value: str | None, field: str) -> time | None:
    if value is None:
        return None
    try:
        return time.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"{field} is a time of day, HH:MM", field=field) from None


def _deliver_at(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        when = None
    if when is None or when.tzinfo is None:
        raise InvalidInput("deliver_at is an ISO 8601 time with its offset", field="deliver_at")
    return when


def _local_time(at: datetime, timezone: str) -> time:
    return at.astimezone(ZoneInfo(timezone)).time()
