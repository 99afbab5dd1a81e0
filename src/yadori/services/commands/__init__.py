"""Commands: every write to the hotel's data is one of these, named and replayable.

A command carries every id it creates, so running it again elsewhere (central re-executing an
edge's mutation) produces the same rows. Each says which aggregates it touches (``keys``), so
the outbox can record what it depends on, and which upload lane it travels in.

The commands live in modules by area (``setup``, ``stays``, ``folio``, ``roomservice``,
``staff``), their base class in ``base``, and the registry by name with the rebuilding of a
command from a mutation in ``decoding``. This package names them all, so that callers import
from ``yadori.services.commands`` whatever module a command lives in.
"""

from __future__ import annotations

from yadori.services.commands.base import Command
from yadori.services.commands.decoding import COMMANDS, command_from
from yadori.services.commands.folio import (
    PostAdjustment,
    PostCharge,
    PostPayment,
    PostRoomCharges,
    VoidLine,
)
from yadori.services.commands.roomservice import (
    AdjustStock,
    AdvanceOrder,
    IssueGuestToken,
    OrderItem,
    PlaceOrder,
    SaveMenuCategory,
    SaveMenuItem,
    SetPricePolicy,
)
from yadori.services.commands.setup import (
    CreateProperty,
    CreateRatePlan,
    CreateRoom,
    CreateRoomType,
    Price,
)
from yadori.services.commands.staff import (
    ChangePin,
    CreateStaff,
    RecordLoginAttempt,
    SetStaffStatus,
)
from yadori.services.commands.stays import (
    AssignRoom,
    CancelReservation,
    CheckIn,
    CheckOut,
    CloseBusinessDay,
    CreateReservation,
    MarkNoShow,
    MoveRoom,
    ResolveTicket,
    SetRoomCondition,
    SetRoomService,
)

__all__ = [
    "COMMANDS",
    "AdjustStock",
    "AdvanceOrder",
    "AssignRoom",
    "CancelReservation",
    "ChangePin",
    "CheckIn",
    "CheckOut",
    "CloseBusinessDay",
    "Command",
    "CreateProperty",
    "CreateRatePlan",
    "CreateReservation",
    "CreateRoom",
    "CreateRoomType",
    "CreateStaff",
    "IssueGuestToken",
    "MarkNoShow",
    "MoveRoom",
    "OrderItem",
    "PlaceOrder",
    "PostAdjustment",
    "PostCharge",
    "PostPayment",
    "PostRoomCharges",
    "Price",
    "RecordLoginAttempt",
    "ResolveTicket",
    "SaveMenuCategory",
    "SaveMenuItem",
    "SetPricePolicy",
    "SetRoomCondition",
    "SetRoomService",
    "SetStaffStatus",
    "VoidLine",
    "command_from",
]
