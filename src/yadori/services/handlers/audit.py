"""The core of the night audit: close the business day.

The full audit (reports, no-show sweep, the daily reconciliation) comes with R-OPS-5; this is
the part every other feature needs: each in-house stay is charged for the night being closed,
and the business date moves on.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from yadori.domain.errors import BusinessDayClosed
from yadori.domain.property import Property
from yadori.domain.reservations import ReservationStatus
from yadori.services.commands import CloseBusinessDay
from yadori.services.context import Context
from yadori.services.ports import UnitOfWork
from yadori.services.room_charges import post_room_nights


def close_business_day(cmd: CloseBusinessDay, uow: UnitOfWork, ctx: Context) -> Property:
    """Charge tonight's in-house stays, then advance the business date by one day.

    The stays charged are resolved at the issuing node, so central, replaying the close, charges
    the same stays (and the close depends on each stay's latest change).
    """
    prop = uow.properties.get()
    if cmd.business_date != prop.business_date and not ctx.replay:
        raise BusinessDayClosed(
            f"the business date is {prop.business_date}, not {cmd.business_date}: "
            "that day is already closed",
            business_date=prop.business_date.isoformat(),
        )
    stays = cmd.reservations
    if stays is None:
        found = uow.reservations.find(
            in_house_on=cmd.business_date, statuses=[ReservationStatus.CHECKED_IN]
        )
        stays = tuple(r.id for r in found)
    ctx.resolve(reservations=stays)
    night_after = cmd.business_date + timedelta(days=1)
    for reservation_id in stays:
        ctx.depends_on(f"reservation:{reservation_id}")
        post_room_nights(uow, ctx, uow.reservations.get(reservation_id), night_after)
    if prop.business_date >= night_after:  # a replay of a day central already closed
        return prop
    advanced = replace(prop, business_date=night_after)
    uow.properties.save(advanced)
    return advanced
