"""Room service for staff: the menu (changed at central), stock, orders, the kitchen's stream.

Every route here is authorised in ``api/staff.py``: a staff token with the ``room_service``
scope (``setup`` for the menu and the price policy).
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response, status
from fastapi.responses import StreamingResponse

from yadori.api.deps import Bus, Parts, PropertyId
from yadori.api.roomservice_schemas import (
    AdvanceIn,
    CategoryIn,
    CategoryOut,
    GuestTokenIn,
    GuestTokenOut,
    ItemIn,
    ItemOut,
    MenuOut,
    OrderOut,
    PolicyIn,
    StaffOrderIn,
    StockIn,
)
from yadori.api.sse import event_stream
from yadori.api.staff import MenuStaff, RoomServiceStaff, StreamStaff
from yadori.domain.errors import AlreadyExists, DomainError
from yadori.domain.guest_access import new_token, token_hash
from yadori.domain.ids import new_id
from yadori.domain.roomservice import (
    MenuCategory,
    MenuItem,
    MenuOwnedByCentral,
    Order,
    OrderSource,
)
from yadori.services import roomservice_queries as q
from yadori.services.commands import (
    AdjustStock,
    AdvanceOrder,
    Command,
    IssueGuestToken,
    PlaceOrder,
    SaveMenuCategory,
    SaveMenuItem,
    SetPricePolicy,
)
from yadori.sync.canonical import to_json
from yadori.sync.mutation import Actor

router = APIRouter(prefix="/api/v1/properties/{code}/room-service", tags=["room service"])


def publish(parts: Parts, order: Order) -> OrderOut:
    """Tell the kitchen screens about an order's new state; return it as the API shows it."""
    out = OrderOut.of(order)
    data = to_json(out.model_dump(mode="json"))
    assert isinstance(data, dict)  # noqa: S101 - a model dumps to an object
    parts.order_events.publish("order", data)
    return out


def place(parts: Parts, pid: str, cmd: PlaceOrder, actor: Actor, response: Response) -> OrderOut:
    """Place an order exactly once: a resent order (same id) answers 200 with what exists.

    The first sending is the common case, so the command runs first; its id's unique key
    refuses a second row, and the order found under that id is the answer.
    """
    try:
        return publish(parts, parts.bus.execute(pid, cmd, actor).value(Order))
    except DomainError:  # a resent order may meet a refusal (sold out since) before its key
        existing = parts.bus.read(pid, lambda uow: uow.orders.find(cmd.order_id))
        if existing is None:
            raise
    if existing.reservation_id != cmd.reservation_id:
        raise AlreadyExists("that order id belongs to another stay", order=cmd.order_id)
    response.status_code = status.HTTP_200_OK
    return OrderOut.of(existing)


def _central_only(parts: Parts) -> None:
    if parts.config.role != "central":
        raise MenuOwnedByCentral("the menu is changed at central and synced to the hotels")


def _menu_change(parts: Parts, pid: str, cmd: Command, actor: Actor) -> object:
    _central_only(parts)
    return parts.bus.execute(pid, cmd, actor).result


@router.get("/menu")
async def get_menu(bus: Bus, pid: PropertyId, actor: RoomServiceStaff) -> MenuOut:
    """The menu with the local stock of counted items."""
    return MenuOut.of(bus.read(pid, q.menu))


@router.put("/menu/categories/{category_id}")
async def save_category(
    parts: Parts, pid: PropertyId, actor: MenuStaff, category_id: str, body: CategoryIn
) -> CategoryOut:
    """Create or change a category (central only)."""
    cmd = SaveMenuCategory(category_id=category_id, **body.model_dump())
    result = _menu_change(parts, pid, cmd, actor)
    assert isinstance(result, MenuCategory)  # noqa: S101 - the handler's result
    return CategoryOut.of(result)


@router.put("/menu/items/{item_id}")
async def save_item(
    parts: Parts, pid: PropertyId, actor: MenuStaff, item_id: str, body: ItemIn
) -> ItemOut:
    """Create or change an item (central only); a new price keeps the previous one."""
    fields = body.model_dump()
    result = _menu_change(parts, pid, SaveMenuItem(item_id=item_id, **fields), actor)
    assert isinstance(result, MenuItem)  # noqa: S101 - the handler's result
    return ItemOut.of(result, None)


@router.put("/price-policy")
async def set_policy(
    parts: Parts, pid: PropertyId, actor: MenuStaff, body: PolicyIn
) -> dict[str, str]:
    """Set what guests pay when the confirmed price differs from the estimate (central only)."""
    _menu_change(parts, pid, SetPricePolicy(property_id=pid, policy=body.policy), actor)
    return {"policy": body.policy.value}


@router.post("/stock", status_code=status.HTTP_201_CREATED)
async def adjust_stock(
    bus: Bus, pid: PropertyId, actor: RoomServiceStaff, body: StockIn
) -> dict[str, object]:
    """Count stock in or out; answers the stock after the move (by this node's count)."""
    cmd = AdjustStock(
        move_id=body.move_id or new_id(), item_id=body.item_id, delta=body.delta, note=body.note
    )
    return {"item_id": body.item_id, "stock": bus.execute(pid, cmd, actor).value(int)}


@router.get("/orders")
async def list_orders(
    bus: Bus, pid: PropertyId, actor: RoomServiceStaff, active: bool = False
) -> list[OrderOut]:
    """The property's orders, oldest first; ``active=true`` for the kitchen's open ones."""
    return [OrderOut.of(o) for o in bus.read(pid, lambda uow: q.orders(uow, active=active))]


@router.post("/orders", status_code=status.HTTP_201_CREATED)
async def place_order(
    parts: Parts, pid: PropertyId, actor: RoomServiceStaff, body: StaffOrderIn, response: Response
) -> OrderOut:
    """Take an order for a stay (on the phone)."""
    cmd = PlaceOrder(
        order_id=body.id or new_id(),
        reservation_id=body.reservation_id,
        source=OrderSource.STAFF,
        items=tuple(line.item() for line in body.lines),
        notes=body.notes,
        deliver_at=None if body.deliver_at is None else body.deliver_at.isoformat(),
    )
    return place(parts, pid, cmd, actor, response)


@router.get("/orders/{order_id}")
async def get_order(bus: Bus, pid: PropertyId, actor: RoomServiceStaff, order_id: str) -> OrderOut:
    """One order."""
    return OrderOut.of(bus.read(pid, lambda uow: uow.orders.get(order_id)))


@router.post("/orders/{order_id}/advance")
async def advance_order(
    parts: Parts, pid: PropertyId, actor: RoomServiceStaff, order_id: str, body: AdvanceIn
) -> OrderOut:
    """Move an order on; delivery posts its one charge. A repeated step changes nothing."""
    current = parts.bus.read(pid, lambda uow: uow.orders.get(order_id))
    if current.status is body.status:
        return OrderOut.of(current)
    cmd = AdvanceOrder(order_id=order_id, status=body.status, reason=body.reason)
    return publish(parts, parts.bus.execute(pid, cmd, actor).value(Order))


@router.post("/guest-tokens", status_code=status.HTTP_201_CREATED)
async def issue_guest_token(
    bus: Bus, pid: PropertyId, actor: RoomServiceStaff, body: GuestTokenIn, request: Request
) -> GuestTokenOut:
    """Make a guest link for an in-house stay (at check-in: print it as a QR code)."""
    token, token_id = new_token(), new_id()
    cmd = IssueGuestToken(
        token_id=token_id, reservation_id=body.reservation_id, token_hash=token_hash(token)
    )
    bus.execute(pid, cmd, actor)
    code = request.path_params["code"]
    link = f"{str(request.base_url).rstrip('/')}/guest/#p={code}&t={token}"
    return GuestTokenOut(token_id=token_id, token=token, link=link)


@router.get("/events")
async def events(request: Request, parts: Parts, actor: StreamStaff) -> StreamingResponse:
    """Server-sent events: every order placed or moved at this node, for the kitchen screen."""
    return event_stream(request, parts.order_events, "retry: 2000\n")
