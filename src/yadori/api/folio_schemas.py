"""Request and response bodies of folios, stays and quotes. Money is integer yen."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from pydantic import BaseModel, Field

from yadori.api.schemas import GuestIn, Id, In, ReservationOut, Text, Yen
from yadori.domain.fees import StayQuote
from yadori.domain.folio import FolioLine
from yadori.domain.taxes import RateSummary, TaxClass
from yadori.services.queries import FolioView, StayView


class ChargeIn(In):
    """A charge to post."""

    line_id: Id | None = None
    category: Annotated[str, Field(max_length=32)]
    description: Text
    amount: Annotated[int, Field(gt=0, le=100_000_000)]
    tax_class: TaxClass = TaxClass.STANDARD
    tax_included: bool = True


class PaymentIn(In):
    """A payment (negative: a refund)."""

    line_id: Id | None = None
    method: Annotated[str, Field(max_length=16)]
    amount: Yen
    description: Text = ""


class AdjustmentIn(In):
    """An adjustment with its reason."""

    line_id: Id | None = None
    amount: Yen
    reason: Annotated[str, Field(min_length=1, max_length=500)]
    tax_class: TaxClass = TaxClass.STANDARD
    tax_included: bool = True


class VoidIn(In):
    """Void a line, with a reason."""

    void_line_id: Id | None = None
    reason: Annotated[str, Field(min_length=1, max_length=500)]


class LineOut(BaseModel):
    """A folio line."""

    id: str
    kind: str
    category: str
    description: str
    amount: int
    business_date: date
    tax_class: str
    tax_included: bool
    voids: str | None
    night: date | None

    @classmethod
    def of(cls, line: FolioLine) -> LineOut:
        return cls(
            id=line.id,
            kind=line.kind.value,
            category=line.category,
            description=line.description,
            amount=line.amount,
            business_date=line.business_date,
            tax_class=line.tax_class.value,
            tax_included=line.tax_included,
            voids=line.voids,
            night=line.night,
        )


class RateOut(BaseModel):
    """One tax rate's totals on an invoice."""

    tax_class: str
    rate: str
    gross: int
    tax: int
    net: int

    @classmethod
    def of(cls, r: RateSummary) -> RateOut:
        return cls(
            tax_class=r.tax_class.value, rate=str(r.rate), gross=r.gross, tax=r.tax, net=r.net
        )


class FolioOut(BaseModel):
    """A folio with its tax summary and balance."""

    id: str
    reservation_id: str
    status: str
    lines: list[LineOut]
    rates: list[RateOut]
    total: int
    paid: int
    balance: int
    unposted_room_charges: int
    settlement_due: int

    @classmethod
    def of(cls, v: FolioView) -> FolioOut:
        return cls(
            id=v.folio.id,
            reservation_id=v.folio.reservation_id,
            status=v.folio.status.value,
            lines=[LineOut.of(line) for line in v.folio.lines],
            rates=[RateOut.of(r) for r in v.invoice.rates],
            total=v.invoice.total,
            paid=v.paid,
            balance=v.balance,
            unposted_room_charges=v.unposted_room_charges,
            settlement_due=v.settlement_due,
        )


class StayOut(BaseModel):
    """A reservation with its folio and registry."""

    reservation: ReservationOut
    folio: FolioOut
    guests: list[dict[str, object]]

    @classmethod
    def of(cls, v: StayView) -> StayOut:
        return cls(
            reservation=ReservationOut.of(v.reservation),
            folio=FolioOut.of(v.folio),
            guests=[
                GuestIn.model_validate(g, from_attributes=True).model_dump() for g in v.registry
            ],
        )


class QuoteIn(In):
    """Ask what a stay would cost."""

    room_type_id: Id
    rate_plan_id: Id
    arrival: date
    departure: date
    adults: Annotated[int, Field(ge=1, le=20)] = 1


class QuoteLineOut(BaseModel):
    """A line of a fee quote."""

    kind: str
    night: date | None
    amount: int
    tax_class: str
    tax_included: bool
    description: str


class QuoteOut(BaseModel):
    """A fee quote with its lines, tax per rate and total."""

    lines: list[QuoteLineOut]
    rates: list[RateOut]
    total: int

    @classmethod
    def of(cls, q: StayQuote) -> QuoteOut:
        return cls(
            lines=[
                QuoteLineOut(
                    kind=line.kind.value,
                    night=line.night,
                    amount=line.amount,
                    tax_class=line.tax_class.value,
                    tax_included=line.tax_included,
                    description=line.description,
                )
                for line in q.lines
            ],
            rates=[RateOut.of(r) for r in q.invoice.rates],
            total=q.total,
        )
