"""Conflict rules by kind (DESIGN §5): registers, lifecycle order, tickets, merge helpers."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from yadori.domain.conflicts import (
    LIFECYCLE_RANK,
    SYSTEM_PRIORITY,
    ConflictKind,
    ConflictTicket,
    RegisterStamp,
    TicketStatus,
    lifecycle_merge,
    register_write_wins,
)
from yadori.domain.errors import FolioClosed, InvalidInput, RuleViolation
from yadori.domain.folio import Folio, FolioLine, FolioStatus, LineKind
from yadori.domain.reservations import NightPrice, Reservation, ReservationStatus
from yadori.domain.rooms import Condition, Occupancy, Room

NOW = datetime(2026, 12, 1, tzinfo=UTC)
EDGE = RegisterStamp(SYSTEM_PRIORITY["edge"], "000000000000100-000000-e1", "e1")
CENTRAL = RegisterStamp(SYSTEM_PRIORITY["central"], "000000000000050-000000-central", "central")

stamps = st.builds(
    RegisterStamp,
    st.sampled_from(sorted(SYSTEM_PRIORITY.values())),
    st.integers(0, 10**6).map(lambda n: f"{n:015d}-000000-x"),
    st.sampled_from(["e1", "e2", "central"]),
)


def test_a_write_based_on_the_current_state_always_applies() -> None:
    """No conflict: the write saw the latest state (same version, same last write)."""
    assert register_write_wins((3, CENTRAL), (3, CENTRAL.hlc), EDGE)
    assert register_write_wins((3, CENTRAL), (3, None), EDGE)
    assert register_write_wins((3, CENTRAL), (None, None), EDGE)


def test_the_same_version_number_from_another_history_is_not_current() -> None:
    """An edge's own unsynced change makes its version 2 a different state than central's 2."""
    assert not register_write_wins((2, CENTRAL), (2, EDGE.hlc), EDGE)


def test_a_stale_write_loses_to_higher_system_priority_even_if_later() -> None:
    """Central outranks the edge whatever the clocks say; then HLC, then node id decide."""
    assert not register_write_wins((4, CENTRAL), (3, None), EDGE)
    assert register_write_wins((4, EDGE), (3, None), CENTRAL)
    later = RegisterStamp(EDGE.priority, "000000000000200-000000-e2", "e2")
    assert register_write_wins((4, EDGE), (3, None), later)
    same_hlc_higher_node = RegisterStamp(EDGE.priority, EDGE.hlc, "e9")
    assert register_write_wins((4, EDGE), (3, None), same_hlc_higher_node)


@given(stamps, stamps)
def test_exactly_one_of_two_concurrent_stale_writes_wins(
    a: RegisterStamp, b: RegisterStamp
) -> None:
    """Two writes based on the same old version: the rule picks one, the same on every node."""
    if a == b:
        return
    assert register_write_wins((2, a), (1, None), b) != register_write_wins((2, b), (1, None), a)


def test_lifecycle_merge_keeps_the_later_state() -> None:
    """Checked out beats checked in beats cancelled beats booked, never by clock."""
    s = ReservationStatus
    assert lifecycle_merge(s.CHECKED_IN, s.CHECKED_OUT) is s.CHECKED_OUT
    assert lifecycle_merge(s.CHECKED_OUT, s.CHECKED_IN) is s.CHECKED_OUT
    assert lifecycle_merge(s.CANCELLED, s.CHECKED_IN) is s.CHECKED_IN
    assert lifecycle_merge(s.BOOKED, s.CANCELLED) is s.CANCELLED
    assert set(LIFECYCLE_RANK) == set(ReservationStatus)


@given(st.sampled_from(list(ReservationStatus)), st.sampled_from(list(ReservationStatus)))
def test_lifecycle_merge_is_commutative_in_rank(a: ReservationStatus, b: ReservationStatus) -> None:
    """Merging in either order reaches a state of the same rank."""
    assert LIFECYCLE_RANK[lifecycle_merge(a, b)] == LIFECYCLE_RANK[lifecycle_merge(b, a)]


def test_tickets_resolve_once_with_a_resolution() -> None:
    """A ticket needs a resolution, records who resolved it, and cannot be resolved twice."""
    ticket = ConflictTicket("t1", ConflictKind.ROOM_DOUBLE_BOOKED, "room:r", "two stays", {}, NOW)
    with pytest.raises(InvalidInput):
        ticket.resolve("  ", "mgr")
    done = ticket.resolve("moved the walk-in to 305", "mgr")
    assert (done.status, done.resolved_by) == (TicketStatus.RESOLVED, "mgr")
    with pytest.raises(RuleViolation):
        done.resolve("again", "mgr")


def test_merge_helpers_of_rooms_reservations_and_folios() -> None:
    """What a merge forces: an occupied room, a vacated one, a status, a line on a settled folio."""
    room = Room("r", "101", "t", 1, condition=Condition.DIRTY)
    occupied = room.forced_occupied().stamped(EDGE)
    assert (occupied.occupancy, occupied.stamp, occupied.version) == (Occupancy.OCCUPIED, EDGE, 2)
    assert occupied.vacated().status_code == "VD"
    stay = Reservation(
        "x",
        "E1-1",
        "Sato",
        date(2026, 12, 1),
        date(2026, 12, 2),
        1,
        "t",
        "p",
        (NightPrice(date(2026, 12, 1), 10_000, True),),
        ReservationStatus.CANCELLED,
    )
    assert stay.forced(ReservationStatus.CHECKED_IN).status is ReservationStatus.CHECKED_IN
    settled = Folio("f", "x", FolioStatus.SETTLED)
    line = FolioLine("l1", LineKind.CHARGE, "misc", "late charge", 500, date(2026, 12, 1))
    with pytest.raises(FolioClosed):
        settled.append(line)
    merged = settled.append(line, merging=True)
    assert merged.balance() == 500
    assert Folio("f", "x", lines=(line,)).settled_anyway().status is FolioStatus.SETTLED
    assert not merged.is_voided("l1")
    voided = merged.append(merged.void_of("l1", "v1", date(2026, 12, 1), "comp"), merging=True)
    assert voided.is_voided("l1")
