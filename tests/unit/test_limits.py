"""Text limits hold on every node, so a command an edge accepts never fails at central."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from yadori.domain.accommodation_tax import Exemption
from yadori.domain.errors import FolioClosed, InvalidInput
from yadori.domain.folio import Folio, FolioLine, FolioStatus, LineKind, ManagerOverride
from yadori.domain.limits import NAME, TEXT, check_length, check_rate
from yadori.domain.money import Rounding
from yadori.domain.property import Property
from yadori.domain.registry import RegistryEntry, exemptions
from yadori.domain.rooms import Room, RoomType

TODAY = date(2026, 12, 1)


def test_check_length_names_the_field() -> None:
    """A text one character over its limit is refused, naming the field; at the limit it passes."""
    check_length("guest_name", "x" * NAME, NAME)
    with pytest.raises(InvalidInput, match="guest name is longer than 200") as raised:
        check_length("guest_name", "x" * (NAME + 1), NAME)
    assert raised.value.facts == {"field": "guest_name"}


@pytest.mark.parametrize(
    ("build", "field"),
    [
        (lambda: RoomType("t", "S" * 17, "標準", "Standard", 2), "code"),
        (lambda: RoomType("t", "STD", "標準", "Standard", 0), "max_occupancy"),
        (lambda: Room("r", "", "t", 1), "number"),
        (lambda: Room("r", "1" * 17, "t", 1), "number"),
        (lambda: Property("p", "", "宿", "Yado", TODAY), "code"),
        (lambda: Property("p", "TKY", "宿" * 201, "Yado", TODAY), "name_ja"),
        (
            lambda: Property("p", "TKY", "宿", "Yado", TODAY, service_charge_rate=Decimal(-1)),
            "service_charge_rate",
        ),
    ],
)
def test_records_refuse_bad_fields(build: object, field: str) -> None:
    """Rooms, room types and properties check their own fields."""
    with pytest.raises(InvalidInput) as raised:
        build()  # type: ignore[operator]
    assert raised.value.facts["field"] == field


def test_folio_line_description_and_override_reason_are_bounded() -> None:
    """A folio line's description and a manager's reason have limits too."""
    folio = Folio("f", "r")
    line = FolioLine("l", LineKind.CHARGE, "misc", "x" * (TEXT + 1), 100, TODAY)
    with pytest.raises(InvalidInput):
        folio.append(line)
    with pytest.raises(InvalidInput):
        folio.settle(Rounding.FLOOR, ManagerOverride("m", "x" * (TEXT + 1)))


def test_a_settled_folio_cannot_be_settled_again() -> None:
    """Settling twice is refused."""
    with pytest.raises(FolioClosed):
        Folio("f", "r", FolioStatus.SETTLED).settle(Rounding.FLOOR, None)


def test_exemptions_are_counted_from_the_registry() -> None:
    """Guests registered as on a school trip are counted, with the kind they claim."""
    plain = RegistryEntry("A", "Tokyo", "090")
    trip = RegistryEntry("B", "Tokyo", "090", exemption=Exemption.SCHOOL_TRIP)
    assert exemptions([plain, plain]) == (0, Exemption.NONE)
    assert exemptions([plain, trip, trip]) == (2, Exemption.SCHOOL_TRIP)


@pytest.mark.parametrize(
    ("rate", "says"),
    [
        (Decimal("1.5"), "between 0 and 1"),
        (Decimal("-0.01"), "between 0 and 1"),
        (Decimal("NaN"), "between 0 and 1"),
        (Decimal("Infinity"), "between 0 and 1"),
        (Decimal("0.1234567"), "at most 6 decimal places"),
        (Decimal("1E-100000"), "at most 6 decimal places"),
    ],
)
def test_a_rate_is_between_0_and_1_with_at_most_6_places(rate: Decimal, says: str) -> None:
    """A service-charge rate out of range, not a number, or finer than six places is refused,
    naming its field."""
    with pytest.raises(InvalidInput, match=says) as raised:
        check_rate("service_charge_rate", rate)
    assert raised.value.facts["field"] == "service_charge_rate"


@pytest.mark.parametrize("rate", ["0", "1", "0.1", "0.10125", "0.100000000", "0.000001"])
def test_rates_within_the_bounds_are_taken(rate: str) -> None:
    """Trailing zeros do not count as places."""
    check_rate("service_charge_rate", Decimal(rate))
