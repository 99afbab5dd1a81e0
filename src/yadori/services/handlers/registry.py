"""Which handler runs which command: exactly one each (a test checks none is missing)."""

from __future__ import annotations

from collections.abc import Callable

from yadori.services import commands as c
from yadori.services.context import Context
from yadori.services.handlers import (
    audit,
    folio,
    housekeeping,
    reservations,
    roomservice,
    setup,
    staff,
    stays,
    tickets,
)
from yadori.services.ports import UnitOfWork

Handler = Callable[[c.Command, UnitOfWork, Context], object]

HANDLERS: dict[type[c.Command], Handler] = {
    c.CreateProperty: setup.create_property,  # type: ignore[dict-item]
    c.CreateRoomType: setup.create_room_type,  # type: ignore[dict-item]
    c.CreateRoom: setup.create_room,  # type: ignore[dict-item]
    c.CreateRatePlan: setup.create_rate_plan,  # type: ignore[dict-item]
    c.CreateReservation: reservations.create_reservation,  # type: ignore[dict-item]
    c.CancelReservation: reservations.cancel_reservation,  # type: ignore[dict-item]
    c.MarkNoShow: reservations.mark_no_show,  # type: ignore[dict-item]
    c.AssignRoom: reservations.assign_room,  # type: ignore[dict-item]
    c.MoveRoom: reservations.move_room,  # type: ignore[dict-item]
    c.CheckIn: stays.check_in,  # type: ignore[dict-item]
    c.CheckOut: stays.check_out,  # type: ignore[dict-item]
    c.SetRoomCondition: housekeeping.set_room_condition,  # type: ignore[dict-item]
    c.SetRoomService: housekeeping.set_room_service,  # type: ignore[dict-item]
    c.PostCharge: folio.post_charge,  # type: ignore[dict-item]
    c.PostPayment: folio.post_payment,  # type: ignore[dict-item]
    c.PostAdjustment: folio.post_adjustment,  # type: ignore[dict-item]
    c.VoidLine: folio.void_line,  # type: ignore[dict-item]
    c.PostRoomCharges: folio.post_room_charges,  # type: ignore[dict-item]
    c.CloseBusinessDay: audit.close_business_day,  # type: ignore[dict-item]
    c.ResolveTicket: tickets.resolve_ticket,  # type: ignore[dict-item]
    c.SaveMenuCategory: roomservice.save_menu_category,  # type: ignore[dict-item]
    c.SaveMenuItem: roomservice.save_menu_item,  # type: ignore[dict-item]
    c.SetPricePolicy: roomservice.set_price_policy,  # type: ignore[dict-item]
    c.AdjustStock: roomservice.adjust_stock,  # type: ignore[dict-item]
    c.PlaceOrder: roomservice.place_order,  # type: ignore[dict-item]
    c.AdvanceOrder: roomservice.advance_order,  # type: ignore[dict-item]
    c.IssueGuestToken: roomservice.issue_guest_token,  # type: ignore[dict-item]
    c.CreateStaff: staff.create_staff,  # type: ignore[dict-item]
    c.SetStaffStatus: staff.set_staff_status,  # type: ignore[dict-item]
    c.ChangePin: staff.change_pin,  # type: ignore[dict-item]
    c.RecordLoginAttempt: staff.record_login_attempt,  # type: ignore[dict-item]
}
