"""Accommodation tax: tiers by municipality and night, exemptions, and the rules data file."""

from __future__ import annotations

import subprocess
import sys
from datetime import date
from decimal import Decimal
from importlib import resources

import pytest
from hypothesis import given
from hypothesis import strategies as st

from yadori.domain.accommodation_tax import (
    Exemption,
    ExemptionWindow,
    NoAccommodationTaxRule,
    RuleDataError,
    TaxPeriod,
    Tier,
    UnknownMunicipality,
    accommodation_tax_per_person,
    honoured_exemptions,
    municipalities,
    parse_rules,
    rules_for,
)
from yadori.domain.errors import DomainError, InvalidInput, NotFound

SCHOOL = Exemption.SCHOOL_TRIP
NIGHTS = st.dates(min_value=date(2019, 6, 1), max_value=date(2030, 12, 31))
BASES = st.decimals(min_value=0, max_value=200_000, places=3, allow_nan=False)

TIER_TABLE = [
    ("tokyo", date(2025, 6, 1), "9999.999", 0),
    ("tokyo", date(2025, 6, 1), "10000", 100),
    ("tokyo", date(2002, 10, 1), "14999.99", 100),
    ("tokyo", date(2025, 6, 1), "15000", 200),
    ("osaka", date(2019, 6, 1), "6999.99", 0),
    ("osaka", date(2025, 8, 31), "7000", 100),
    ("osaka", date(2025, 8, 31), "15000", 200),
    ("osaka", date(2025, 8, 31), "20000", 300),
    ("osaka", date(2025, 9, 1), "4999.99", 0),
    ("osaka", date(2025, 9, 1), "5000", 200),
    ("osaka", date(2025, 9, 1), "15000", 400),
    ("osaka", date(2025, 9, 1), "20000", 500),
    ("kyoto", date(2018, 10, 1), "0", 200),
    ("kyoto", date(2026, 2, 28), "20000", 500),
    ("kyoto", date(2026, 2, 28), "50000", 1000),
    ("kyoto", date(2026, 2, 28), "100000", 1000),
    ("kyoto", date(2026, 3, 1), "5999.99", 200),
    ("kyoto", date(2026, 3, 1), "6000", 400),
    ("kyoto", date(2026, 3, 1), "20000", 1000),
    ("kyoto", date(2026, 3, 1), "50000", 4000),
    ("kyoto", date(2026, 3, 1), "99999.99", 4000),
    ("kyoto", date(2026, 3, 1), "100000", 10000),
    ("none", date(2025, 6, 1), "1000000", 0),
]

VALID = """
schema = 1
[municipalities.town]
name_ja = "町"
name_en = "Town"
[[municipalities.town.periods]]
since = 2020-01-01
tiers = [{ from = 0, tax = 0 }, { from = 8000, tax = 150 }]
[[municipalities.town.exemptions]]
exemption = "school_trip"
since = 2021-01-01
until = 2021-12-31
"""


@pytest.mark.parametrize(("municipality", "night", "base", "expected"), TIER_TABLE)
def test_tiers(municipality: str, night: date, base: str, expected: int) -> None:
    """Each municipality's tier, compared on the exact base, on each side of every threshold."""
    assert accommodation_tax_per_person(municipality, night, Decimal(base)) == expected


def test_the_packaged_municipalities() -> None:
    """Tokyo, Osaka, Kyoto and a municipality without the tax are recorded."""
    assert municipalities() == ("kyoto", "none", "osaka", "tokyo")
    assert rules_for("kyoto").name_ja == "京都市"
    assert [p.since for p in rules_for("osaka").periods] == [date(2019, 6, 1), date(2025, 9, 1)]


@pytest.mark.parametrize(
    ("municipality", "night", "expected"),
    [
        ("tokyo", date(2025, 10, 1), frozenset()),
        ("osaka", date(2025, 3, 31), frozenset()),
        ("osaka", date(2025, 4, 1), frozenset({SCHOOL})),
        ("osaka", date(2025, 10, 31), frozenset({SCHOOL})),
        ("osaka", date(2025, 11, 1), frozenset({SCHOOL})),
        ("osaka", date(2030, 1, 1), frozenset({SCHOOL})),
        ("kyoto", date(2018, 10, 1), frozenset({SCHOOL})),
        ("kyoto", date(2026, 3, 1), frozenset({SCHOOL})),
    ],
)
def test_honoured_exemptions(
    municipality: str, night: date, expected: frozenset[Exemption]
) -> None:
    """Osaka exempts school trips from 2025-04-01 on, Kyoto since its tax began, Tokyo never."""
    assert honoured_exemptions(municipality, night) == expected


def test_an_honoured_exemption_makes_the_tax_zero() -> None:
    """A school-trip pupil in Osaka in October 2025 pays nothing on a ¥10,000 night."""
    assert accommodation_tax_per_person("osaka", date(2025, 10, 1), Decimal(10000), SCHOOL) == 0


def test_an_exemption_not_honoured_is_ignored() -> None:
    """Tokyo does not exempt school trips: the pupil pays the tier's tax."""
    assert accommodation_tax_per_person("tokyo", date(2025, 10, 1), Decimal(15000), SCHOOL) == 200


def test_unknown_municipality() -> None:
    """An unknown municipality code is a not-found domain error with a stable code."""
    with pytest.raises(UnknownMunicipality) as caught:
        rules_for("sapporo")
    error = caught.value
    assert isinstance(error, NotFound)
    assert isinstance(error, DomainError)
    assert error.code == "unknown_municipality"
    assert "sapporo" in str(error)
    assert error.facts == {"municipality": "sapporo"}


@pytest.mark.parametrize(
    ("municipality", "night"),
    [("tokyo", date(2002, 9, 30)), ("osaka", date(2019, 5, 31)), ("kyoto", date(2018, 9, 30))],
)
def test_a_night_before_the_first_period_has_no_rule(municipality: str, night: date) -> None:
    """A night before any recorded period is an error, even for an exempt guest, never a zero."""
    with pytest.raises(NoAccommodationTaxRule) as caught:
        accommodation_tax_per_person(municipality, night, Decimal(20000), SCHOOL)
    assert caught.value.code == "no_accommodation_tax_rule"
    assert caught.value.facts == {"municipality": municipality, "night": night.isoformat()}


def test_a_negative_base_is_refused() -> None:
    """A negative price can never be right."""
    with pytest.raises(InvalidInput):
        accommodation_tax_per_person("tokyo", date(2025, 6, 1), Decimal("-0.01"))


def test_period_and_window_objects() -> None:
    """A period picks the highest tier reached; a window covers its nights inclusively."""
    period = TaxPeriod(date(2020, 1, 1), (Tier(0, 0), Tier(100, 5)))
    assert (period.tax_for(Decimal("99.9")), period.tax_for(Decimal(100))) == (0, 5)
    window = ExemptionWindow(SCHOOL, date(2020, 1, 1), date(2020, 1, 31))
    nights = [date(2019, 12, 31), date(2020, 1, 1), date(2020, 1, 31), date(2020, 2, 1)]
    assert [window.covers(n) for n in nights] == [False, True, True, False]
    assert ExemptionWindow(SCHOOL, date(2020, 1, 1)).covers(date(2099, 1, 1))


def test_the_rules_are_read_lazily_and_once() -> None:
    """Importing the module reads no file; the first use reads it and later uses reuse it."""
    probe = (
        "import yadori.domain.accommodation_tax as m; "
        "assert m._packaged_rules.cache_info().currsize == 0; "
        "m.rules_for('tokyo'); assert m._packaged_rules.cache_info().currsize == 1"
    )
    subprocess.run([sys.executable, "-c", probe], check=True)
    assert rules_for("tokyo") is rules_for("tokyo")


def test_every_taxing_municipality_cites_its_source() -> None:
    """Each section of the data file that records a tax names a public source."""
    text = (
        resources.files("yadori.domain.rules")
        .joinpath("accommodation_tax.toml")
        .read_text(encoding="utf-8")
    )
    sections = [s for s in text.split("\n# --- ")[1:] if "tax = " in s and "tax = 0 }]" not in s]
    assert len(sections) == 3
    assert all("Source:" in s and "https://" in s for s in sections)


def test_a_valid_document_parses() -> None:
    """A small document with a bounded exemption becomes typed rules."""
    town = parse_rules(VALID)["town"]
    assert town.periods == (TaxPeriod(date(2020, 1, 1), (Tier(0, 0), Tier(8000, 150))),)
    assert town.exemptions == (ExemptionWindow(SCHOOL, date(2021, 1, 1), date(2021, 12, 31)),)
    assert town.honoured_exemptions(date(2022, 1, 1)) == frozenset()


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("schema = 1", "schema = ", "not valid TOML"),
        ("schema = 1", "schema = 2", "schema"),
        ('name_ja = "町"', "", "'name_ja' must be a str"),
        ("since = 2020-01-01", "since = 2020-01-01T00:00:00", "'since' must be a date"),
        ("{ from = 0, tax = 0 }, ", "", "first tier must start from 0"),
        ("{ from = 8000", "{ from = 0", "tiers must strictly increase"),
        ("tax = 150", "tax = -1", "a tax cannot be negative"),
        ("from = 8000", "from = true", "'from' must be a int"),
        ('exemption = "school_trip"', 'exemption = "vip"', "not a known exemption"),
        ('exemption = "school_trip"', 'exemption = "none"', "not a known exemption"),
        ("until = 2021-12-31", "until = 2020-12-31", "ends before it starts"),
    ],
)
def test_a_malformed_document_is_refused(old: str, new: str, message: str) -> None:
    """Every defect of the data file is caught on reading, naming what is wrong."""
    assert old in VALID
    with pytest.raises(RuleDataError, match=message):
        parse_rules(VALID.replace(old, new, 1))


HEAD = 'schema = 1\n[municipalities.t]\nname_ja = "t"\nname_en = "t"\n'


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("schema = 1\nmunicipalities = 3", "municipalities: must be a table"),
        ("schema = 1\n[municipalities]\nt = 1", "t: must be a table"),
        (HEAD + "periods = 5", "'periods' must be a list"),
        (HEAD + "periods = [1]", "t.periods: must be a table"),
        (HEAD + "periods = []", "at least one period"),
    ],
)
def test_a_malformed_structure_is_refused(text: str, message: str) -> None:
    """Tables and arrays must be where the schema puts them, with at least one period."""
    with pytest.raises(RuleDataError, match=message):
        parse_rules(text)


def test_periods_must_be_in_order() -> None:
    """A municipality's periods must ascend by their first night."""
    later = "\n[[municipalities.town.periods]]\nsince = 2019-01-01\ntiers = [{ from = 0, tax = 0 }]"
    with pytest.raises(RuleDataError, match="strictly increasing"):
        parse_rules(VALID + later)


def test_exemptions_must_be_an_array() -> None:
    """An exemptions entry that is not an array of tables is refused."""
    text = VALID.split("[[municipalities.town.exemptions]]", maxsplit=1)[0]
    text = text.replace('name_en = "Town"', 'name_en = "Town"\nexemptions = 1')
    with pytest.raises(RuleDataError, match="must be an array"):
        parse_rules(text)


@given(st.sampled_from(["tokyo", "osaka", "kyoto", "none"]), NIGHTS, BASES, BASES)
def test_tax_is_monotone_in_the_base(
    municipality: str, night: date, a: Decimal, b: Decimal
) -> None:
    """A dearer night never costs less accommodation tax on the same date."""
    low, high = sorted((a, b))
    low_tax = accommodation_tax_per_person(municipality, night, low)
    assert 0 <= low_tax <= accommodation_tax_per_person(municipality, night, high)


@given(st.sampled_from(["tokyo", "osaka", "kyoto"]), NIGHTS, BASES)
def test_an_exemption_never_adds_tax(municipality: str, night: date, base: Decimal) -> None:
    """Claiming an exemption yields either the full tax (not honoured) or nothing."""
    full = accommodation_tax_per_person(municipality, night, base)
    claimed = accommodation_tax_per_person(municipality, night, base, SCHOOL)
    assert claimed in {0, full}
