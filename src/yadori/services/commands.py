"""Commands: every write to the hotel's data is one of these, named and replayable.

A command carries every id it creates, so running it again elsewhere (central re-executing an
edge's mutation) produces the same rows. Each says which aggregates it touches (``keys``), so
the outbox can record what it depends on, and which upload lane it travels in.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import Enum
from typing import ClassVar, Union

from yadori.domain.errors import InvalidInput
from yadori.domain.folio import ManagerOverride
from yadori.domain.money import Rounding, Yen
from yadori.domain.registry import RegistryEntry
from yadori.domain.rooms import Condition, Service
from yadori.domain.roomservice import OrderSource, OrderStatus, PricePolicy
from yadori.domain.staff import LoginOutcome, StaffStatus
from yadori.domain.taxes import TaxClass
from yadori.sync.canonical import JSON, to_json
from yadori.sync.mutation import Priority


@dataclass(frozen=True, kw_only=True)
class Command:
    """The base of every command: a unique name, a lane, and the aggregates it touches."""

    name: ClassVar[str] = ""
    priority: ClassVar[Priority] = Priority.LOG
    issued_on: date | None = None
    """The business date the command was issued on; the bus fills it, a replay reuses it."""

    def aggregates(self) -> tuple[str, ...]:
        """Aggregates this command changes; later commands on them depend on it.

        The unit of work adds every aggregate the handler actually changed, so this names what
        is known before the handler runs (and what a refused command would have touched).
        """
        return ()

    def args(self) -> dict[str, JSON]:
        """The command's fields as canonical JSON values."""
        encoded = to_json(dataclasses.asdict(self))
        assert isinstance(encoded, dict)  # noqa: S101 - a dataclass always encodes to a dict
        return encoded


# --- setup: the property, its rooms and its rates --------------------------------------------


@dataclass(frozen=True, kw_only=True)
class CreateProperty(Command):
    """Open a hotel with its business date, municipality and fee policy."""

    name: ClassVar[str] = "create_property"
    priority: ClassVar[Priority] = Priority.STAY
    property_id: str
    code: str
    name_ja: str
    name_en: str
    business_date: date
    municipality: str = "tokyo"
    timezone: str = "Asia/Tokyo"
    service_charge_rate: Decimal = Decimal(0)
    service_charge_rounding: Rounding = Rounding.FLOOR
    tax_rounding: Rounding = Rounding.FLOOR

    def aggregates(self) -> tuple[str, ...]:  # noqa: D102 - documented on Command
        return (f"property:{self.property_id}",)


@dataclass(frozen=True, kw_only=True)
class CreateRoomType(Command):
    """Add a kind of room that is sold."""

    name: ClassVar[str] = "create_room_type"
    priority: ClassVar[Priority] = Priority.ROOM_STATUS
    room_type_id: str
    code: str
    name_ja: str
    name_en: str
    max_occupancy: int

    def aggregates(self) -> tuple[str, ...]:  # noqa: D102 - documented on Command
        return (f"room_type:{self.room_type_id}",)


@dataclass(frozen=True, kw_only=True)
class CreateRoom(Command):
    """Add a physical room of a type."""

    name: ClassVar[str] = "create_room"
    priority: ClassVar[Priority] = Priority.ROOM_STATUS
    room_id: str
    number: str
    room_type_id: str
    floor: int

    def aggregates(self) -> tuple[str, ...]:  # noqa: D102 - documented on Command
        return (f"room:{self.room_id}", f"room_type:{self.room_type_id}")


@dataclass(frozen=True)
class Price:
    """A price of a room type: the base price when ``night`` is None, else a date override."""

    room_type_id: str
    amount: Yen
    night: date | None = None


@dataclass(frozen=True, kw_only=True)
class CreateRatePlan(Command):
    """Add a rate plan with its base prices and date overrides."""

    name: ClassVar[str] = "create_rate_plan"
    priority: ClassVar[Priority] = Priority.STAY
    rate_plan_id: str
    code: str
    name_ja: str
    name_en: str
    tax_included: bool = True
    prices: tuple[Price, ...] = ()

    def aggregates(self) -> tuple[str, ...]:  # noqa: D102 - documented on Command
        return (f"rate_plan:{self.rate_plan_id}",)


# --- reservations and stays ------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class CreateReservation(Command):
    """Book a room type for a run of nights at a rate plan; the price is fixed per night now."""

    name: ClassVar[str] = "create_reservation"
    priority: ClassVar[Priority] = Priority.STAY
    reservation_id: str
    folio_id: str
    guest_name: str
    arrival: date
    departure: date
    adults: int
    room_type_id: str
    rate_plan_id: str
    room_id: str | None = None
    number: str | None = None  # resolved at the issuing node, reused by a replay
    prices: tuple[Yen, ...] | None = None  # the nightly prices quoted, resolved likewise

    def aggregates(self) -> tuple[str, ...]:  # noqa: D102 - documented on Command
        return (f"reservation:{self.reservation_id}", f"folio:{self.folio_id}")


@dataclass(frozen=True, kw_only=True)
class CancelReservation(Command):
    """Cancel a booking that has not arrived."""

    name: ClassVar[str] = "cancel_reservation"
    priority: ClassVar[Priority] = Priority.STAY
    reservation_id: str
    reason: str = ""

    def aggregates(self) -> tuple[str, ...]:  # noqa: D102 - documented on Command
        return (f"reservation:{self.reservation_id}",)


@dataclass(frozen=True, kw_only=True)
class MarkNoShow(Command):
    """Record that the guest never came."""

    name: ClassVar[str] = "mark_no_show"
    priority: ClassVar[Priority] = Priority.STAY
    reservation_id: str

    def aggregates(self) -> tuple[str, ...]:  # noqa: D102 - documented on Command
        return (f"reservation:{self.reservation_id}",)


@dataclass(frozen=True, kw_only=True)
class AssignRoom(Command):
    """Put a booked reservation in a particular room for all its nights."""

    name: ClassVar[str] = "assign_room"
    priority: ClassVar[Priority] = Priority.STAY
    reservation_id: str
    room_id: str

    def aggregates(self) -> tuple[str, ...]:  # noqa: D102 - documented on Command
        return (f"reservation:{self.reservation_id}", f"room:{self.room_id}")


@dataclass(frozen=True, kw_only=True)
class CheckIn(Command):
    """The guest arrives: registry recorded, room taken; the stay begins."""

    name: ClassVar[str] = "check_in"
    priority: ClassVar[Priority] = Priority.STAY
    reservation_id: str
    room_id: str | None = None
    guests: tuple[RegistryEntry, ...] = ()

    def aggregates(self) -> tuple[str, ...]:  # noqa: D102 - documented on Command
        rooms = (f"room:{self.room_id}",) if self.room_id else ()
        return (f"reservation:{self.reservation_id}", *rooms)


@dataclass(frozen=True, kw_only=True)
class MoveRoom(Command):
    """Move an in-house guest (or a booked stay) to another room from today's night on."""

    name: ClassVar[str] = "move_room"
    priority: ClassVar[Priority] = Priority.STAY
    reservation_id: str
    to_room_id: str
    reason: str = ""

    def aggregates(self) -> tuple[str, ...]:  # noqa: D102 - documented on Command
        return (f"reservation:{self.reservation_id}", f"room:{self.to_room_id}")


@dataclass(frozen=True, kw_only=True)
class CheckOut(Command):
    """The guest leaves: remaining room nights posted, folio settled, room left dirty."""

    name: ClassVar[str] = "check_out"
    priority: ClassVar[Priority] = Priority.STAY
    reservation_id: str
    override: ManagerOverride | None = None

    def aggregates(self) -> tuple[str, ...]:  # noqa: D102 - documented on Command
        return (f"reservation:{self.reservation_id}",)


# --- housekeeping ----------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class SetRoomCondition(Command):
    """Housekeeping reports a room dirty, clean or inspected."""

    name: ClassVar[str] = "set_room_condition"
    priority: ClassVar[Priority] = Priority.ROOM_STATUS
    room_id: str
    condition: Condition
    base_version: int | None = None
    base_hlc: str | None = None  # the HLC of the last write the writer saw (resolved)

    def aggregates(self) -> tuple[str, ...]:  # noqa: D102 - documented on Command
        return (f"room:{self.room_id}",)


@dataclass(frozen=True, kw_only=True)
class SetRoomService(Command):
    """Take a room out of service or order, or return it to service."""

    name: ClassVar[str] = "set_room_service"
    priority: ClassVar[Priority] = Priority.ROOM_STATUS
    room_id: str
    service: Service
    reason: str = ""
    base_version: int | None = None
    base_hlc: str | None = None  # the HLC of the last write the writer saw (resolved)

    def aggregates(self) -> tuple[str, ...]:  # noqa: D102 - documented on Command
        return (f"room:{self.room_id}",)


# --- folio -----------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class PostCharge(Command):
    """Post a charge (room service, minibar, misc …) to a stay's folio."""

    name: ClassVar[str] = "post_charge"
    priority: ClassVar[Priority] = Priority.PAYMENT
    folio_id: str
    line_id: str
    category: str
    description: str
    amount: Yen
    tax_class: TaxClass = TaxClass.STANDARD
    tax_included: bool = True

    def aggregates(self) -> tuple[str, ...]:  # noqa: D102 - documented on Command
        return (f"folio:{self.folio_id}",)


@dataclass(frozen=True, kw_only=True)
class PostPayment(Command):
    """Record a payment (negative: a refund) on a folio."""

    name: ClassVar[str] = "post_payment"
    priority: ClassVar[Priority] = Priority.PAYMENT
    folio_id: str
    line_id: str
    method: str
    amount: Yen
    description: str = ""

    def aggregates(self) -> tuple[str, ...]:  # noqa: D102 - documented on Command
        return (f"folio:{self.folio_id}",)


@dataclass(frozen=True, kw_only=True)
class PostAdjustment(Command):
    """Correct a folio by an amount (e.g. a goodwill discount), with a reason."""

    name: ClassVar[str] = "post_adjustment"
    priority: ClassVar[Priority] = Priority.PAYMENT
    folio_id: str
    line_id: str
    amount: Yen
    reason: str
    tax_class: TaxClass = TaxClass.STANDARD
    tax_included: bool = True

    def aggregates(self) -> tuple[str, ...]:  # noqa: D102 - documented on Command
        return (f"folio:{self.folio_id}",)


@dataclass(frozen=True, kw_only=True)
class VoidLine(Command):
    """Cancel a folio line by appending its void."""

    name: ClassVar[str] = "void_line"
    priority: ClassVar[Priority] = Priority.PAYMENT
    folio_id: str
    line_id: str
    void_line_id: str
    reason: str

    def aggregates(self) -> tuple[str, ...]:  # noqa: D102 - documented on Command
        return (f"folio:{self.folio_id}",)


@dataclass(frozen=True, kw_only=True)
class PostRoomCharges(Command):
    """Post the room, service charge and accommodation tax of nights up to ``through``."""

    name: ClassVar[str] = "post_room_charges"
    priority: ClassVar[Priority] = Priority.PAYMENT
    reservation_id: str
    through: date

    def aggregates(self) -> tuple[str, ...]:  # noqa: D102 - documented on Command
        return (f"reservation:{self.reservation_id}",)


@dataclass(frozen=True, kw_only=True)
class CloseBusinessDay(Command):
    """The night audit's core: post tonight's room charges of in-house stays, advance the date.

    ``business_date`` names the day being closed, so a retried or replayed close of the same
    day is refused instead of skipping a second day.
    """

    name: ClassVar[str] = "close_business_day"
    priority: ClassVar[Priority] = Priority.PAYMENT
    business_date: date
    reservations: tuple[str, ...] | None = None  # the stays charged, resolved at the issuer

    def aggregates(self) -> tuple[str, ...]:  # noqa: D102 - documented on Command
        return ("business_day:current",)


@dataclass(frozen=True, kw_only=True)
class ResolveTicket(Command):
    """Close a conflict ticket, saying what staff did about it."""

    name: ClassVar[str] = "resolve_ticket"
    priority: ClassVar[Priority] = Priority.STAY
    ticket_id: str
    resolution: str

    def aggregates(self) -> tuple[str, ...]:  # noqa: D102 - documented on Command
        return (f"ticket:{self.ticket_id}",)


# --- room service ----------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class SaveMenuCategory(Command):
    """Create or change a heading of the menu (central owns the menu)."""

    name: ClassVar[str] = "save_menu_category"
    priority: ClassVar[Priority] = Priority.ORDER
    category_id: str
    code: str
    name_ja: str
    name_en: str
    position: int = 0

    def aggregates(self) -> tuple[str, ...]:  # noqa: D102 - documented on Command
        return (f"menu_category:{self.category_id}",)


@dataclass(frozen=True, kw_only=True)
class SaveMenuItem(Command):
    """Create or change a menu item: price (tax included), tax class, hours, allergens."""

    name: ClassVar[str] = "save_menu_item"
    priority: ClassVar[Priority] = Priority.ORDER
    item_id: str
    category_id: str
    code: str
    name_ja: str
    name_en: str
    price: Yen
    tax_class: TaxClass = TaxClass.STANDARD
    service_charge_rate: Decimal = Decimal(0)
    available_from: str | None = None  # local "HH:MM"
    available_until: str | None = None
    allergens: tuple[str, ...] = ()
    sold_out: bool = False
    track_stock: bool = False

    def aggregates(self) -> tuple[str, ...]:  # noqa: D102 - documented on Command
        return (f"menu_item:{self.item_id}",)


@dataclass(frozen=True, kw_only=True)
class SetPricePolicy(Command):
    """Choose what a guest pays when the confirmed price differs from the estimate."""

    name: ClassVar[str] = "set_price_policy"
    priority: ClassVar[Priority] = Priority.ORDER
    property_id: str
    policy: PricePolicy

    def aggregates(self) -> tuple[str, ...]:  # noqa: D102 - documented on Command
        return (f"room_service:{self.property_id}",)


@dataclass(frozen=True, kw_only=True)
class AdjustStock(Command):
    """Count stock in (a positive delta) or out (negative), with a note."""

    name: ClassVar[str] = "adjust_stock"
    priority: ClassVar[Priority] = Priority.ORDER
    move_id: str
    item_id: str
    delta: int
    note: str = ""

    def aggregates(self) -> tuple[str, ...]:  # noqa: D102 - documented on Command
        return (f"stock_move:{self.move_id}",)


@dataclass(frozen=True)
class OrderItem:
    """One line as ordered: an item, how many, and the unit price the orderer was shown."""

    item_id: str
    quantity: int
    estimated_unit_price: Yen | None = None  # None: staff priced it from this node's menu


@dataclass(frozen=True, kw_only=True)
class PlaceOrder(Command):
    """A guest (the page) or staff (the phone) orders room service for a stay."""

    name: ClassVar[str] = "place_order"
    priority: ClassVar[Priority] = Priority.ORDER
    order_id: str
    reservation_id: str
    source: OrderSource
    items: tuple[OrderItem, ...]
    notes: str = ""
    deliver_at: str | None = None  # ISO 8601 with offset; None: as soon as possible
    client_id: str = ""
    number: str | None = None  # resolved at the issuing node, reused by a replay
    policy: PricePolicy | None = None  # resolved likewise: the policy the guest was under
    estimated: tuple[Yen, ...] | None = None  # the unit prices estimated, resolved likewise
    confirmed_total: Yen | None = None  # what the issuing node confirmed (resolved)

    def aggregates(self) -> tuple[str, ...]:  # noqa: D102 - documented on Command
        return (f"order:{self.order_id}",)


@dataclass(frozen=True, kw_only=True)
class AdvanceOrder(Command):
    """The kitchen moves an order on (preparing, delivering, delivered) or cancels it.

    Delivery posts the order's one charge to the stay's folio.
    """

    name: ClassVar[str] = "advance_order"
    priority: ClassVar[Priority] = Priority.ORDER
    order_id: str
    status: OrderStatus
    reason: str = ""

    def aggregates(self) -> tuple[str, ...]:  # noqa: D102 - documented on Command
        return (f"order:{self.order_id}",)


@dataclass(frozen=True, kw_only=True)
class IssueGuestToken(Command):
    """Give an in-house stay a guest token for the room-service page (only its hash is kept)."""

    name: ClassVar[str] = "issue_guest_token"
    priority: ClassVar[Priority] = Priority.ORDER
    token_id: str
    reservation_id: str
    token_hash: str
    method: str = "link"  # "link" (made at check-in) or "room_surname"

    def aggregates(self) -> tuple[str, ...]:  # noqa: D102 - documented on Command
        return (f"guest_token:{self.token_id}",)


# --- staff and logins (DESIGN §8) -------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class CreateStaff(Command):
    """Add a member of staff (central only: staff are owned by central); never carries a PIN."""

    name: ClassVar[str] = "create_staff"
    priority: ClassVar[Priority] = Priority.STAY
    staff_id: str
    code: str
    full_name: str
    role: str
    pin_hash: str

    def aggregates(self) -> tuple[str, ...]:  # noqa: D102 - documented on Command
        return (f"staff:{self.staff_id}",)


@dataclass(frozen=True, kw_only=True)
class SetStaffStatus(Command):
    """Disable, re-enable or delete a staff member (their tokens stop working at once)."""

    name: ClassVar[str] = "set_staff_status"
    priority: ClassVar[Priority] = Priority.STAY
    staff_id: str
    status: StaffStatus

    def aggregates(self) -> tuple[str, ...]:  # noqa: D102 - documented on Command
        return (f"staff:{self.staff_id}",)


@dataclass(frozen=True, kw_only=True)
class ChangePin(Command):
    """Set a new PIN hash for a staff member (online only)."""

    name: ClassVar[str] = "change_pin"
    priority: ClassVar[Priority] = Priority.STAY
    staff_id: str
    pin_hash: str

    def aggregates(self) -> tuple[str, ...]:  # noqa: D102 - documented on Command
        return (f"staff:{self.staff_id}",)


@dataclass(frozen=True, kw_only=True)
class RecordLoginAttempt(Command):
    """One login attempt for the audit log and the lockout count; a success opens a session.

    A success carries the session's attestation (a JWT of audience ``yadori-session``, signed by
    the node that issued the token, not usable as a bearer token), which central verifies
    before it trusts mutations made under that token.
    """

    name: ClassVar[str] = "record_login_attempt"
    priority: ClassVar[Priority] = Priority.LOG
    attempt_id: str
    staff_id: str | None
    staff_code: str
    outcome: LoginOutcome
    node: str
    offline: bool
    max_failures: int
    lock_seconds: int
    token_id: str | None = None
    attestation: str = ""

    def aggregates(self) -> tuple[str, ...]:  # noqa: D102 - documented on Command
        keys = [f"staff:{self.staff_id}" if self.staff_id else f"login:{self.attempt_id}"]
        if self.token_id:
            keys.append(f"session:{self.token_id}")
        return tuple(keys)


COMMANDS: dict[str, type[Command]] = {
    cls.name: cls
    for cls in (
        CreateProperty,
        CreateRoomType,
        CreateRoom,
        CreateRatePlan,
        CreateReservation,
        CancelReservation,
        MarkNoShow,
        AssignRoom,
        CheckIn,
        MoveRoom,
        CheckOut,
        SetRoomCondition,
        SetRoomService,
        PostCharge,
        PostPayment,
        PostAdjustment,
        VoidLine,
        PostRoomCharges,
        CloseBusinessDay,
        ResolveTicket,
        SaveMenuCategory,
        SaveMenuItem,
        SetPricePolicy,
        AdjustStock,
        PlaceOrder,
        AdvanceOrder,
        IssueGuestToken,
        CreateStaff,
        SetStaffStatus,
        ChangePin,
        RecordLoginAttempt,
    )
}


def command_from(name: str, args: dict[str, JSON]) -> Command:
    """Rebuild a command from its name and canonical arguments (as a mutation carries them)."""
    if name not in COMMANDS:
        raise InvalidInput(f"unknown command {name!r}", field="name")
    built = _build(COMMANDS[name], args)
    assert isinstance(built, Command)  # noqa: S101 - COMMANDS holds only Command classes
    return built


def _build(cls: type[object], args: object) -> object:
    if not isinstance(args, dict):
        raise InvalidInput(f"{cls.__name__} needs an object", field=cls.__name__)
    hints = _hints(cls)
    values = {
        f.name: _decode(hints[f.name], args[f.name])
        for f in dataclasses.fields(cls)  # type: ignore[arg-type]
        if f.init and f.name in args
    }
    try:
        return cls(**values)
    except TypeError as exc:
        raise InvalidInput(f"{cls.__name__}: {exc}", field=cls.__name__) from exc


_HINTS: dict[type[object], dict[str, object]] = {}


def _hints(cls: type[object]) -> dict[str, object]:
    """A class's resolved type hints, computed once (replays rebuild thousands of commands)."""
    if cls not in _HINTS:
        _HINTS[cls] = typing.get_type_hints(cls)
    return _HINTS[cls]


def _decode(hint: object, value: object) -> object:
    origin = typing.get_origin(hint)
    if origin in (Union, types.UnionType):
        options = [a for a in typing.get_args(hint) if a is not type(None)]
        return None if value is None else _decode(options[0], value)
    if origin is tuple:
        item = typing.get_args(hint)[0]
        return tuple(_decode(item, v) for v in _as_list(value))
    if isinstance(hint, type):
        return _decode_plain(hint, value)
    return value


def _decode_plain(hint: type, value: object) -> object:
    if dataclasses.is_dataclass(hint):
        return _build(hint, value)
    try:
        return _convert(hint, value)
    except (ValueError, ArithmeticError) as exc:
        raise InvalidInput(
            f"{value!r} is not a valid {hint.__name__}", field=hint.__name__
        ) from exc


def _convert(hint: type, value: object) -> object:
    if issubclass(hint, Enum):
        return hint(value)
    if hint in (date, Decimal):
        if not isinstance(value, str):
            raise ValueError(f"a {hint.__name__} travels as text")
        return date.fromisoformat(value) if hint is date else Decimal(value)
    if hint in (str, int, bool) and (type(value) is not hint):
        raise ValueError(f"expected {hint.__name__}")
    return value


def _as_list(value: object) -> list[object]:
    if not isinstance(value, list):
        raise InvalidInput("a list was expected", field="args")
    return value
