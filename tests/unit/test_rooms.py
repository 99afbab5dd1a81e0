"""Rooms: the status codes staff read, and the housekeeping moves each status allows."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from yadori.domain.conflicts import UNSTAMPED, Register, RegisterStamp
from yadori.domain.errors import DomainError, InvalidInput, InvalidRoomTransition, RoomNotReady
from yadori.domain.rooms import Condition, Occupancy, Room, RoomType, Service

VAC, OCC = Occupancy.VACANT, Occupancy.OCCUPIED
DIRTY, CLEAN, INSP = Condition.DIRTY, Condition.CLEAN, Condition.INSPECTED
IN, OOS, OOO = Service.IN_SERVICE, Service.OUT_OF_SERVICE, Service.OUT_OF_ORDER

IN_SERVICE_CODES = {
    (VAC, CLEAN): "VC",
    (VAC, DIRTY): "VD",
    (VAC, INSP): "VI",
    (OCC, CLEAN): "OC",
    (OCC, DIRTY): "OD",
    (OCC, INSP): "OI",
}


def room(
    occupancy: Occupancy = VAC,
    condition: Condition = CLEAN,
    service: Service = IN,
    reason: str = "",
) -> Room:
    """Room 101 in the given status."""
    return Room("r-101", "101", "rt-std", 1, occupancy, condition, service, reason)


@pytest.mark.parametrize(("status", "code"), list(IN_SERVICE_CODES.items()))
def test_in_service_code_is_occupancy_then_condition(
    status: tuple[Occupancy, Condition], code: str
) -> None:
    """An in-service room reads as its occupancy letter then its condition letter."""
    assert room(*status).status_code == code


@pytest.mark.parametrize(
    ("occupancy", "condition", "service"),
    list(itertools.product(Occupancy, Condition, [OOS, OOO])),
)
def test_oos_and_ooo_win_over_every_other_status(
    occupancy: Occupancy, condition: Condition, service: Service
) -> None:
    """While a room is out of service or order, that is all its code says."""
    expected = "OOS" if service is OOS else "OOO"
    assert room(occupancy, condition, service, "leak").status_code == expected


def test_new_room_is_vacant_clean_in_service_version_one() -> None:
    """A room starts vacant and clean, in service, at version 1."""
    fresh = Room("r-1", "101", "rt-std", 1)
    assert (fresh.status_code, fresh.version, fresh.service_reason) == ("VC", 1, "")


def test_room_type_keeps_its_fields() -> None:
    """A room type is a plain record of what is sold."""
    std = RoomType("rt-std", "STD", "スタンダード", "Standard", 2)
    assert (std.code, std.max_occupancy) == ("STD", 2)


@pytest.mark.parametrize(("service", "sellable"), [(IN, True), (OOS, True), (OOO, False)])
def test_only_out_of_order_leaves_the_inventory(service: Service, sellable: bool) -> None:
    """OOS is a short break that still counts in inventory; OOO takes the room out."""
    assert room(service=service, reason="x").sellable is sellable


@pytest.mark.parametrize("condition", [CLEAN, INSP])
def test_check_in_takes_a_clean_or_inspected_vacant_room(condition: Condition) -> None:
    """Checking in occupies the room, keeps its condition and bumps the version."""
    taken = room(VAC, condition).check_in()
    assert taken.occupancy is OCC
    assert taken.condition is condition
    assert taken.version == 2


@pytest.mark.parametrize(
    ("before", "words"),
    [
        (room(OCC, CLEAN), "occupied"),
        (room(VAC, DIRTY), "dirty"),
        (room(VAC, CLEAN, OOS, "paint"), "OOS"),
        (room(VAC, CLEAN, OOO, "flood"), "OOO"),
    ],
)
def test_check_in_refused_when_room_not_ready(before: Room, words: str) -> None:
    """Occupied, dirty, OOS and OOO rooms cannot take a guest, and the message says why."""
    with pytest.raises(RoomNotReady, match=words) as caught:
        before.check_in()
    assert caught.value.facts == {"room": "101"}


def test_check_out_leaves_the_room_vacant_dirty() -> None:
    """After check-out the room reads VD, whatever its condition was."""
    left = room(OCC, INSP).check_out()
    assert left.status_code == "VD"
    assert left.version == 2


def test_check_out_of_a_vacant_room_is_refused() -> None:
    """A vacant room has nobody to check out."""
    with pytest.raises(InvalidRoomTransition, match="already vacant"):
        room(VAC).check_out()


@pytest.mark.parametrize(
    ("before", "after", "code"),
    [
        (DIRTY, CLEAN, "VC"),
        (CLEAN, INSP, "VI"),
        (INSP, INSP, "VI"),
        (INSP, DIRTY, "VD"),
        (CLEAN, DIRTY, "VD"),
        (INSP, CLEAN, "VC"),
    ],
)
def test_housekeeping_sets_the_condition(before: Condition, after: Condition, code: str) -> None:
    """Housekeeping can report any condition that does not skip the cleaning."""
    changed = room(VAC, before).set_condition(after)
    assert changed.status_code == code
    assert changed.version == 2


def test_inspected_requires_clean_first() -> None:
    """A dirty room cannot be inspected before it is cleaned."""
    with pytest.raises(InvalidRoomTransition, match="cleaned before"):
        room(VAC, DIRTY).set_condition(INSP)


def test_housekeeping_can_mark_an_occupied_room_dirty() -> None:
    """Daily service of an in-house guest's room moves OC to OD and back."""
    assert room(OCC, CLEAN).set_condition(DIRTY).set_condition(CLEAN).status_code == "OC"


@pytest.mark.parametrize("service", [OOS, OOO])
@pytest.mark.parametrize("reason", ["", "   "])
def test_taking_a_room_out_needs_a_reason(service: Service, reason: str) -> None:
    """OOS and OOO without a reason are refused, naming the reason field."""
    with pytest.raises(InvalidInput) as caught:
        room().set_service(service, reason)
    assert caught.value.facts == {"field": "reason"}


@pytest.mark.parametrize(("service", "code"), [(OOS, "OOS"), (OOO, "OOO")])
def test_taking_a_room_out_keeps_the_trimmed_reason(service: Service, code: str) -> None:
    """The reason is kept without surrounding blanks and the code changes."""
    out = room().set_service(service, "  broken AC ")
    assert (out.status_code, out.service_reason, out.version) == (code, "broken AC", 2)


def test_out_of_order_refused_while_occupied() -> None:
    """The guest must be moved before the room is taken out of order."""
    with pytest.raises(InvalidRoomTransition, match="move the guest"):
        room(OCC).set_service(OOO, "flood")


def test_out_of_service_allowed_while_occupied() -> None:
    """A short OOS (a repair visit) can happen while the guest stays."""
    assert room(OCC).set_service(OOS, "light bulb").status_code == "OOS"


def test_return_to_service_needs_no_reason_and_clears_it() -> None:
    """Back in service, the room reads its old code and the reason is gone."""
    back = room(VAC, DIRTY, OOO, "flood").set_service(IN)
    assert (back.status_code, back.service_reason) == ("VD", "")


def test_version_grows_with_every_change() -> None:
    """Each housekeeping change is one more version, for optimistic locking."""
    r = room(VAC, DIRTY).set_condition(CLEAN).set_condition(INSP).check_in().check_out()
    r = r.set_service(OOS, "paint").set_service(IN)
    assert r.version == 7


# --- condition and service: registers of their own (decision 0067) ---------------------------

DESK = RegisterStamp(20, "000000000000100-000000-e1", "e1")
OFFICE = RegisterStamp(30, "000000000000200-000000-central", "central")


def test_each_register_counts_only_the_writes_of_its_own_field() -> None:
    """Check-in writes neither register; check-out and cleaning write the condition; a service
    change the service: each register is stamped by its own last writer."""
    r = room().check_in().stamped(DESK)
    assert (r.condition_register, r.service_register) == (Register(), Register())
    r = r.check_out().stamped(DESK).set_service(OOS, "paint").stamped(OFFICE)
    assert r.condition_register == Register(2, DESK)
    assert r.service_register == Register(2, OFFICE)
    assert (r.version, r.stamp) == (4, OFFICE)


def test_a_register_written_is_unstamped_until_stamped() -> None:
    """The repository refuses a room with an unstamped register: nothing could merge it."""
    written = room(VAC, DIRTY).set_condition(CLEAN)
    assert written.unstamped
    assert written.condition_register.stamp == UNSTAMPED
    assert not written.stamped(DESK).unstamped
    assert not room().unstamped


def test_merged_writes_touch_only_their_own_register() -> None:
    """A won merge of one field keeps the other field and its register as they were."""
    r = room(VAC, DIRTY, OOO, "flood")
    cleaned = r.merged_condition(CLEAN).stamped(DESK)
    assert (cleaned.condition, cleaned.service, cleaned.service_reason) == (CLEAN, OOO, "flood")
    assert (cleaned.condition_register, cleaned.service_register) == (Register(2, DESK), Register())
    back = r.merged_service(IN, "").stamped(OFFICE)
    assert (back.condition, back.service) == (DIRTY, IN)
    assert (back.condition_register, back.service_register) == (Register(), Register(2, OFFICE))


_WRITES = {
    "check_in": (lambda r: r.check_in(), ()),
    "check_out": (lambda r: r.check_out(), ("condition",)),
    "dirty": (lambda r: r.set_condition(DIRTY), ("condition",)),
    "clean": (lambda r: r.set_condition(CLEAN), ("condition",)),
    "inspected": (lambda r: r.set_condition(INSP), ("condition",)),
    "oos": (lambda r: r.set_service(OOS, "paint"), ("service",)),
    "in_service": (lambda r: r.set_service(IN), ("service",)),
    "vacated": (lambda r: r.vacated(), ("condition",)),
    "forced_occupied": (lambda r: r.forced_occupied(), ()),
    "merged_condition": (lambda r: r.merged_condition(CLEAN), ("condition",)),
    "merged_service": (lambda r: r.merged_service(OOO, "flood"), ("service",)),
}


@given(st.lists(st.sampled_from(sorted(_WRITES)), max_size=30))
def test_a_register_is_the_count_and_last_writer_of_its_own_field(names: list[str]) -> None:
    """Over any run of writes (those a room refuses skipped), each register's version is one
    more than the writes of its field, and its stamp that of the last of them."""
    r = room()
    expected = {"condition": Register(), "service": Register()}
    done = 0
    for n, name in enumerate(names):
        write, axes = _WRITES[name]
        try:
            changed = write(r)
        except DomainError:
            continue
        stamp = RegisterStamp(20, f"{n:015d}-000000-e1", "e1")
        r, done = changed.stamped(stamp), done + 1
        for axis in axes:
            expected[axis] = Register(expected[axis].version + 1, stamp)
    assert (r.condition_register, r.service_register) == (
        expected["condition"],
        expected["service"],
    )
    assert r.version == 1 + done
