"""Commands: every write is a named command that survives the trip through a mutation's args."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import ClassVar

import pytest

from yadori.domain.errors import InvalidInput
from yadori.domain.folio import ManagerOverride
from yadori.domain.money import Rounding
from yadori.domain.registry import RegistryEntry
from yadori.domain.rooms import Condition, Service
from yadori.domain.roomservice import OrderSource, OrderStatus, PricePolicy
from yadori.domain.staff import LoginOutcome, StaffStatus
from yadori.domain.taxes import TaxClass
from yadori.services import commands as c
from yadori.sync.canonical import decode, encode
from yadori.sync.mutation import Priority

DEC1 = date(2026, 12, 1)
RESIDENT = RegistryEntry("佐藤 太郎", "東京都千代田区1-1", "090-0000-0000")
VISITOR = RegistryEntry(
    "Jane Doe",
    "12 High St, London",
    "jane@example.com",
    resident_in_japan=False,
    nationality="GB",
    passport_number="123456789",
    passport_copy_kept=True,
)

EXAMPLES: list[c.Command] = [
    c.CreateProperty(
        property_id="p-1",
        code="TKY1",
        name_ja="東京ホテル",
        name_en="Tokyo Hotel",
        business_date=DEC1,
    ),
    c.CreateProperty(
        property_id="p-2",
        code="KYO1",
        name_ja="京都旅館",
        name_en="Kyoto Ryokan",
        business_date=date(2027, 1, 1),
        municipality="kyoto",
        timezone="Asia/Tokyo",
        service_charge_rate=Decimal("0.10"),
        service_charge_rounding=Rounding.HALF_UP,
        tax_rounding=Rounding.CEILING,
    ),
    c.CreateRoomType(
        room_type_id="rt-1", code="STD", name_ja="標準", name_en="Standard", max_occupancy=2
    ),
    c.CreateRoom(room_id="r-101", number="101", room_type_id="rt-1", floor=1),
    c.CreateRatePlan(rate_plan_id="rp-1", code="RO", name_ja="素泊まり", name_en="Room only"),
    c.CreateRatePlan(
        rate_plan_id="rp-2",
        code="BB",
        name_ja="朝食付き",
        name_en="Breakfast",
        tax_included=False,
        prices=(c.Price("rt-1", 12_000), c.Price("rt-1", 30_000, date(2026, 12, 24))),
    ),
    c.CreateReservation(
        reservation_id="res-1",
        folio_id="f-1",
        guest_name="Sato Taro",
        arrival=DEC1,
        departure=date(2026, 12, 3),
        adults=2,
        room_type_id="rt-1",
        rate_plan_id="rp-1",
    ),
    c.CreateReservation(
        reservation_id="res-2",
        folio_id="f-2",
        guest_name="Jane Doe",
        arrival=DEC1,
        departure=date(2026, 12, 2),
        adults=1,
        room_type_id="rt-1",
        rate_plan_id="rp-1",
        room_id="r-101",
    ),
    c.CancelReservation(reservation_id="res-1"),
    c.CancelReservation(reservation_id="res-1", reason="plans changed"),
    c.MarkNoShow(reservation_id="res-1"),
    c.AssignRoom(reservation_id="res-1", room_id="r-101"),
    c.CheckIn(reservation_id="res-1"),
    c.CheckIn(reservation_id="res-1", room_id="r-101", guests=(RESIDENT, VISITOR)),
    c.MoveRoom(reservation_id="res-1", to_room_id="r-102"),
    c.MoveRoom(reservation_id="res-1", to_room_id="r-102", reason="noisy"),
    c.CheckOut(reservation_id="res-1"),
    c.CheckOut(reservation_id="res-1", override=ManagerOverride("mgr-1", "goodwill")),
    c.SetRoomCondition(room_id="r-101", condition=Condition.DIRTY),
    c.SetRoomCondition(room_id="r-101", condition=Condition.INSPECTED, base_version=3),
    c.SetRoomService(room_id="r-101", service=Service.IN_SERVICE),
    c.SetRoomService(room_id="r-101", service=Service.OUT_OF_ORDER, reason="flood", base_version=7),
    c.PostCharge(folio_id="f-1", line_id="l-1", category="minibar", description="beer", amount=600),
    c.PostCharge(
        folio_id="f-1",
        line_id="l-2",
        category="minibar",
        description="water",
        amount=200,
        tax_class=TaxClass.REDUCED,
        tax_included=False,
    ),
    c.PostPayment(folio_id="f-1", line_id="l-3", method="cash", amount=10_000),
    c.PostPayment(folio_id="f-1", line_id="l-4", method="card", amount=-500, description="refund"),
    c.PostAdjustment(folio_id="f-1", line_id="l-5", amount=-1_100, reason="goodwill"),
    c.PostAdjustment(
        folio_id="f-1",
        line_id="l-6",
        amount=200,
        reason="fee",
        tax_class=TaxClass.NONE,
        tax_included=False,
    ),
    c.VoidLine(folio_id="f-1", line_id="l-1", void_line_id="l-7", reason="typo"),
    c.PostRoomCharges(reservation_id="res-1", through=date(2026, 12, 2)),
    c.CloseBusinessDay(business_date=DEC1),
    c.CloseBusinessDay(business_date=DEC1, reservations=("r1", "r2"), issued_on=DEC1),
    c.ResolveTicket(ticket_id="t1", resolution="moved the walk-in"),
    c.SaveMenuCategory(category_id="mc-1", code="MAINS", name_ja="お食事", name_en="Meals"),
    c.SaveMenuItem(
        item_id="mi-1",
        category_id="mc-1",
        code="CURRY",
        name_ja="カレー",
        name_en="Curry",
        price=1_800,
    ),
    c.SaveMenuItem(
        item_id="mi-2",
        category_id="mc-1",
        code="RAMEN",
        name_ja="ラーメン",
        name_en="Ramen",
        price=1_200,
        tax_class=TaxClass.REDUCED,
        service_charge_rate=Decimal("0.10"),
        available_from="22:00",
        available_until="02:00",
        allergens=("wheat", "egg"),
        sold_out=True,
        track_stock=True,
    ),
    c.SetPricePolicy(property_id="p-1", policy=PricePolicy.CONFIRMED),
    c.AdjustStock(move_id="sm-1", item_id="mi-1", delta=-3, note="spilt"),
    c.PlaceOrder(
        order_id="o-1",
        reservation_id="res-1",
        source=OrderSource.GUEST,
        items=(c.OrderItem("mi-1", 2, 1_800), c.OrderItem("mi-2", 1)),
    ),
    c.PlaceOrder(
        order_id="o-2",
        reservation_id="res-1",
        source=OrderSource.STAFF,
        items=(c.OrderItem("mi-1", 1),),
        notes="no onions",
        deliver_at="2026-12-01T19:30:00+09:00",
        client_id="tab-1",
        number="E1-000001",
        policy=PricePolicy.LOWER,
        estimated=(1_800,),
        confirmed_total=1_800,
    ),
    c.AdvanceOrder(order_id="o-1", status=OrderStatus.DELIVERED),
    c.AdvanceOrder(order_id="o-1", status=OrderStatus.CANCELLED, reason="guest asleep"),
    c.IssueGuestToken(token_id="gt-1", reservation_id="res-1", token_hash="ab" * 32),  # noqa: S106
    c.CreateStaff(
        staff_id="s1", code="FD01", full_name="受付 花子", role="front_desk", pin_hash="$x"
    ),
    c.SetStaffStatus(staff_id="s1", status=StaffStatus.DISABLED),
    c.ChangePin(staff_id="s1", pin_hash="$y"),
    c.RecordLoginAttempt(
        attempt_id="a1",
        staff_id=None,
        staff_code="NOPE",
        outcome=LoginOutcome.UNKNOWN,
        node="edge1",
        offline=True,
        max_failures=5,
        lock_seconds=900,
    ),
    c.RecordLoginAttempt(
        attempt_id="a2",
        staff_id="s1",
        staff_code="FD01",
        outcome=LoginOutcome.SUCCESS,
        node="edge1",
        offline=True,
        max_failures=5,
        lock_seconds=900,
        token_id="t1",  # noqa: S106 - an id, not a secret
        attestation="a.b.c",
    ),
]


def example_id(cmd: c.Command) -> str:
    """A test id: the command name and the example's position."""
    return f"{cmd.name}-{EXAMPLES.index(cmd)}"


@pytest.fixture(params=EXAMPLES, ids=example_id)
def cmd(request: pytest.FixtureRequest) -> c.Command:
    """Each example command in turn."""
    example: c.Command = request.param
    return example


def test_every_registered_command_has_an_example() -> None:
    """A new command cannot be added without being covered by the round trip."""
    assert {type(e) for e in EXAMPLES} == set(c.COMMANDS.values())


def test_registry_is_keyed_by_unique_names() -> None:
    """Each command class is registered under its own non-empty name."""
    assert all(name and cls.name == name for name, cls in c.COMMANDS.items())
    assert len({cls.name for cls in c.COMMANDS.values()}) == len(c.COMMANDS)


def test_command_from_rebuilds_the_command(cmd: c.Command) -> None:
    """A command rebuilt from its name and args equals the original, nested values included."""
    assert c.command_from(cmd.name, cmd.args()) == cmd


def test_args_survive_the_canonical_wire(cmd: c.Command) -> None:
    """Args encoded to canonical bytes and decoded again still rebuild the command."""
    wire = decode(encode(cmd.args()))
    assert isinstance(wire, dict)
    assert c.command_from(cmd.name, wire) == cmd
    assert encode(c.command_from(cmd.name, wire).args()) == encode(cmd.args())


def test_args_hold_every_field_and_no_class_constant(cmd: c.Command) -> None:
    """The args carry the dataclass fields, not the name or lane."""
    args = cmd.args()
    assert "priority" not in args
    assert set(args) == set(type(cmd).__dataclass_fields__) - {"name", "priority"}


def test_args_are_plain_json() -> None:
    """Nested values, enums, dates and Decimals become plain JSON values."""
    rate = c.CreateProperty(
        property_id="p",
        code="T",
        name_ja="a",
        name_en="b",
        business_date=DEC1,
        service_charge_rate=Decimal("0.10"),
    ).args()
    assert (rate["business_date"], rate["service_charge_rate"]) == ("2026-12-01", "0.1")
    assert rate["tax_rounding"] == "floor"
    checkout = c.CheckOut(reservation_id="r", override=ManagerOverride("m", "why")).args()
    assert checkout["override"] == {"manager_id": "m", "reason": "why"}
    plan = c.CreateRatePlan(
        rate_plan_id="rp", code="X", name_ja="x", name_en="x", prices=(c.Price("rt", 1),)
    ).args()
    assert plan["prices"] == [{"room_type_id": "rt", "amount": 1, "night": None}]


def test_keys_name_the_aggregates_with_a_kind_prefix(
    cmd: c.Command, request: pytest.FixtureRequest
) -> None:
    """Every command touches at least one aggregate, each named ``kind:id``."""
    keys = cmd.aggregates()
    assert keys
    assert all(isinstance(k, str) and re.fullmatch(r"[a-z_]+:.+", k) for k in keys), keys


def test_check_in_touches_the_room_only_when_named() -> None:
    """A check-in into the already assigned room depends on the reservation alone."""
    assert c.CheckIn(reservation_id="res-1").aggregates() == ("reservation:res-1",)
    assert c.CheckIn(reservation_id="res-1", room_id="r-1").aggregates() == (
        "reservation:res-1",
        "room:r-1",
    )


def test_bare_command_touches_nothing() -> None:
    """The base command names no aggregate and travels in the log lane."""
    assert c.Command().aggregates() == ()
    assert c.Command.priority is Priority.LOG


@pytest.mark.parametrize(
    "cls", [c.PostCharge, c.PostPayment, c.PostAdjustment, c.VoidLine, c.PostRoomCharges]
)
def test_money_travels_first(cls: type[c.Command]) -> None:
    """Folio commands upload in the payment lane, ahead of everything else."""
    assert cls.priority is Priority.PAYMENT


def test_unknown_command_name_is_refused() -> None:
    """A mutation naming a command this node does not know is invalid input."""
    with pytest.raises(InvalidInput, match="unknown command 'fly_to_moon'") as caught:
        c.command_from("fly_to_moon", {})
    assert caught.value.facts == {"field": "name"}


@pytest.mark.parametrize(
    ("name", "args", "words"),
    [
        ("mark_no_show", {}, "MarkNoShow"),
        ("mark_no_show", ["res-1"], "MarkNoShow needs an object"),
        ("create_room", {"room_id": "r", "number": "1", "floor": 1}, "room_type_id"),
        ("check_in", {"reservation_id": "r", "guests": {"name": "x"}}, "a list was expected"),
        ("check_in", {"reservation_id": "r", "guests": ["Sato"]}, "RegistryEntry needs an object"),
        ("check_in", {"reservation_id": "r", "guests": [{"name": "Sato"}]}, "RegistryEntry"),
        ("check_out", {"reservation_id": "r", "override": "boss said so"}, "ManagerOverride"),
        (
            "create_rate_plan",
            {"rate_plan_id": "p", "code": "X", "name_ja": "x", "name_en": "x", "prices": [{}]},
            "Price",
        ),
    ],
)
def test_malformed_args_are_invalid_input(name: str, args: object, words: str) -> None:
    """Missing fields, wrong shapes and bad nested values are refused as invalid input."""
    with pytest.raises(InvalidInput, match=words):
        c.command_from(name, args)  # type: ignore[arg-type]


def test_unknown_extra_args_are_ignored() -> None:
    """Args from a newer node with an extra field still rebuild the known command."""
    built = c.command_from("mark_no_show", {"reservation_id": "res-1", "added_later": 1})
    assert built == c.MarkNoShow(reservation_id="res-1")


@pytest.mark.parametrize(
    ("name", "args"),
    [
        ("set_room_condition", {"room_id": "r", "condition": "filthy"}),
        ("close_business_day", {"business_date": "2026-13-01"}),
        (
            "create_property",
            {
                "property_id": "p",
                "code": "T",
                "name_ja": "a",
                "name_en": "b",
                "business_date": "2026-12-01",
                "service_charge_rate": "ten percent",
            },
        ),
    ],
    ids=["enum", "date", "decimal"],
)
def test_bad_enum_date_or_decimal_is_invalid_input(name: str, args: dict[str, object]) -> None:
    """A value that cannot become its enum, date or Decimal is refused as invalid input."""
    with pytest.raises(InvalidInput):
        c.command_from(name, args)  # type: ignore[arg-type]


def test_a_nul_character_in_text_is_invalid_input() -> None:
    """A NUL (which SQLite stores and PostgreSQL refuses) is refused when a mutation's command
    is rebuilt: central rejects that mutation with the reason, rather than its database."""
    args = {"reservation_id": "r", "guests": [{"name": "Sato\x00"}]}
    with pytest.raises(InvalidInput, match="NUL character"):
        c.command_from("check_in", args)
    with pytest.raises(InvalidInput, match="NUL character"):
        c.command_from("mark_no_show", {"reservation_id": "res\x00-1"})


@pytest.mark.parametrize(
    ("name", "args"),
    [
        ("create_room", {"room_id": "r", "number": "1", "room_type_id": "t", "floor": "3"}),
        ("close_business_day", {"business_date": 20261201}),
    ],
    ids=["text-for-int", "int-for-date"],
)
def test_wrong_plain_type_is_invalid_input(name: str, args: dict[str, object]) -> None:
    """A value of the wrong JSON type is refused rather than carried into the handler."""
    with pytest.raises(InvalidInput):
        c.command_from(name, args)  # type: ignore[arg-type]


@dataclass(frozen=True, kw_only=True)
class TagRoom(c.Command):
    """A test-only command whose field type the decoder has no rule for."""

    name: ClassVar[str] = "tag_room"
    room_id: str
    tags: list[str]


def test_field_of_an_unruled_type_passes_through(monkeypatch: pytest.MonkeyPatch) -> None:
    """A field whose type has no decoding rule (a list) is taken as it came."""
    monkeypatch.setitem(c.COMMANDS, TagRoom.name, TagRoom)
    tagged = TagRoom(room_id="r-101", tags=["vip", "quiet"])
    assert c.command_from("tag_room", tagged.args()) == tagged
