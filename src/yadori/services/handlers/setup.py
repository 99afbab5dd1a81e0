"""Handlers that set a property up: the hotel, its room types, rooms and rate plans."""

from __future__ import annotations

from yadori.domain.limits import check_rate
from yadori.domain.property import Property
from yadori.domain.rates import RatePlan
from yadori.domain.rooms import Room, RoomType
from yadori.services.commands import CreateProperty, CreateRatePlan, CreateRoom, CreateRoomType
from yadori.services.context import Context
from yadori.services.ports import UnitOfWork


def create_property(cmd: CreateProperty, uow: UnitOfWork, ctx: Context) -> Property:
    """Open the hotel."""
    check_rate("service_charge_rate", cmd.service_charge_rate)  # where a rate comes in
    prop = Property(
        id=cmd.property_id,
        code=cmd.code,
        name_ja=cmd.name_ja,
        name_en=cmd.name_en,
        business_date=cmd.business_date,
        municipality=cmd.municipality,
        timezone=cmd.timezone,
        service_charge_rate=cmd.service_charge_rate,
        service_charge_rounding=cmd.service_charge_rounding,
        tax_rounding=cmd.tax_rounding,
    )
    uow.properties.add(prop)
    return prop


def create_room_type(cmd: CreateRoomType, uow: UnitOfWork, ctx: Context) -> RoomType:
    """Add a room type."""
    room_type = RoomType(cmd.room_type_id, cmd.code, cmd.name_ja, cmd.name_en, cmd.max_occupancy)
    uow.room_types.add(room_type)
    return room_type


def create_room(cmd: CreateRoom, uow: UnitOfWork, ctx: Context) -> Room:
    """Add a room of an existing type."""
    uow.room_types.get(cmd.room_type_id)
    room = Room(cmd.room_id, cmd.number, cmd.room_type_id, cmd.floor)
    uow.rooms.add(room)
    return room


def create_rate_plan(cmd: CreateRatePlan, uow: UnitOfWork, ctx: Context) -> RatePlan:
    """Add a rate plan; every price must name an existing room type."""
    for room_type_id in {p.room_type_id for p in cmd.prices}:
        uow.room_types.get(room_type_id)
    plan = RatePlan(
        id=cmd.rate_plan_id,
        code=cmd.code,
        name_ja=cmd.name_ja,
        name_en=cmd.name_en,
        tax_included=cmd.tax_included,
        base_prices={p.room_type_id: p.amount for p in cmd.prices if p.night is None},
        overrides={(p.room_type_id, p.night): p.amount for p in cmd.prices if p.night},
    )
    uow.rate_plans.add(plan)
    return plan
