"""Roles, what each may do, and which actions need central (online-only).

Permissions are data: a role is a set of scopes, a token carries the scopes of its role (an
offline token without the online-only ones), a route requires one scope, and central checks the
command of every pushed mutation against the scopes of the token it was made under.
"""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    """The jobs of a hotel's staff."""

    FRONT_DESK = "front_desk"
    MANAGER = "manager"
    HOUSEKEEPING = "housekeeping"
    KITCHEN = "kitchen"
    ADMIN = "admin"


class Scope(StrEnum):
    """One kind of action."""

    READ = "read"  # see rooms, reservations, folios, tickets, sync state
    ROOMS = "rooms"  # housekeeping status and service
    FRONT_DESK = "front_desk"  # reservations, check-in/out, moves
    CHARGE = "charge"  # post a charge to a folio
    PAYMENT = "payment"  # take a payment
    ADJUST = "adjust"  # adjustments and voids
    CLOSE_DAY = "close_day"  # the night audit
    TICKETS = "tickets"  # resolve conflict tickets
    ROOM_SERVICE = "room_service"  # take orders for guests, run the kitchen, guest links, stock
    SETUP = "setup"  # property, room types, rooms, rate plans
    AUDIT = "audit"  # read the login audit log
    STAFF_ADMIN = "staff_admin"  # create and disable staff, enrol and revoke edges (online only)
    PIN_CHANGE = "pin_change"  # change one's own PIN (online only)
    CARD_PAYMENT = "card_payment"  # payment through the card gateway (online only)
    MEMBER_REGISTER = "member_register"  # loyalty sign-up (online only)


ONLINE_ONLY: frozenset[Scope] = frozenset(
    {Scope.STAFF_ADMIN, Scope.PIN_CHANGE, Scope.CARD_PAYMENT, Scope.MEMBER_REGISTER}
)
"""Scopes an offline token never carries: they need central's answer."""

_DESK = {
    Scope.READ,
    Scope.FRONT_DESK,
    Scope.CHARGE,
    Scope.PAYMENT,
    Scope.TICKETS,
    Scope.ROOM_SERVICE,
}
_ONLINE_SELF = {Scope.PIN_CHANGE, Scope.CARD_PAYMENT, Scope.MEMBER_REGISTER}

ROLE_SCOPES: dict[Role, frozenset[Scope]] = {
    Role.FRONT_DESK: frozenset(_DESK | _ONLINE_SELF | {Scope.ROOMS}),
    Role.MANAGER: frozenset(
        _DESK
        | _ONLINE_SELF
        | {Scope.ROOMS, Scope.ADJUST, Scope.CLOSE_DAY, Scope.SETUP, Scope.AUDIT}
    ),
    Role.HOUSEKEEPING: frozenset({Scope.READ, Scope.ROOMS, Scope.PIN_CHANGE}),
    Role.KITCHEN: frozenset({Scope.READ, Scope.CHARGE, Scope.ROOM_SERVICE, Scope.PIN_CHANGE}),
    Role.ADMIN: frozenset(Scope),
}
"""What each role may do."""

COMMAND_SCOPE: dict[str, Scope] = {
    "create_property": Scope.SETUP,
    "create_room_type": Scope.SETUP,
    "create_room": Scope.SETUP,
    "create_rate_plan": Scope.SETUP,
    "create_reservation": Scope.FRONT_DESK,
    "cancel_reservation": Scope.FRONT_DESK,
    "mark_no_show": Scope.FRONT_DESK,
    "assign_room": Scope.FRONT_DESK,
    "check_in": Scope.FRONT_DESK,
    "move_room": Scope.FRONT_DESK,
    "check_out": Scope.FRONT_DESK,
    "set_room_condition": Scope.ROOMS,
    "set_room_service": Scope.ROOMS,
    "post_charge": Scope.CHARGE,
    "post_payment": Scope.PAYMENT,
    "post_adjustment": Scope.ADJUST,
    "void_line": Scope.ADJUST,
    "post_room_charges": Scope.FRONT_DESK,
    "close_business_day": Scope.CLOSE_DAY,
    "resolve_ticket": Scope.TICKETS,
    "create_staff": Scope.STAFF_ADMIN,
    "set_staff_status": Scope.STAFF_ADMIN,
    "change_pin": Scope.PIN_CHANGE,
    "save_menu_category": Scope.SETUP,
    "save_menu_item": Scope.SETUP,
    "set_price_policy": Scope.SETUP,
    "adjust_stock": Scope.ROOM_SERVICE,
    "place_order": Scope.ROOM_SERVICE,
    "advance_order": Scope.ROOM_SERVICE,
    "issue_guest_token": Scope.ROOM_SERVICE,
}
"""The scope central requires of the token a pushed command was made under."""


def scopes_for(role: Role, *, offline: bool) -> frozenset[Scope]:
    """The scopes a token of this role carries; an offline one lacks the online-only ones."""
    scopes = ROLE_SCOPES[role]
    return scopes - ONLINE_ONLY if offline else scopes
