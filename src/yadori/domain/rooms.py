"""Rooms and their housekeeping status, kept as three independent axes.

Occupancy (vacant / occupied) × condition (dirty / clean / inspected) × service (in service /
out of service / out of order). Staff read the combination as the codes they know: VC, VD, VI,
OC, OD, OI, and OOS / OOO, which win over the others while they last.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import Enum

from yadori.domain.conflicts import NO_STAMP, UNSTAMPED, UNWRITTEN, Register, RegisterStamp
from yadori.domain.errors import InvalidInput, InvalidRoomTransition, RoomNotReady
from yadori.domain.limits import CODE, NAME, TEXT, check_lengths


class Occupancy(Enum):
    """Whether a guest is in the room."""

    VACANT = "vacant"
    OCCUPIED = "occupied"


class Condition(Enum):
    """How clean the room is; inspected means a supervisor checked the cleaning."""

    DIRTY = "dirty"
    CLEAN = "clean"
    INSPECTED = "inspected"


class Service(Enum):
    """Whether the room can be sold: OOS is short (still in inventory), OOO takes it out."""

    IN_SERVICE = "in_service"
    OUT_OF_SERVICE = "out_of_service"
    OUT_OF_ORDER = "out_of_order"


_CONDITION_LETTER = {Condition.DIRTY: "D", Condition.CLEAN: "C", Condition.INSPECTED: "I"}
_SERVICE_CODE = {Service.OUT_OF_SERVICE: "OOS", Service.OUT_OF_ORDER: "OOO"}


@dataclass(frozen=True, slots=True)
class RoomType:
    """A kind of room that is sold: the unit of rates and of availability."""

    id: str
    code: str
    name_ja: str
    name_en: str
    max_occupancy: int

    def __post_init__(self) -> None:
        check_lengths(
            {
                "code": (self.code, CODE),
                "name_ja": (self.name_ja, NAME),
                "name_en": (self.name_en, NAME),
            }
        )
        if self.max_occupancy < 1:
            raise InvalidInput("a room type sleeps at least one guest", field="max_occupancy")


@dataclass(frozen=True, slots=True)
class Room:
    """One physical room and its housekeeping status; ``version`` grows with every change.

    Condition and service are registers of their own (``condition_register``,
    ``service_register``: their version and last writer), merged apart (DESIGN §5): a cleaning
    and a concurrent out-of-order are both kept. ``stamp`` names the last writer of any field.
    """

    id: str
    number: str
    room_type_id: str
    floor: int
    occupancy: Occupancy = Occupancy.VACANT
    condition: Condition = Condition.CLEAN
    service: Service = Service.IN_SERVICE
    service_reason: str = ""
    version: int = 1
    stamp: RegisterStamp = NO_STAMP
    condition_register: Register = UNWRITTEN
    service_register: Register = UNWRITTEN

    def __post_init__(self) -> None:
        if not self.number.strip():
            raise InvalidInput("a room needs a number", field="number")
        check_lengths(
            {"number": (self.number, CODE), "service_reason": (self.service_reason, TEXT)}
        )

    @property
    def status_code(self) -> str:
        """The code staff know: OOO / OOS first, else occupancy letter + condition letter."""
        if self.service in _SERVICE_CODE:
            return _SERVICE_CODE[self.service]
        return self.occupancy.value[0].upper() + _CONDITION_LETTER[self.condition]

    @property
    def sellable(self) -> bool:
        """Whether the room counts in the inventory that can be sold."""
        return self.service is not Service.OUT_OF_ORDER

    def check_in(self) -> Room:
        """The guest takes the room: it must be vacant, in service and clean or inspected."""
        if self.occupancy is Occupancy.OCCUPIED:
            raise RoomNotReady(f"room {self.number} is occupied", room=self.number)
        if self.service is not Service.IN_SERVICE:
            raise RoomNotReady(f"room {self.number} is {self.status_code}", room=self.number)
        if self.condition is Condition.DIRTY:
            raise RoomNotReady(f"room {self.number} is dirty (VD)", room=self.number)
        return self._next(occupancy=Occupancy.OCCUPIED)

    def check_out(self) -> Room:
        """The guest leaves: the room becomes vacant and dirty."""
        if self.occupancy is Occupancy.VACANT:
            raise InvalidRoomTransition(f"room {self.number} is already vacant", room=self.number)
        return self._next(occupancy=Occupancy.VACANT, condition=Condition.DIRTY)

    def set_condition(self, condition: Condition) -> Room:
        """Housekeeping reports the room dirty, clean or inspected."""
        if condition is Condition.INSPECTED and self.condition is Condition.DIRTY:
            raise InvalidRoomTransition(
                f"room {self.number} must be cleaned before it is inspected", room=self.number
            )
        return self._next(condition=condition)

    def set_service(self, service: Service, reason: str = "") -> Room:
        """Take the room out of service or order (with a reason), or return it to service."""
        if service is not Service.IN_SERVICE and not reason.strip():
            raise InvalidInput("a reason is required to take a room out of service", field="reason")
        if service is Service.OUT_OF_ORDER and self.occupancy is Occupancy.OCCUPIED:
            raise InvalidRoomTransition(
                f"room {self.number} is occupied: move the guest before OOO", room=self.number
            )
        return self._next(service=service, service_reason=reason.strip())

    def stamped(self, stamp: RegisterStamp) -> Room:
        """The same status, recorded as last written by ``stamp`` (for the register rule).

        The room's stamp, and that of each register written since it was last stamped.
        """
        return replace(
            self,
            stamp=stamp,
            condition_register=self.condition_register.stamped(stamp),
            service_register=self.service_register.stamped(stamp),
        )

    @property
    def unstamped(self) -> bool:
        """Whether a register was written and not stamped: such a room is not stored."""
        return UNSTAMPED in (self.condition_register.stamp, self.service_register.stamp)

    def vacated(self) -> Room:
        """A merge found the guest gone: vacant and dirty whatever its status said."""
        return self._next(occupancy=Occupancy.VACANT, condition=Condition.DIRTY)

    def merged_condition(self, condition: Condition) -> Room:
        """A condition write that won a merge: taken as it is, without the transition checks.

        The write was checked where it was made, against the state its writer saw.
        """
        return self._next(condition=condition)

    def merged_service(self, service: Service, reason: str) -> Room:
        """A service write that won a merge: taken as it is (see ``merged_condition``)."""
        return self._next(service=service, service_reason=reason)

    def forced_occupied(self) -> Room:
        """A merge found a guest in the room: occupied whatever its status said."""
        return self._next(occupancy=Occupancy.OCCUPIED)

    def _next(self, **changes: object) -> Room:
        if "condition" in changes:
            changes["condition_register"] = self.condition_register.written()
        if "service" in changes:
            changes["service_register"] = self.service_register.written()
        return replace(self, version=self.version + 1, **changes)  # type: ignore[arg-type]
