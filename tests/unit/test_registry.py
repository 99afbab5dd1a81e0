"""The guest registry the Hotel Business Act requires: every field named when it is missing."""

from __future__ import annotations

from dataclasses import replace

import pytest

from yadori.domain.errors import InvalidInput, RegistryDataMissing
from yadori.domain.registry import MAX_FIELD_LENGTH, RegistryEntry, validate_registry

RESIDENT = RegistryEntry("佐藤 太郎", "東京都千代田区1-1", "090-0000-0000")
VISITOR = RegistryEntry(
    "Jane Doe",
    "12 High St, London",
    "jane@example.com",
    resident_in_japan=False,
    nationality="GB",
    passport_number="123456789",
    passport_copy_kept=True,
)


def test_complete_resident_and_visitor_pass() -> None:
    """A resident with name, address, contact and a visitor with passport data both pass."""
    validate_registry([RESIDENT, VISITOR], guests_expected=2)


def test_resident_needs_no_passport_data() -> None:
    """A guest with an address in Japan gives no nationality, passport or copy."""
    RESIDENT.validate(1)
    assert (RESIDENT.nationality, RESIDENT.passport_number) == ("", "")
    assert RESIDENT.passport_copy_kept is False


@pytest.mark.parametrize("field", ["name", "address", "contact"])
@pytest.mark.parametrize("entry", [RESIDENT, VISITOR], ids=["resident", "visitor"])
@pytest.mark.parametrize("blank", ["", "  \t"])
def test_every_guest_needs_name_address_contact(
    field: str, entry: RegistryEntry, blank: str
) -> None:
    """A blank name, address or contact is refused for anyone, naming field and guest."""
    with pytest.raises(RegistryDataMissing) as caught:
        replace(entry, **{field: blank}).validate(3)
    assert caught.value.facts == {"field": field, "guest": 3}
    assert str(caught.value).startswith("guest 3: ")


@pytest.mark.parametrize("field", ["nationality", "passport_number"])
def test_visitor_needs_nationality_and_passport_number(field: str) -> None:
    """A guest with no address in Japan must give nationality and passport number."""
    with pytest.raises(RegistryDataMissing, match=field.replace("_", " ")) as caught:
        replace(VISITOR, **{field: ""}).validate(1)
    assert caught.value.facts == {"field": field, "guest": 1}


def test_visitor_passport_copy_must_be_kept() -> None:
    """Without a kept passport copy, a foreign visitor cannot be registered."""
    with pytest.raises(RegistryDataMissing, match="copy of the passport") as caught:
        replace(VISITOR, passport_copy_kept=False).validate(2)
    assert caught.value.facts == {"field": "passport_copy_kept", "guest": 2}


def test_passport_data_checked_before_the_copy() -> None:
    """A missing passport number is reported before the missing copy."""
    entry = replace(VISITOR, passport_number="", passport_copy_kept=False)
    with pytest.raises(RegistryDataMissing) as caught:
        entry.validate(1)
    assert caught.value.facts["field"] == "passport_number"


@pytest.mark.parametrize("field", ["name", "address", "contact", "nationality", "passport_number"])
def test_field_longer_than_the_limit_is_invalid(field: str) -> None:
    """A field over the length limit is invalid input, not missing data."""
    with pytest.raises(InvalidInput, match=f"longer than {MAX_FIELD_LENGTH}") as caught:
        replace(VISITOR, **{field: "x" * (MAX_FIELD_LENGTH + 1)}).validate(1)
    assert not isinstance(caught.value, RegistryDataMissing)
    assert caught.value.facts == {"field": field, "guest": 1}


def test_field_exactly_at_the_limit_passes() -> None:
    """The limit itself is allowed."""
    replace(RESIDENT, address="x" * MAX_FIELD_LENGTH).validate(1)


@pytest.mark.parametrize(("entries", "expected"), [(0, 1), (1, 2), (2, 3)])
def test_fewer_entries_than_guests_is_refused(entries: int, expected: int) -> None:
    """Every guest of the stay must be registered."""
    with pytest.raises(RegistryDataMissing, match=f"{expected} guests stay") as caught:
        validate_registry([RESIDENT] * entries, guests_expected=expected)
    assert caught.value.facts == {"field": "guests", "expected": expected}


def test_more_entries_than_expected_guests_are_accepted() -> None:
    """Children not counted as adults may still be registered."""
    validate_registry([RESIDENT, RESIDENT, VISITOR], guests_expected=1)


def test_positions_count_from_one_in_entry_order() -> None:
    """The second guest's fault is reported as guest 2."""
    with pytest.raises(RegistryDataMissing) as caught:
        validate_registry([RESIDENT, replace(VISITOR, contact="")], guests_expected=2)
    assert caught.value.facts == {"field": "contact", "guest": 2}
