"""Read models: what staff screens and the API show, computed from the repositories.

Reads never write and never append to the outbox; the bus runs them in read-only units of work.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from yadori.domain.errors import InvalidInput
from yadori.domain.fees import StayQuote, quote_stay, taxable_amounts
from yadori.domain.folio import ChargeCategory, Folio
from yadori.domain.money import Yen
from yadori.domain.registry import RegistryEntry
from yadori.domain.reservations import (
    NightPrice,
    Reservation,
    ReservationStatus,
    charged_until,
    stay_nights,
)
from yadori.domain.rooms import Room
from yadori.domain.taxes import InvoiceTax, invoice_tax
from yadori.services.handlers.reservations import free_by_night
from yadori.services.ports import UnitOfWork
from yadori.services.room_charges import fee_policy, stay_of

MAX_RANGE_DAYS = 366


@dataclass(frozen=True, slots=True)
class FolioView:
    """A folio as the desk sees it: lines, tax summary, balance, and what check-out will add.

    ``settlement_due`` is what the guest must pay to check out today: the balance with the
    room nights check-out would post, taxed together as one invoice.
    """

    folio: Folio
    invoice: InvoiceTax
    paid: Yen
    balance: Yen
    unposted_room_charges: Yen
    settlement_due: Yen


@dataclass(frozen=True, slots=True)
class StayView:
    """A reservation with its folio summary and guest registry."""

    reservation: Reservation
    folio: FolioView
    registry: list[RegistryEntry]


def rooms(uow: UnitOfWork) -> list[Room]:
    """Every room with its status."""
    return uow.rooms.list()


def availability(uow: UnitOfWork, start: date, end: date) -> dict[str, dict[date, int]]:
    """Rooms left to sell per room type code and night, from ``start`` up to ``end``."""
    nights = _range(start, end)
    return {t.code: free_by_night(uow, t.id, nights) for t in uow.room_types.list()}


def reservations(
    uow: UnitOfWork,
    *,
    arrival: date | None = None,
    departure: date | None = None,
    in_house_on: date | None = None,
    statuses: Iterable[ReservationStatus] | None = None,
) -> list[Reservation]:
    """Reservations matching every filter given."""
    return uow.reservations.find(
        arrival=arrival, departure=departure, in_house_on=in_house_on, statuses=statuses
    )


def stay(uow: UnitOfWork, reservation_id: str) -> StayView:
    """One reservation with its folio and registry."""
    reservation = uow.reservations.get(reservation_id)
    folio = uow.folios.for_reservation(reservation_id)
    return StayView(reservation, folio_view(uow, folio), uow.reservations.registry(reservation_id))


def folio(uow: UnitOfWork, folio_id: str) -> FolioView:
    """One folio as the desk sees it."""
    return folio_view(uow, uow.folios.get(folio_id))


def folio_view(uow: UnitOfWork, folio: Folio) -> FolioView:
    """Summarise a folio, including the room nights check-out would still post."""
    rounding = uow.properties.get().tax_rounding
    paid = folio.paid()
    invoice = folio.invoice(rounding)
    unposted = _unposted_quote(uow, folio)
    if unposted is None:
        return FolioView(folio, invoice, paid, invoice.total - paid, 0, invoice.total - paid)
    combined = invoice_tax([*folio.taxables(), *taxable_amounts(unposted)], rounding)
    return FolioView(
        folio, invoice, paid, invoice.total - paid, unposted.total, combined.total - paid
    )


def _unposted_quote(uow: UnitOfWork, folio: Folio) -> StayQuote | None:
    reservation = uow.reservations.get(folio.reservation_id)
    if reservation.status not in (ReservationStatus.BOOKED, ReservationStatus.CHECKED_IN):
        return None
    prop = uow.properties.get()
    through = charged_until(reservation, prop.business_date)
    posted = folio.posted_nights(ChargeCategory.ROOM)
    nights = [n for n in reservation.night_dates if n < through and n not in posted]
    if not nights:
        return None
    registry = uow.reservations.registry(reservation.id)
    return quote_stay(stay_of(prop, reservation, nights, registry), fee_policy(prop))


def quote(
    uow: UnitOfWork,
    *,
    room_type_id: str,
    rate_plan_id: str,
    arrival: date,
    departure: date,
    adults: int,
) -> StayQuote:
    """What a stay would cost at today's rates, with every fee and tax."""
    plan = uow.rate_plans.get(rate_plan_id)
    uow.room_types.get(room_type_id)
    nights = _range(arrival, departure)
    prices = tuple(NightPrice(n, plan.price(room_type_id, n), plan.tax_included) for n in nights)
    draft = Reservation(
        id="quote",
        number="quote",
        guest_name="quote",
        arrival=arrival,
        departure=departure,
        adults=adults,
        room_type_id=room_type_id,
        rate_plan_id=rate_plan_id,
        nights=prices,
    )
    prop = uow.properties.get()
    return quote_stay(stay_of(prop, draft, nights), fee_policy(prop))


def _range(start: date, end: date) -> list[date]:
    if end <= start:
        raise InvalidInput("the end date must be after the start date", field="to")
    if (end - start).days > MAX_RANGE_DAYS:
        raise InvalidInput(f"ask for at most {MAX_RANGE_DAYS} days at once", field="to")
    return stay_nights(start, end)
