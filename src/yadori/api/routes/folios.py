"""Folios: view, post charges, payments and adjustments, void lines."""

from __future__ import annotations

from fastapi import APIRouter, status

from yadori.api.deps import AdjustActor, Bus, ChargeActor, PaymentActor, PropertyId
from yadori.api.folio_schemas import AdjustmentIn, ChargeIn, FolioOut, LineOut, PaymentIn, VoidIn
from yadori.domain.folio import FolioLine
from yadori.domain.ids import new_id
from yadori.services import queries
from yadori.services.commands import PostAdjustment, PostCharge, PostPayment, VoidLine

router = APIRouter(prefix="/api/v1/properties/{code}/folios/{folio_id}", tags=["folios"])


@router.get("")
async def get_folio(bus: Bus, pid: PropertyId, folio_id: str) -> FolioOut:
    """The folio's lines, tax per rate, balance, and what check-out today would require."""
    return FolioOut.of(bus.read(pid, lambda uow: queries.folio(uow, folio_id)))


@router.post("/charges", status_code=status.HTTP_201_CREATED)
async def post_charge(
    bus: Bus, pid: PropertyId, actor: ChargeActor, folio_id: str, body: ChargeIn
) -> LineOut:
    """Post a room-service, minibar or miscellaneous charge."""
    cmd = PostCharge(
        folio_id=folio_id,
        line_id=body.line_id or new_id(),
        category=body.category,
        description=body.description,
        amount=body.amount,
        tax_class=body.tax_class,
        tax_included=body.tax_included,
    )
    return LineOut.of(bus.execute(pid, cmd, actor).value(FolioLine))


@router.post("/payments", status_code=status.HTTP_201_CREATED)
async def post_payment(
    bus: Bus, pid: PropertyId, actor: PaymentActor, folio_id: str, body: PaymentIn
) -> LineOut:
    """Record a payment by cash or card (a negative amount is a refund)."""
    cmd = PostPayment(
        folio_id=folio_id,
        line_id=body.line_id or new_id(),
        method=body.method,
        amount=body.amount,
        description=body.description,
    )
    return LineOut.of(bus.execute(pid, cmd, actor).value(FolioLine))


@router.post("/adjustments", status_code=status.HTTP_201_CREATED)
async def post_adjustment(
    bus: Bus, pid: PropertyId, actor: AdjustActor, folio_id: str, body: AdjustmentIn
) -> LineOut:
    """Correct the folio by an amount, with a reason."""
    cmd = PostAdjustment(
        folio_id=folio_id,
        line_id=body.line_id or new_id(),
        amount=body.amount,
        reason=body.reason,
        tax_class=body.tax_class,
        tax_included=body.tax_included,
    )
    return LineOut.of(bus.execute(pid, cmd, actor).value(FolioLine))


@router.post("/lines/{line_id}/void", status_code=status.HTTP_201_CREATED)
async def void_line(
    bus: Bus, pid: PropertyId, actor: AdjustActor, folio_id: str, line_id: str, body: VoidIn
) -> LineOut:
    """Cancel a line by appending its void (lines are never edited)."""
    cmd = VoidLine(
        folio_id=folio_id,
        line_id=line_id,
        void_line_id=body.void_line_id or new_id(),
        reason=body.reason,
    )
    return LineOut.of(bus.execute(pid, cmd, actor).value(FolioLine))
