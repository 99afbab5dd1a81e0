"""Handlers of the folio: charges, payments, adjustments, voids and nightly room charges."""

from __future__ import annotations

from yadori.domain.conflicts import ConflictKind
from yadori.domain.errors import InvalidInput
from yadori.domain.folio import (
    ChargeCategory,
    Folio,
    FolioLine,
    FolioStatus,
    LineKind,
    PaymentMethod,
)
from yadori.services.commands import (
    PostAdjustment,
    PostCharge,
    PostPayment,
    PostRoomCharges,
    VoidLine,
)
from yadori.services.context import Context
from yadori.services.ports import UnitOfWork
from yadori.services.room_charges import post_room_nights

POSTABLE = frozenset({ChargeCategory.ROOM_SERVICE, ChargeCategory.MINIBAR, ChargeCategory.MISC})
"""Charges staff post by hand; room, service charge and accommodation tax come from the stay."""


def post_charge(cmd: PostCharge, uow: UnitOfWork, ctx: Context) -> FolioLine:
    """Post a room-service, minibar or miscellaneous charge."""
    category = _category(cmd.category)
    line = FolioLine(
        id=cmd.line_id,
        kind=LineKind.CHARGE,
        category=category.value,
        description=cmd.description,
        amount=cmd.amount,
        business_date=ctx.business_date,
        tax_class=cmd.tax_class,
        tax_included=cmd.tax_included,
    )
    return _append(uow, ctx, cmd.folio_id, line)


def post_payment(cmd: PostPayment, uow: UnitOfWork, ctx: Context) -> FolioLine:
    """Record a payment, or a refund as a negative payment."""
    method = _method(cmd.method)
    line = FolioLine(
        id=cmd.line_id,
        kind=LineKind.PAYMENT,
        category=method.value,
        description=cmd.description or method.value,
        amount=cmd.amount,
        business_date=ctx.business_date,
    )
    return _append(uow, ctx, cmd.folio_id, line)


def post_adjustment(cmd: PostAdjustment, uow: UnitOfWork, ctx: Context) -> FolioLine:
    """Correct a folio by an amount, with the reason on the line."""
    if not cmd.reason.strip():
        raise InvalidInput("an adjustment needs a reason", field="reason")
    line = FolioLine(
        id=cmd.line_id,
        kind=LineKind.ADJUSTMENT,
        category=ChargeCategory.MISC.value,
        description=cmd.reason,
        amount=cmd.amount,
        business_date=ctx.business_date,
        tax_class=cmd.tax_class,
        tax_included=cmd.tax_included,
    )
    return _append(uow, ctx, cmd.folio_id, line)


def void_line(cmd: VoidLine, uow: UnitOfWork, ctx: Context) -> FolioLine:
    """Cancel a line by appending its void."""
    if not cmd.reason.strip():
        raise InvalidInput("a void needs a reason", field="reason")
    folio = uow.folios.get(cmd.folio_id, for_update=True)
    void = folio.void_of(cmd.line_id, cmd.void_line_id, ctx.business_date, cmd.reason)
    if ctx.replay and folio.is_voided(cmd.line_id):
        ctx.changed(already_voided=cmd.line_id)  # voided at two nodes: one void is enough
        return void
    return _append_to(uow, ctx, folio, void)


def post_room_charges(cmd: PostRoomCharges, uow: UnitOfWork, ctx: Context) -> list[FolioLine]:
    """Post room, service charge and accommodation tax for nights before ``through``."""
    reservation = uow.reservations.get(cmd.reservation_id, for_update=True)
    return post_room_nights(uow, ctx, reservation, cmd.through)


def _append(uow: UnitOfWork, ctx: Context, folio_id: str, line: FolioLine) -> FolioLine:
    # Charges, payments and adjustments need the folio's status, not its lines.
    return _append_to(uow, ctx, uow.folios.get(folio_id, for_update=True, lines=False), line)


def _append_to(uow: UnitOfWork, ctx: Context, folio: Folio, line: FolioLine) -> FolioLine:
    merging = ctx.replay and folio.status is FolioStatus.SETTLED
    folio.append(line, merging=merging)
    if merging:
        ctx.conflict(
            ConflictKind.POSTED_AFTER_SETTLEMENT,
            f"folio:{folio.id}",
            f"a {line.kind.value} of {line.amount} yen reached a folio already settled: "
            "collect or refund it",
            line=line.id,
            amount=str(line.amount),
        )
    uow.folios.append(folio.id, line, actor=ctx.actor.staff_id, at=ctx.at)
    return line


def _category(value: str) -> ChargeCategory:
    try:
        category = ChargeCategory(value)
    except ValueError:
        category = None
    if category not in POSTABLE:
        names = ", ".join(sorted(c.value for c in POSTABLE))
        raise InvalidInput(f"charge category must be one of {names}", field="category")
    return category


def _method(value: str) -> PaymentMethod:
    try:
        return PaymentMethod(value)
    except ValueError:
        names = ", ".join(m.value for m in PaymentMethod)
        raise InvalidInput(f"payment method must be one of {names}", field="method") from None
