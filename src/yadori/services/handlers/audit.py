"""The core of the night audit: close the business day.

The full audit (reports, no-show sweep, the daily reconciliation) comes with R-OPS-5; this is
the part every other feature needs: each in-house stay is charged for the night being closed,
and the business date moves on.
"""

from __future__ import annotations

from datetime import timedelta

from yadori.domain.errors import BusinessDayClosed
from yadori.domain.property import Property
from yadori.domain.reservations import ReservationStatus
from yadori.services.commands import CloseBusinessDay
from yadori.services.context import Context
from yadori.services.ports import UnitOfWork
from yadori.services.room_charges import post_room_nights


def close_business_day(cmd: CloseBusinessDay, uow: UnitOfWork, ctx: Context) -> Property:
    """Charge tonight's in-house stays, then advance the business date by one day."""
    prop = uow.properties.get()
    if cmd.business_date != prop.business_date:
        raise BusinessDayClosed(
            f"the business date is {prop.business_date}, not {cmd.business_date}: "
            "that day is already closed",
            business_date=prop.business_date.isoformat(),
        )
    in_house = uow.reservations.find(
        in_house_on=prop.business_date, statuses=[ReservationStatus.CHECKED_IN]
    )
    for reservation in in_house:
        post_room_nights(uow, ctx, reservation, prop.business_date + timedelta(days=1))
    advanced = prop.advance_business_date()
    uow.properties.save(advanced)
    return advanced
