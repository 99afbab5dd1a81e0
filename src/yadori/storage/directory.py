"""Lookups that are not scoped to one property: which properties a node holds."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from yadori.domain.errors import NotFound
from yadori.storage.tables import outbox, properties, sync_state


class SqlDirectory:
    """Finds a property's id from the code staff use in URLs."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._ids: dict[str, str] = {}

    def property_id(self, code: str) -> str:
        """The id of the property with that code; NotFound when this node has none."""
        if code not in self._ids:
            with self._engine.connect() as conn:
                found = conn.execute(
                    sa.select(properties.c.id).where(properties.c.code == code)
                ).scalar()
            if found is None:
                raise NotFound(f"no property {code!r} on this node", property=code)
            self._ids[code] = found
        return self._ids[code]

    def codes(self) -> list[str]:
        """Every property code this node holds."""
        with self._engine.connect() as conn:
            return list(
                conn.execute(sa.select(properties.c.code).order_by(properties.c.code)).scalars()
            )

    def codes_by_id(self) -> dict[str, str]:
        """Every property's code, by its id."""
        with self._engine.connect() as conn:
            rows = conn.execute(sa.select(properties.c.id, properties.c.code)).all()
        return {r.id: r.code for r in rows}

    def property_ids(self) -> list[str]:
        """Every property id this node holds."""
        with self._engine.connect() as conn:
            return list(
                conn.execute(sa.select(properties.c.id).order_by(properties.c.id)).scalars()
            )

    def latest_hlc(self) -> str | None:
        """The newest HLC this node issued or saw, so a restarted node never issues an older one."""
        with self._engine.connect() as conn:
            issued = conn.execute(sa.select(sa.func.max(outbox.c.hlc))).scalar()
            seen = conn.execute(
                sa.select(sync_state.c.value).where(sync_state.c.name == "hlc_seen")
            ).scalar()
        stamps = [s for s in (issued, seen) if s]
        return max(stamps) if stamps else None

    def pending_mutations(self) -> int:
        """Mutations in the outbox not yet acknowledged."""
        with self._engine.connect() as conn:
            query = (
                sa.select(sa.func.count()).select_from(outbox).where(outbox.c.state == "pending")
            )
            return int(conn.execute(query).scalar_one())
