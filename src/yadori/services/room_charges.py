"""Posting a stay's room nights to its folio: room, service charge and accommodation tax.

The amounts come from the fee quote (``yadori.domain.fees``), night by night, so the folio and
a quote at booking time always agree. Line ids are derived from the reservation, the night and
the line, so posting a night twice is noticed and re-running the command anywhere makes the
same lines.
"""

from __future__ import annotations

from datetime import date

from yadori.domain.conflicts import ConflictKind
from yadori.domain.fees import FeeKind, FeeLine, FeePolicy, NightPrice, Stay, quote_stay
from yadori.domain.folio import ChargeCategory, FolioLine, FolioStatus, LineKind
from yadori.domain.ids import derived_id
from yadori.domain.property import Property
from yadori.domain.registry import RegistryEntry, exemptions
from yadori.domain.reservations import Reservation
from yadori.services.context import Context
from yadori.services.ports import UnitOfWork

_CATEGORY = {
    FeeKind.ROOM: ChargeCategory.ROOM,
    FeeKind.MEAL: ChargeCategory.ROOM,
    FeeKind.SERVICE_CHARGE: ChargeCategory.SERVICE_CHARGE,
    FeeKind.ACCOMMODATION_TAX: ChargeCategory.ACCOMMODATION_TAX,
    FeeKind.EXTRA: ChargeCategory.MISC,
}

_DESCRIPTION = {
    FeeKind.ROOM: "室料 Room",
    FeeKind.MEAL: "食事 Meals",
    FeeKind.SERVICE_CHARGE: "サービス料 Service charge",
    FeeKind.ACCOMMODATION_TAX: "宿泊税 Accommodation tax",
    FeeKind.EXTRA: "その他 Other",
}


def fee_policy(prop: Property) -> FeePolicy:
    """The property's fee policy, as the fee quote takes it."""
    return FeePolicy(prop.service_charge_rate, prop.service_charge_rounding, prop.tax_rounding)


def stay_of(
    prop: Property,
    reservation: Reservation,
    nights: list[date],
    registry: list[RegistryEntry] | None = None,
) -> Stay:
    """The fee-quote view of some nights of a reservation; exemptions come from the registry."""
    wanted = set(nights)
    prices = tuple(
        NightPrice(n.night, n.amount, n.tax_included)
        for n in reservation.nights
        if n.night in wanted
    )
    entries = registry or []
    exempt, exemption = exemptions(entries)
    return Stay(
        municipality=prop.municipality,
        nights=prices,
        guests=max(reservation.adults, len(entries)),
        exempt_guests=exempt,
        exemption=exemption,
    )


def post_room_nights(
    uow: UnitOfWork, ctx: Context, reservation: Reservation, through: date
) -> list[FolioLine]:
    """Post every night before ``through`` that the folio does not carry yet."""
    prop = uow.properties.get()
    folio = uow.folios.for_reservation(reservation.id, for_update=True)  # lines go on it
    posted = folio.posted_nights(ChargeCategory.ROOM)
    nights = [n for n in reservation.night_dates if n < through and n not in posted]
    if not nights:
        return []
    registry = uow.reservations.registry(reservation.id)
    quote = quote_stay(stay_of(prop, reservation, nights, registry), fee_policy(prop))
    lines = [
        _folio_line(reservation.id, line, ctx.business_date) for line in quote.lines if line.amount
    ]
    merging = ctx.replay and folio.status is FolioStatus.SETTLED
    for line in lines:
        folio = folio.append(line, merging=merging)
        uow.folios.append(folio.id, line, actor=ctx.actor.staff_id, at=ctx.at)
    if merging and lines:  # made where the stay was still in house: kept, and staff told
        total = sum(line.amount for line in lines)
        ctx.conflict(
            ConflictKind.POSTED_AFTER_SETTLEMENT,
            f"folio:{folio.id}",
            f"{len(nights)} room night(s) of {total} yen in all reached a folio already "
            "settled: collect or refund them",
            lines=" ".join(line.id for line in lines),
            amount=str(total),
            nights=" ".join(night.isoformat() for night in nights),
        )
    return lines


def _folio_line(reservation_id: str, line: FeeLine, business_date: date) -> FolioLine:
    night = line.night or business_date
    label = f"{night.isoformat()}/{line.kind.value}/{line.description}"
    detail = f" ({line.description})" if line.description else ""
    return FolioLine(
        id=derived_id(reservation_id, label),
        kind=LineKind.CHARGE,
        category=_CATEGORY[line.kind].value,
        description=_DESCRIPTION[line.kind] + detail,
        amount=line.amount,
        business_date=business_date,
        tax_class=line.tax_class,
        tax_included=line.tax_included,
        night=line.night,
    )
