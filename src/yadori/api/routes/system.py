"""Health and node information."""

from __future__ import annotations

from fastapi import APIRouter

from yadori import __version__
from yadori.api.deps import Bus, CloseDayActor, Parts, PropertyId
from yadori.api.schemas import CloseDayIn
from yadori.domain.property import Property
from yadori.services.commands import CloseBusinessDay

router = APIRouter(tags=["system"])


@router.get("/health")
async def health(parts: Parts) -> dict[str, object]:
    """Whether the node answers, which node it is, and how many mutations wait to sync."""
    return {
        "status": "ok",
        "role": parts.config.role,
        "node_id": parts.config.node_id,
        "version": __version__,
        "pending_mutations": parts.directory.pending_mutations(),
    }


@router.get("/api/v1/properties/{code}")
async def get_property(bus: Bus, pid: PropertyId) -> dict[str, object]:
    """The property: names, business date, municipality and fee policy."""
    return _property(bus.read(pid, lambda uow: uow.properties.get()))


@router.post("/api/v1/properties/{code}/close-day")
async def close_day(
    bus: Bus, pid: PropertyId, actor: CloseDayActor, body: CloseDayIn
) -> dict[str, object]:
    """Close the business day: charge tonight's in-house stays and advance the business date."""
    cmd = CloseBusinessDay(business_date=body.business_date)
    return _property(bus.execute(pid, cmd, actor).value(Property))


def _property(prop: Property) -> dict[str, object]:
    return {
        "id": prop.id,
        "code": prop.code,
        "name_ja": prop.name_ja,
        "name_en": prop.name_en,
        "business_date": prop.business_date.isoformat(),
        "municipality": prop.municipality,
        "timezone": prop.timezone,
        "service_charge_rate": str(prop.service_charge_rate),
        "tax_rounding": prop.tax_rounding.value,
    }
