"""Staff of one property, their lockout state, login attempts and issued tokens (sessions)."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from yadori.domain.errors import UnknownStaff
from yadori.domain.staff import LoginOutcome, Session, Staff, StaffStatus
from yadori.storage.tables import login_attempts, staff, staff_lockouts, staff_sessions


class SqlStaff:
    """Staff rows of one property; changes mark the ``staff:<id>`` aggregate touched."""

    def __init__(self, conn: sa.Connection, property_id: str, touched: set[str]) -> None:
        self._conn = conn
        self._property_id = property_id
        self._touched = touched
        # A session never changes once written: central checks the actor of every replayed
        # mutation, mostly under the same few tokens, so each is read once per transaction.
        self._sessions: dict[str, Session | None] = {}

    def forget(self) -> None:
        """Drop what was read (a savepoint was rolled back)."""
        self._sessions.clear()

    def get(self, staff_id: str) -> Staff:
        """One staff member; UnknownStaff when not at this property."""
        found = self._one(staff.c.id == staff_id)
        if found is None:
            raise UnknownStaff(f"no staff member {staff_id}", staff=staff_id)
        return found

    def find(self, staff_id: str) -> Staff | None:
        """One staff member, or None."""
        return self._one(staff.c.id == staff_id)

    def by_code(self, code: str) -> Staff | None:
        """The staff member with that login code, or None."""
        return self._one(staff.c.code == code)

    def all(self) -> list[Staff]:
        """Every staff member of the property, by code."""
        query = sa.select(staff).where(staff.c.property_id == self._property_id)
        return [_staff(r) for r in self._conn.execute(query.order_by(staff.c.code))]

    def add(self, member: Staff) -> None:
        """A new staff member."""
        self._touched.add(f"staff:{member.id}")
        self._conn.execute(sa.insert(staff).values(_values(member, self._property_id)))

    def save(self, member: Staff) -> None:
        """Store a changed staff member."""
        self._touched.add(f"staff:{member.id}")
        values = _values(member, self._property_id)
        self._conn.execute(sa.update(staff).where(staff.c.id == member.id).values(values))

    def lock_state(self, staff_id: str) -> tuple[int, datetime | None]:
        """Consecutive failures and the end of a lock (0, None when never failed)."""
        row = self._conn.execute(
            sa.select(staff_lockouts).where(staff_lockouts.c.staff_id == staff_id)
        ).first()
        return (0, None) if row is None else (row.failures, row.locked_until)

    def set_lock_state(self, staff_id: str, failures: int, locked_until: datetime | None) -> None:
        """Store the lockout state of a staff member."""
        self._touched.add(f"staff:{staff_id}")
        self._conn.execute(sa.delete(staff_lockouts).where(staff_lockouts.c.staff_id == staff_id))
        self._conn.execute(
            sa.insert(staff_lockouts).values(
                staff_id=staff_id, failures=failures, locked_until=locked_until
            )
        )

    def record_attempt(  # noqa: PLR0917 - one row of the audit log
        self,
        attempt_id: str,
        staff_id: str | None,
        staff_code: str,
        outcome: LoginOutcome,
        at: datetime,
        node: str,
        offline: bool,
        token_id: str | None,
    ) -> None:
        """Append one login attempt to the audit log."""
        self._conn.execute(
            sa.insert(login_attempts).values(
                id=attempt_id,
                property_id=self._property_id,
                staff_id=staff_id,
                staff_code=staff_code[:32],
                outcome=outcome.value,
                at=at,
                node=node,
                offline=offline,
                token_id=token_id,
            )
        )

    def attempts(self, limit: int = 100) -> list[dict[str, object]]:
        """The newest login attempts, newest first."""
        query = (
            sa.select(login_attempts)
            .where(login_attempts.c.property_id == self._property_id)
            .order_by(login_attempts.c.at.desc(), login_attempts.c.id.desc())
            .limit(limit)
        )
        return [dict(r._mapping) for r in self._conn.execute(query)]

    def session(self, token_id: str) -> Session | None:
        """The session of a token issued for this property, or None."""
        if token_id in self._sessions:
            return self._sessions[token_id]
        row = self._conn.execute(
            sa.select(staff_sessions).where(
                staff_sessions.c.token_id == token_id,
                staff_sessions.c.property_id == self._property_id,
            )
        ).first()
        if row is None:
            self._sessions[token_id] = None
            return None
        scopes = tuple(s for s in row.scopes.split(" ") if s)
        found = self._sessions[token_id] = Session(
            row.token_id, row.staff_id, row.kid, row.role, scopes, row.offline, row.issued_at,
            row.expires_at,
        )  # fmt: skip
        return found

    def add_session(self, session: Session) -> None:
        """Remember a token issued to a staff member (once: a replay finds it there)."""
        if self.session(session.token_id) is not None:
            return
        self._conn.execute(
            sa.insert(staff_sessions).values(
                token_id=session.token_id,
                property_id=self._property_id,
                staff_id=session.staff_id,
                kid=session.kid,
                role=session.role,
                scopes=" ".join(sorted(session.scopes)),
                offline=session.offline,
                issued_at=session.issued_at,
                expires_at=session.expires_at,
            )
        )
        self._sessions[session.token_id] = session

    def _one(self, where: sa.ColumnElement[bool]) -> Staff | None:
        query = sa.select(staff).where(staff.c.property_id == self._property_id, where)
        row = self._conn.execute(query).first()
        return None if row is None else _staff(row)


def _staff(row: sa.Row[tuple[object, ...]]) -> Staff:
    m = row._mapping
    return Staff(
        id=m["id"],
        code=m["code"],
        name=m["name"],
        role=m["role"],
        pin_hash=m["pin_hash"],
        status=StaffStatus(m["status"]),
    )


def _values(member: Staff, property_id: str) -> dict[str, object]:
    return {
        "id": member.id,
        "property_id": property_id,
        "code": member.code,
        "name": member.name,
        "role": member.role,
        "pin_hash": member.pin_hash,
        "status": member.status.value,
    }
