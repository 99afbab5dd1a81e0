"""Folios: the guest's account, an append-only list of lines.

Charges, payments and adjustments are appended; a void is a new line that names the line it
cancels, never an edit. The balance applies the qualified-invoice tax rule to the live charges
and adjustments, then subtracts the live payments. Check-out needs a zero balance unless a
manager overrides it with a reason.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from enum import Enum

from yadori.domain.errors import (
    FolioClosed,
    FolioNotBalanced,
    InvalidInput,
    ManagerOverrideRequired,
    UnknownFolioLine,
    VoidRefused,
)
from yadori.domain.limits import CODE, TEXT, check_lengths
from yadori.domain.money import Rounding, Yen
from yadori.domain.taxes import InvoiceTax, TaxableAmount, TaxClass, invoice_tax


class LineKind(Enum):
    """What a folio line does to the balance."""

    CHARGE = "charge"
    PAYMENT = "payment"
    ADJUSTMENT = "adjustment"
    VOID = "void"


class ChargeCategory(Enum):
    """What a charge is for."""

    ROOM = "room"
    SERVICE_CHARGE = "service_charge"
    ACCOMMODATION_TAX = "accommodation_tax"
    ROOM_SERVICE = "room_service"
    MINIBAR = "minibar"
    MISC = "misc"


class PaymentMethod(Enum):
    """How a payment was made; card needs the payment gateway, so it is online only."""

    CASH = "cash"
    CARD = "card"


class FolioStatus(Enum):
    """An open folio takes lines; a settled one was closed at check-out."""

    OPEN = "open"
    SETTLED = "settled"


@dataclass(frozen=True, slots=True)
class FolioLine:
    """One line of a folio. ``category`` is a ChargeCategory or PaymentMethod value."""

    id: str
    kind: LineKind
    category: str
    description: str
    amount: Yen
    business_date: date
    tax_class: TaxClass = TaxClass.NONE
    tax_included: bool = True
    voids: str | None = None
    night: date | None = None

    def taxable(self) -> TaxableAmount:
        """This line as an amount for the invoice's tax."""
        return TaxableAmount(self.amount, self.tax_class, self.tax_included)


@dataclass(frozen=True, slots=True)
class ManagerOverride:
    """A manager's permission to break a rule, with the reason that is kept on record."""

    manager_id: str
    reason: str


@dataclass(frozen=True, slots=True)
class Folio:
    """The account of one stay: its lines in the order they were posted."""

    id: str
    reservation_id: str
    status: FolioStatus = FolioStatus.OPEN
    lines: tuple[FolioLine, ...] = ()
    override: ManagerOverride | None = None

    def live_lines(self) -> list[FolioLine]:
        """Charges, adjustments and payments that no void cancels."""
        voided = {line.voids for line in self.lines if line.kind is LineKind.VOID}
        return [
            line for line in self.lines if line.kind is not LineKind.VOID and line.id not in voided
        ]

    def taxables(self) -> list[TaxableAmount]:
        """Every live charge and adjustment as an amount for the invoice's tax."""
        return [line.taxable() for line in self.live_lines() if line.kind is not LineKind.PAYMENT]

    def invoice(self, rounding: Rounding = Rounding.FLOOR) -> InvoiceTax:
        """The tax summary of every live charge and adjustment."""
        return invoice_tax(self.taxables(), rounding)

    def paid(self) -> Yen:
        """The sum of live payments (refunds are negative payments)."""
        return sum(line.amount for line in self.live_lines() if line.kind is LineKind.PAYMENT)

    def balance(self, rounding: Rounding = Rounding.FLOOR) -> Yen:
        """What the guest still owes (negative: what the hotel owes the guest)."""
        return self.invoice(rounding).total - self.paid()

    def posted_nights(self, category: ChargeCategory) -> set[date]:
        """The nights ever charged in that category, voided or not.

        A voided room night (a night given free) stays off the bill: it is never posted again.
        """
        return {
            line.night
            for line in self.lines
            if line.kind is LineKind.CHARGE
            and line.night is not None
            and line.category == category.value
        }

    def append(self, line: FolioLine, *, merging: bool = False) -> Folio:
        """Add a line after checking it fits the folio's rules.

        ``merging``: a line made elsewhere reaches a folio settled here; append-only data never
        conflicts, so it is kept (the caller opens a ticket).
        """
        if self.status is FolioStatus.SETTLED and not merging:
            raise FolioClosed("the folio was settled at check-out", folio=self.id)
        _validate_amount(line)
        if line.kind is LineKind.VOID:
            self._check_void(line)
        return replace(self, lines=(*self.lines, line))

    def void_of(self, line_id: str, void_id: str, business_date: date, reason: str) -> FolioLine:
        """The line that cancels ``line_id``: same amount and tax, naming the original."""
        original = self._line(line_id)
        return FolioLine(
            id=void_id,
            kind=LineKind.VOID,
            category=original.category,
            description=reason,
            amount=original.amount,
            business_date=business_date,
            tax_class=original.tax_class,
            tax_included=original.tax_included,
            voids=original.id,
            night=original.night,
        )

    def settle(self, rounding: Rounding, override: ManagerOverride | None) -> Folio:
        """Close the folio at check-out; a balance other than zero needs a manager's override."""
        if self.status is FolioStatus.SETTLED:
            raise FolioClosed("the folio is already settled", folio=self.id)
        balance = self.balance(rounding)
        if balance != 0 and override is None:
            raise FolioNotBalanced(
                f"the folio balance is {balance} yen: settle it or ask a manager to override",
                balance=balance,
            )
        if override is not None and not override.reason.strip():
            raise ManagerOverrideRequired("a manager override needs a reason", field="reason")
        if override is not None:
            check_lengths(
                {"reason": (override.reason, TEXT), "manager_id": (override.manager_id, 4 * CODE)}
            )
        return replace(self, status=FolioStatus.SETTLED, override=override)

    def settled_anyway(self) -> Folio:
        """Close the folio as a merged check-out did, whatever its balance (a ticket says why)."""
        return replace(self, status=FolioStatus.SETTLED)

    def is_voided(self, line_id: str) -> bool:
        """Whether a void of that line is already on the folio."""
        return any(line.voids == line_id for line in self.lines)

    def _line(self, line_id: str) -> FolioLine:
        for line in self.lines:
            if line.id == line_id:
                return line
        raise UnknownFolioLine(f"no line {line_id} on this folio", line=line_id)

    def _check_void(self, void: FolioLine) -> None:
        original = self._line(void.voids or "")
        if original.kind is LineKind.VOID:
            raise VoidRefused("a void cannot be voided: post a new line instead", line=original.id)
        if any(line.voids == original.id for line in self.lines):
            raise VoidRefused("that line is already voided", line=original.id)


def _validate_amount(line: FolioLine) -> None:
    check_lengths({"description": (line.description, TEXT), "category": (line.category, 2 * CODE)})
    if line.kind is LineKind.CHARGE and line.amount <= 0:
        raise InvalidInput("a charge must be a positive amount of yen", field="amount")
    if line.kind in (LineKind.PAYMENT, LineKind.ADJUSTMENT) and line.amount == 0:
        raise InvalidInput(f"a {line.kind.value} cannot be zero yen", field="amount")
    if line.kind is LineKind.PAYMENT and line.tax_class is not TaxClass.NONE:
        raise InvalidInput("a payment carries no consumption tax", field="tax_class")
