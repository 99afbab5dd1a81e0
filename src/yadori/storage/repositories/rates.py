"""Rate plans with their base prices and date overrides."""

from __future__ import annotations

import sqlalchemy as sa

from yadori.domain.errors import UnknownRatePlan
from yadori.domain.rates import RatePlan
from yadori.storage.tables import rate_base_prices, rate_overrides, rate_plans


class SqlRatePlans:
    """Rate plans of one property."""

    def __init__(self, conn: sa.Connection, property_id: str, touched: set[str]) -> None:
        self._conn = conn
        self._touched = touched
        self._property_id = property_id
        # Read once per transaction: a replayed batch prices hundreds of bookings on few plans.
        self._read: dict[str, RatePlan] = {}

    def forget(self) -> None:
        """Drop what was read (a savepoint was rolled back)."""
        self._read.clear()

    def get(self, rate_plan_id: str) -> RatePlan:
        """One plan with all its prices; UnknownRatePlan when it is not at this property."""
        if rate_plan_id in self._read:
            return self._read[rate_plan_id]
        query = self._select().where(rate_plans.c.id == rate_plan_id)
        row = self._conn.execute(query).first()
        if row is None:
            raise UnknownRatePlan(f"no rate plan {rate_plan_id}", rate_plan=rate_plan_id)
        plan = self._read[rate_plan_id] = self._plan(row)
        return plan

    def list(self) -> list[RatePlan]:
        """All plans, by code."""
        rows = self._conn.execute(self._select().order_by(rate_plans.c.code)).all()
        return [self._plan(r) for r in rows]

    def add(self, plan: RatePlan) -> None:
        """Create a plan and its prices."""
        self._touched.add(f"rate_plan:{plan.id}")
        self._read.pop(plan.id, None)
        self._conn.execute(
            sa.insert(rate_plans).values(
                id=plan.id,
                property_id=self._property_id,
                code=plan.code,
                name_ja=plan.name_ja,
                name_en=plan.name_en,
                tax_included=plan.tax_included,
            )
        )
        base = [
            {"rate_plan_id": plan.id, "room_type_id": t, "amount": a}
            for t, a in plan.base_prices.items()
        ]
        overrides = [
            {"rate_plan_id": plan.id, "room_type_id": t, "night": n, "amount": a}
            for (t, n), a in plan.overrides.items()
        ]
        if base:
            self._conn.execute(sa.insert(rate_base_prices), base)
        if overrides:
            self._conn.execute(sa.insert(rate_overrides), overrides)

    def _select(self) -> sa.Select[tuple[object, ...]]:
        return sa.select(rate_plans).where(rate_plans.c.property_id == self._property_id)

    def _plan(self, row: sa.Row[tuple[object, ...]]) -> RatePlan:
        m = row._mapping
        base = self._conn.execute(
            sa.select(rate_base_prices.c.room_type_id, rate_base_prices.c.amount).where(
                rate_base_prices.c.rate_plan_id == m["id"]
            )
        )
        overrides = self._conn.execute(
            sa.select(
                rate_overrides.c.room_type_id, rate_overrides.c.night, rate_overrides.c.amount
            ).where(rate_overrides.c.rate_plan_id == m["id"])
        )
        return RatePlan(
            id=m["id"],
            code=m["code"],
            name_ja=m["name_ja"],
            name_en=m["name_en"],
            tax_included=m["tax_included"],
            base_prices=dict(base.all()),
            overrides={(t, n): a for t, n, a in overrides},
        )
