"""Folio commands: charges, payments, adjustments, voids and the posting of room nights."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import ClassVar

from yadori.domain.money import Yen
from yadori.domain.taxes import TaxClass
from yadori.services.commands.base import Command
from yadori.sync.mutation import Priority


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
