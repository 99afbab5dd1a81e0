"""Request (…In) and response (…Out) bodies of the API. Money is integer yen."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

from yadori.domain.accommodation_tax import Exemption
from yadori.domain.conflicts import ConflictTicket
from yadori.domain.registry import RegistryEntry
from yadori.domain.reservations import Reservation
from yadori.domain.rooms import Condition, Room, RoomType, Service

Id = Annotated[str, Field(min_length=1, max_length=36, pattern=r"^[0-9a-fA-F-]{1,36}$")]
Text = Annotated[str, Field(max_length=500)]
Yen = Annotated[int, Field(ge=-100_000_000, le=100_000_000)]


class In(BaseModel):
    """Requests refuse unknown fields, so a typo is an error, not a silent default.

    And a NUL character in any text: SQLite stores it, PostgreSQL refuses it, so central could
    never take what the edge had accepted (a pasted control character, say).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    @model_validator(mode="before")
    @classmethod
    def _no_nul(cls, data: object) -> object:
        if _holds_nul(data):
            raise ValueError("text cannot hold a NUL character (U+0000)")
        return data


def _holds_nul(value: object) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_holds_nul(k) or _holds_nul(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(_holds_nul(v) for v in value)
    return False


class RoomTypeOut(BaseModel):
    """A room type."""

    id: str
    code: str
    name_ja: str
    name_en: str
    max_occupancy: int

    @classmethod
    def of(cls, t: RoomType) -> RoomTypeOut:
        return cls(
            id=t.id,
            code=t.code,
            name_ja=t.name_ja,
            name_en=t.name_en,
            max_occupancy=t.max_occupancy,
        )


class RoomOut(BaseModel):
    """A room and its housekeeping status, with the code staff know."""

    id: str
    number: str
    room_type_id: str
    floor: int
    status: str
    occupancy: str
    condition: str
    service: str
    service_reason: str
    version: int
    condition_version: int  # the base_version of a condition write based on what is shown
    service_version: int  # the base_version of a service write based on what is shown

    @classmethod
    def of(cls, r: Room) -> RoomOut:
        return cls(
            id=r.id,
            number=r.number,
            room_type_id=r.room_type_id,
            floor=r.floor,
            status=r.status_code,
            occupancy=r.occupancy.value,
            condition=r.condition.value,
            service=r.service.value,
            service_reason=r.service_reason,
            version=r.version,
            condition_version=r.condition_register.version,
            service_version=r.service_register.version,
        )


class ConditionIn(In):
    """Housekeeping reports a room's condition.

    ``base_version``: the ``condition_version`` it was based on (else the one the node holds).
    """

    condition: Condition
    base_version: int | None = None


class ServiceIn(In):
    """Take a room out of service or order, or back in.

    ``base_version``: the ``service_version`` it was based on (else the one the node holds).
    """

    service: Service
    reason: Text = ""
    base_version: int | None = None


class ReservationIn(In):
    """A new booking; ids may be given by the client so a retried request is recognised."""

    reservation_id: Id | None = None
    folio_id: Id | None = None
    guest_name: Annotated[str, Field(min_length=1, max_length=200)]
    arrival: date
    departure: date
    adults: Annotated[int, Field(ge=1, le=20)] = 1
    room_type_id: Id
    rate_plan_id: Id
    room_id: Id | None = None


class NightOut(BaseModel):
    """One night's price of a reservation."""

    night: date
    amount: int
    tax_included: bool


class ReservationOut(BaseModel):
    """A reservation."""

    id: str
    number: str
    guest_name: str
    arrival: date
    departure: date
    adults: int
    room_type_id: str
    rate_plan_id: str
    status: str
    room_id: str | None
    nights: list[NightOut]
    version: int

    @classmethod
    def of(cls, r: Reservation) -> ReservationOut:
        return cls(
            id=r.id,
            number=r.number,
            guest_name=r.guest_name,
            arrival=r.arrival,
            departure=r.departure,
            adults=r.adults,
            room_type_id=r.room_type_id,
            rate_plan_id=r.rate_plan_id,
            status=r.status.value,
            room_id=r.room_id,
            nights=[
                NightOut(night=n.night, amount=n.amount, tax_included=n.tax_included)
                for n in r.nights
            ],
            version=r.version,
        )


class GuestIn(In):
    """One guest's registry entry (Hotel Business Act)."""

    name: Annotated[str, Field(max_length=200)]
    address: Annotated[str, Field(max_length=200)] = ""
    contact: Annotated[str, Field(max_length=200)] = ""
    resident_in_japan: bool = True
    nationality: Annotated[str, Field(max_length=200)] = ""
    passport_number: Annotated[str, Field(max_length=200)] = ""
    passport_copy_kept: bool = False
    exemption: Exemption = Exemption.NONE

    def entry(self) -> RegistryEntry:
        return RegistryEntry(**self.model_dump())


class CheckInIn(In):
    """Check-in: every guest's registry entry, and the room if none is assigned yet."""

    room_id: Id | None = None
    guests: Annotated[list[GuestIn], Field(min_length=1, max_length=20)]


class AssignRoomIn(In):
    """Assign a room to a booking."""

    room_id: Id


class MoveIn(In):
    """Move a stay to another room."""

    to_room_id: Id
    reason: Text = ""


class CancelIn(In):
    """Cancel a booking."""

    reason: Text = ""


class OverrideIn(In):
    """A manager's override of the balance rule, with the reason kept on record."""

    manager_id: Annotated[str, Field(min_length=1, max_length=64)]
    reason: Annotated[str, Field(min_length=1, max_length=500)]


class CheckOutIn(In):
    """Check-out, optionally with a manager's override."""

    override: OverrideIn | None = None


class RoomChargesIn(In):
    """Post room nights before ``through`` (the night audit's job)."""

    through: date


class CloseDayIn(In):
    """Close the named business day (refused if it is not the current one)."""

    business_date: date


class TicketOut(BaseModel):
    """A conflict ticket with the facts of both sides."""

    id: str
    kind: str
    aggregate: str
    summary: str
    facts: dict[str, str]
    status: str
    resolution: str
    resolved_by: str
    opened_at: str

    @classmethod
    def of(cls, t: ConflictTicket) -> TicketOut:
        return cls(
            id=t.id,
            kind=t.kind.value,
            aggregate=t.aggregate,
            summary=t.summary,
            facts=t.facts,
            status=t.status.value,
            resolution=t.resolution,
            resolved_by=t.resolved_by,
            opened_at=t.opened_at.isoformat(),
        )


class ResolveTicketIn(In):
    """How a conflict was resolved."""

    resolution: Annotated[str, Field(min_length=1, max_length=500)]


# --- staff authentication ---------------------------------------------------------------------

StaffCode = Annotated[str, Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_-]+$")]
Pin = Annotated[str, Field(min_length=1, max_length=16)]
NodeName = Annotated[str, Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_.]+$")]


class LoginIn(In):
    """A staff code and PIN (the PIN is checked for its format only after the hash check)."""

    staff_code: StaffCode
    pin: Pin


class EdgeLoginIn(LoginIn):
    """An edge asking central to log one of its staff in."""

    property_id: Id


class EnrolIn(In):
    """An edge's enrolment: the one-time token, its node id and its public key (PEM)."""

    token: Annotated[str, Field(min_length=1, max_length=200)]
    node_id: NodeName
    public_key: Annotated[str, Field(min_length=1, max_length=1000)]


class RotateIn(In):
    """An edge's new public key (PEM)."""

    public_key: Annotated[str, Field(min_length=1, max_length=1000)]


class RepublishIn(In):
    """Aggregates of a property an edge asks central to publish again (decision 0064)."""

    property_id: Annotated[str, Field(min_length=1, max_length=36)]
    aggregates: Annotated[
        list[Annotated[str, Field(min_length=3, max_length=80)]],
        Field(min_length=1, max_length=1_000),
    ]


class StaffIn(In):
    """A new staff member (central, online only); the PIN is hashed at once, never stored."""

    code: StaffCode
    name: Annotated[str, Field(min_length=1, max_length=200)]
    role: Annotated[str, Field(pattern=r"^(front_desk|manager|housekeeping|kitchen|admin)$")]
    pin: Annotated[str, Field(pattern=r"^[0-9]{4,8}$")]


class StaffStatusIn(In):
    """A staff member's new status."""

    status: Annotated[str, Field(pattern=r"^(active|disabled|deleted)$")]


class PinChangeIn(In):
    """One's own PIN change: the current PIN and the new one."""

    current_pin: Pin
    new_pin: Annotated[str, Field(pattern=r"^[0-9]{4,8}$")]


class EnrolmentTokenIn(In):
    """Make a one-time enrolment token for an edge of this property."""

    node_id: NodeName
    ttl_minutes: Annotated[int, Field(ge=1, le=7 * 24 * 60)] = 60
