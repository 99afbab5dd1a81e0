"""Every command by name, and the rebuilding of a command from a mutation's canonical arguments.

A mutation carries a command's name and its fields as canonical JSON; ``command_from`` turns them
back into the command, checking every value against the field's type (``InvalidInput`` if not).
"""

from __future__ import annotations

import dataclasses
import functools
import types
import typing
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from enum import Enum
from typing import Union

from yadori.domain.errors import InvalidInput
from yadori.services.commands.base import Command
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
from yadori.sync.canonical import JSON

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
    values = {name: decode(args[name]) for name, decode in _fields(cls) if name in args}
    try:
        return cls(**values)
    except TypeError as exc:
        raise InvalidInput(f"{cls.__name__}: {exc}", field=cls.__name__) from exc


_Decode = Callable[[object], object]


_FIELDS: dict[type[object], tuple[tuple[str, _Decode], ...]] = {}


def _fields(cls: type[object]) -> tuple[tuple[str, _Decode], ...]:
    """Each init field of a class with its decoder, worked out once from the type hints.

    Replays rebuild thousands of commands: reading the hints for every value was a third of it.
    """
    if cls not in _FIELDS:
        hints = typing.get_type_hints(cls)
        _FIELDS[cls] = tuple(
            (f.name, _decoder(hints[f.name]))
            for f in dataclasses.fields(cls)  # type: ignore[arg-type]
            if f.init
        )
    return _FIELDS[cls]


def _decoder(hint: object) -> _Decode:
    origin = typing.get_origin(hint)
    if origin in (Union, types.UnionType):
        options = [a for a in typing.get_args(hint) if a is not type(None)]
        inner = _decoder(options[0])
        return lambda value: None if value is None else inner(value)
    if origin is tuple:
        item = _decoder(typing.get_args(hint)[0])
        return lambda value: tuple(item(v) for v in _as_list(value))
    if isinstance(hint, type):
        if dataclasses.is_dataclass(hint):
            return functools.partial(_build, hint)
        return functools.partial(_decode_plain, hint)
    return lambda value: value


def _decode_plain(hint: type, value: object) -> object:
    try:
        return _convert(hint, value)
    except (ValueError, ArithmeticError) as exc:
        raise InvalidInput(
            f"{value!r:.80} is not a valid {hint.__name__} ({exc})", field=hint.__name__
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
    if hint is str and "\x00" in value:  # type: ignore[operator] # a str, checked above
        raise ValueError("text cannot hold a NUL character (U+0000)")
    return value


def _as_list(value: object) -> list[object]:
    if not isinstance(value, list):
        raise InvalidInput("a list was expected", field="args")
    return value
