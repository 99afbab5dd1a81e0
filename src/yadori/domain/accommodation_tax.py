"""Accommodation tax (宿泊税): a fixed amount per person per night, by price tier and municipality.

The rules are data: ``rules/accommodation_tax.toml`` holds, per municipality, periods with the
first night they apply to, their tiers and who is exempt, each with its public source (see
``docs/decisions/0005-accommodation-tax-as-data.md``). The file is read on first use, never at
import time. The base a tier is compared with is the exact room-only price of one person for one
night, service charge included, consumption tax and meals excluded; it is never rounded first.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import Enum
from functools import cache
from importlib import resources
from types import MappingProxyType
from typing import TypeVar

from yadori.domain.errors import InvalidInput, NotFound
from yadori.domain.money import Yen

RULES_PACKAGE = "yadori.domain.rules"
RULES_FILE = "accommodation_tax.toml"
SCHEMA_VERSION = 1

_T = TypeVar("_T")


class Exemption(Enum):
    """Why a guest may be exempt from accommodation tax, when the municipality honours it."""

    NONE = "none"
    SCHOOL_TRIP = "school_trip"  # 修学旅行等: pupils of school trips and events, and their staff


class UnknownMunicipality(NotFound):
    """No accommodation-tax rules are recorded for that municipality code."""

    code = "unknown_municipality"


class NoAccommodationTaxRule(NotFound):
    """The night is before the first period recorded for the municipality."""

    code = "no_accommodation_tax_rule"


class RuleDataError(ValueError):
    """The accommodation-tax data file is malformed: a defect of the file, not of an input."""


@dataclass(frozen=True, slots=True)
class Tier:
    """From ``threshold`` yen of base on (inclusive), ``tax`` yen per person-night."""

    threshold: Yen
    tax: Yen


@dataclass(frozen=True, slots=True)
class TaxPeriod:
    """The tiers in force from the night ``since`` until the next period of the municipality."""

    since: date
    tiers: tuple[Tier, ...]

    def tax_for(self, base: Decimal) -> Yen:
        """Return the tax per person-night for an exact, non-negative per-person base."""
        return next(tier.tax for tier in reversed(self.tiers) if base >= tier.threshold)


@dataclass(frozen=True, slots=True)
class ExemptionWindow:
    """An exemption honoured for the nights from ``since`` to ``until`` (inclusive, or open)."""

    exemption: Exemption
    since: date
    until: date | None = None

    def covers(self, night: date) -> bool:
        """Whether the exemption is honoured for that night."""
        return self.since <= night and (self.until is None or night <= self.until)


@dataclass(frozen=True, slots=True)
class MunicipalityRules:
    """Everything one municipality says about accommodation tax, across time."""

    code: str
    name_ja: str
    name_en: str
    periods: tuple[TaxPeriod, ...]
    exemptions: tuple[ExemptionWindow, ...] = ()

    def period_on(self, night: date) -> TaxPeriod:
        """Find the period in force on a night; a night before the first one has no rule."""
        started = [period for period in self.periods if period.since <= night]
        if not started:
            raise NoAccommodationTaxRule(
                f"no accommodation-tax rule of {self.name_en} for the night of {night}",
                municipality=self.code,
                night=night.isoformat(),
            )
        return started[-1]

    def honoured_exemptions(self, night: date) -> frozenset[Exemption]:
        """Return the exemptions the municipality honours for that night."""
        return frozenset(w.exemption for w in self.exemptions if w.covers(night))

    def tax_per_person(
        self, night: date, base_per_person: Decimal, exemption: Exemption = Exemption.NONE
    ) -> Yen:
        """Return one person's tax for one night; an exemption not honoured then is ignored."""
        if base_per_person < 0:
            raise InvalidInput("the accommodation-tax base cannot be negative", field="base")
        period = self.period_on(night)
        if exemption in self.honoured_exemptions(night):
            return 0
        return period.tax_for(base_per_person)


def municipalities() -> tuple[str, ...]:
    """Return the codes of every municipality with recorded rules, sorted."""
    return tuple(sorted(_packaged_rules()))


def rules_for(municipality: str) -> MunicipalityRules:
    """Return one municipality's rules by its code (``tokyo``, ``osaka``, ``kyoto``, ``none``)."""
    rules = _packaged_rules().get(municipality)
    if rules is None:
        raise UnknownMunicipality(
            f"no accommodation-tax rules for municipality {municipality!r}",
            municipality=municipality,
        )
    return rules


def honoured_exemptions(municipality: str, night: date) -> frozenset[Exemption]:
    """Return the exemptions a municipality honours for a night."""
    return rules_for(municipality).honoured_exemptions(night)


def accommodation_tax_per_person(
    municipality: str,
    night: date,
    base_per_person: Decimal,
    exemption: Exemption = Exemption.NONE,
) -> Yen:
    """Return the accommodation tax of one person for one night in a municipality.

    ``base_per_person`` is the exact room-only price of that person for that night, service
    charge included, consumption tax and meals excluded.
    """
    return rules_for(municipality).tax_per_person(night, base_per_person, exemption)


@cache
def _packaged_rules() -> Mapping[str, MunicipalityRules]:
    """Read the rules shipped with Yadori, once, on first use."""
    text = resources.files(RULES_PACKAGE).joinpath(RULES_FILE).read_text(encoding="utf-8")
    return MappingProxyType(parse_rules(text))


def parse_rules(text: str) -> dict[str, MunicipalityRules]:
    """Read and check an accommodation-tax rules document (the TOML of the data file)."""
    try:
        document: Mapping[str, object] = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RuleDataError(f"accommodation-tax rules are not valid TOML: {exc}") from exc
    _require(document.get("schema") == SCHEMA_VERSION, "schema", f"must be {SCHEMA_VERSION}")
    table = _table(document.get("municipalities"), "municipalities")
    return {code: _municipality(code, _table(v, code)) for code, v in table.items()}


def _municipality(code: str, table: Mapping[str, object]) -> MunicipalityRules:
    periods = tuple(
        _period(_table(p, f"{code}.periods")) for p in _field(table, "periods", list, code)
    )
    _require(bool(periods), code, "needs at least one period")
    starts = [p.since for p in periods]
    _require(starts == sorted(set(starts)), code, "periods must be in strictly increasing order")
    windows = table.get("exemptions", [])
    return MunicipalityRules(
        code=code,
        name_ja=_field(table, "name_ja", str, code),
        name_en=_field(table, "name_en", str, code),
        periods=periods,
        exemptions=tuple(_window(_table(w, f"{code}.exemptions")) for w in _listed(windows, code)),
    )


def _period(table: Mapping[str, object]) -> TaxPeriod:
    since = _field(table, "since", date, "period")
    where = f"period since {since}"
    tiers = tuple(_tier(_table(t, where)) for t in _field(table, "tiers", list, where))
    thresholds = [t.threshold for t in tiers]
    _require(thresholds[:1] == [0], where, "the first tier must start from 0")
    _require(thresholds == sorted(set(thresholds)), where, "tiers must strictly increase")
    return TaxPeriod(since, tiers)


def _tier(table: Mapping[str, object]) -> Tier:
    tier = Tier(_field(table, "from", int, "tier"), _field(table, "tax", int, "tier"))
    _require(tier.tax >= 0, "tier", "a tax cannot be negative")
    return tier


def _window(table: Mapping[str, object]) -> ExemptionWindow:
    name = _field(table, "exemption", str, "exemption")
    _require(name in {e.value for e in Exemption} - {"none"}, name, "is not a known exemption")
    since = _field(table, "since", date, name)
    until = _field(table, "until", date, name) if "until" in table else None
    _require(until is None or until >= since, name, "ends before it starts")
    return ExemptionWindow(Exemption(name), since, until)


def _table(value: object, where: str) -> Mapping[str, object]:
    if not isinstance(value, dict):
        raise _bad(where, "must be a table")
    return value


def _listed(value: object, where: str) -> list[object]:
    if not isinstance(value, list):
        raise _bad(where, "must be an array")
    return value


def _field(table: Mapping[str, object], key: str, kind: type[_T], where: str) -> _T:
    value = table.get(key)
    # ``type() is`` refuses a bool for an int and a datetime for a date; isinstance narrows.
    if type(value) is not kind or not isinstance(value, kind):
        raise _bad(where, f"{key!r} must be a {kind.__name__}")
    return value


def _require(condition: bool, where: str, what: str) -> None:
    if not condition:
        raise _bad(where, what)


def _bad(where: str, what: str) -> RuleDataError:
    return RuleDataError(f"accommodation-tax rules, {where}: {what}")
