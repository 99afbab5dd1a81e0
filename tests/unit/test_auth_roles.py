"""Roles and scopes: data the API and central's replay check share."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from yadori.auth import errors as e
from yadori.auth.roles import COMMAND_SCOPE, ONLINE_ONLY, Role, Scope, scopes_for
from yadori.auth.tokens import StaffClaims
from yadori.services.auth import needs
from yadori.services.commands import COMMANDS

NOW = datetime(2026, 12, 1, tzinfo=UTC)


def _claims(role: Role, *, offline: bool) -> StaffClaims:
    scopes = scopes_for(role, offline=offline)
    return StaffClaims("t", "s", "p", role, scopes, offline, "edge1", "k", NOW, NOW)


def test_every_command_has_a_scope() -> None:
    """Central refuses a pushed command it has no scope for: a new command needs its entry in
    ``auth/roles.py`` (COMMAND_SCOPE), and the roles that may issue it."""
    assert sorted(set(COMMANDS) - set(COMMAND_SCOPE) - {"record_login_attempt"}) == []


@pytest.mark.parametrize("role", list(Role))
def test_offline_tokens_never_carry_online_only_scopes(role: Role) -> None:
    """An offline token of any role lacks staff admin, PIN change, card payment, sign-up."""
    assert not scopes_for(role, offline=True) & ONLINE_ONLY
    assert Scope.READ in scopes_for(role, offline=True)


def test_online_only_is_told_apart_from_a_missing_role() -> None:
    """Offline, an admin asking for staff admin hears 'online only'; a housekeeper asking for a
    payment hears 'role forbidden'."""
    with pytest.raises(e.OnlineOnly):
        needs(_claims(Role.ADMIN, offline=True), Scope.STAFF_ADMIN)
    with pytest.raises(e.RoleForbidden):
        needs(_claims(Role.HOUSEKEEPING, offline=False), Scope.PAYMENT)
    needs(_claims(Role.ADMIN, offline=False), Scope.STAFF_ADMIN)
