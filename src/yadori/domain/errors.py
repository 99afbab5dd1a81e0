"""Errors of the hotel's business rules.

Every error carries a stable ``code`` (the API's problem type and the CLI's message key) and a
message a member of staff can act on. The tree::

    DomainError
    ├── NotFound
    │   ├── UnknownRoom, UnknownRoomType, UnknownReservation, UnknownFolio, UnknownFolioLine
    │   ├── UnknownRatePlan, NoRateForNight, UnknownStaff
│   └── UnknownMunicipality, NoAccommodationTaxRule   (in accommodation_tax.py)
    ├── InvalidInput                      (a value that can never be right)
    │   └── RegistryDataMissing           (the Hotel Business Act guest registry)
    └── RuleViolation                     (right in general, wrong now)
        ├── RoomNotAvailable, RoomNotReady, InvalidRoomTransition
        ├── InvalidReservationTransition
        ├── FolioNotBalanced, FolioClosed, VoidRefused
        ├── ManagerOverrideRequired
        ├── BusinessDayClosed             (that business day was already closed)
        └── AlreadyExists                 (an id or number used twice)

Errors of other domain modules (``accommodation_tax.UnknownMunicipality`` …) subclass these.
"""

from __future__ import annotations

from typing import ClassVar


class DomainError(Exception):
    """A business rule refused what was asked; ``code`` is stable, ``str()`` is for staff."""

    code: ClassVar[str] = "domain_error"

    def __init__(self, message: str, **facts: object) -> None:
        super().__init__(message)
        self.message = message
        self.facts = facts


class NotFound(DomainError):
    """Something named by its id does not exist."""

    code = "not_found"


class InvalidInput(DomainError):
    """A value that can never be right (a negative amount, an empty name, a bad date range)."""

    code = "invalid_input"


class RuleViolation(DomainError):
    """A value that is fine in general but breaks a rule in the current state."""

    code = "rule_violation"


class UnknownRoom(NotFound):
    """No room with that id or number at this property."""

    code = "unknown_room"


class UnknownRoomType(NotFound):
    """No room type with that id or code at this property."""

    code = "unknown_room_type"


class UnknownReservation(NotFound):
    """No reservation with that id at this property."""

    code = "unknown_reservation"


class UnknownFolio(NotFound):
    """No folio with that id."""

    code = "unknown_folio"


class UnknownFolioLine(NotFound):
    """No folio line with that id on the folio."""

    code = "unknown_folio_line"


class UnknownStaff(NotFound):
    """No staff member with that id at this property."""

    code = "unknown_staff"


class UnknownRatePlan(NotFound):
    """No rate plan with that code."""

    code = "unknown_rate_plan"


class NoRateForNight(NotFound):
    """The rate plan has no price for that room type on that night."""

    code = "no_rate_for_night"


class RegistryDataMissing(InvalidInput):
    """The guest registry the Hotel Business Act requires lacks a field (named in ``field``)."""

    code = "registry_data_missing"


class RoomNotAvailable(RuleViolation):
    """The room (or room type) is already held for one of the nights asked."""

    code = "room_not_available"


class RoomNotReady(RuleViolation):
    """The room cannot take a guest now: occupied, dirty or out of service."""

    code = "room_not_ready"


class InvalidRoomTransition(RuleViolation):
    """A housekeeping change that the room's current status does not allow."""

    code = "invalid_room_transition"


class InvalidReservationTransition(RuleViolation):
    """A lifecycle step that the reservation's status does not allow."""

    code = "invalid_reservation_transition"


class FolioNotBalanced(RuleViolation):
    """Check-out with money still owed or owing, and no manager override."""

    code = "folio_not_balanced"


class FolioClosed(RuleViolation):
    """The folio was settled at check-out: post to a new folio instead."""

    code = "folio_closed"


class VoidRefused(RuleViolation):
    """That line cannot be voided (already voided, or itself a void)."""

    code = "void_refused"


class ManagerOverrideRequired(RuleViolation):
    """The action needs a manager's override with a reason."""

    code = "manager_override_required"


class AlreadyExists(RuleViolation):
    """An id, code or number that must be unique is already taken."""

    code = "already_exists"


class BusinessDayClosed(RuleViolation):
    """The day named was already closed by the night audit."""

    code = "business_day_closed"
