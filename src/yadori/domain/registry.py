"""The guest registry (宿泊者名簿) that Japan's Hotel Business Act requires at check-in.

For every guest: name, address and contact. For a guest with no address in Japan, also
nationality and passport number, and a copy of the passport must be kept (旅館業法施行規則
第4条の2; MHLW guidance on foreign guests). Missing data is an error that names the field.
"""

from __future__ import annotations

from dataclasses import dataclass

from yadori.domain.accommodation_tax import Exemption
from yadori.domain.errors import InvalidInput, RegistryDataMissing

MAX_FIELD_LENGTH = 200


@dataclass(frozen=True, slots=True)
class RegistryEntry:
    """One guest's line in the registry."""

    name: str
    address: str
    contact: str
    resident_in_japan: bool = True
    nationality: str = ""
    passport_number: str = ""
    passport_copy_kept: bool = False
    exemption: Exemption = Exemption.NONE  # e.g. a school trip, where the city honours it

    def validate(self, position: int) -> None:
        """Raise, naming the field, when the Act's required data is missing or unusable."""
        required = ["name", "address", "contact"]
        if not self.resident_in_japan:
            required += ["nationality", "passport_number"]
        for name in required:
            _require_text(name, getattr(self, name), position)
        if not self.resident_in_japan and not self.passport_copy_kept:
            raise RegistryDataMissing(
                f"guest {position}: a copy of the passport must be kept for a guest with no "
                "address in Japan",
                field="passport_copy_kept",
                guest=position,
            )


def _require_text(field: str, value: str, position: int) -> None:
    if not value.strip():
        raise RegistryDataMissing(
            f"guest {position}: {field.replace('_', ' ')} is required by the Hotel Business Act",
            field=field,
            guest=position,
        )
    if len(value) > MAX_FIELD_LENGTH:
        raise InvalidInput(
            f"guest {position}: {field.replace('_', ' ')} is longer than {MAX_FIELD_LENGTH}",
            field=field,
            guest=position,
        )


def validate_registry(entries: list[RegistryEntry], guests_expected: int) -> None:
    """Every guest of the stay must be registered, each with the data the Act requires."""
    if len(entries) < guests_expected:
        raise RegistryDataMissing(
            f"{guests_expected} guests stay but {len(entries)} are registered",
            field="guests",
            expected=guests_expected,
        )
    for position, entry in enumerate(entries, start=1):
        entry.validate(position)


def exemptions(entries: list[RegistryEntry]) -> tuple[int, Exemption]:
    """How many registered guests claim an accommodation-tax exemption, and which one."""
    claimed = [e.exemption for e in entries if e.exemption is not Exemption.NONE]
    return len(claimed), (claimed[0] if claimed else Exemption.NONE)
