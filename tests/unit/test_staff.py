"""Staff members: a code to log in with, a name, and a status that decides whether they may."""

from __future__ import annotations

import pytest

from yadori.domain.errors import InvalidInput
from yadori.domain.staff import Staff, StaffStatus


def _staff(**over: str) -> Staff:
    values = {"id": "s1", "code": "FD01", "name": "受付 花子", "role": "front_desk"}
    values["pin_hash"] = "$h"
    values.update(over)
    return Staff(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize("code", ["", "A" * 33, "FD 01", "' OR 1=1", "受付"])
def test_a_code_is_short_and_plain(code: str) -> None:
    """1–32 letters, digits, - or _: anything else is refused."""
    with pytest.raises(InvalidInput):
        _staff(code=code)


def test_a_name_is_required() -> None:
    """A blank name is refused."""
    with pytest.raises(InvalidInput):
        _staff(name="  ")


def test_status_and_pin_changes_keep_the_rest() -> None:
    """Disabling or re-hashing changes that field only; only an active member may log in."""
    member = _staff()
    assert member.active
    disabled = member.with_status(StaffStatus.DISABLED)
    assert not disabled.active
    assert disabled.code == member.code
    assert member.with_pin_hash("$new").pin_hash == "$new"
