"""Setup commands: open the property and add its room types, rooms and rate plans."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import ClassVar

from yadori.domain.money import Rounding, Yen
from yadori.services.commands.base import Command
from yadori.sync.mutation import Priority


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
