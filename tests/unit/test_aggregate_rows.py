"""Rows become the feed's JSON by a conversion chosen per column: the same values as to_json."""

from __future__ import annotations

from datetime import UTC, timedelta, timezone

import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st

from yadori.storage import aggregates
from yadori.storage.types import DecimalText, UTCDateTime
from yadori.sync import canonical

TABLES = sorted({table for parts in aggregates.PARTS.values() for table, _ in parts}, key=str)
ZONES = st.sampled_from([UTC, timezone(timedelta(hours=9)), timezone(timedelta(hours=-5))])


def values_for(column: sa.Column[object]) -> st.SearchStrategy[object]:
    """Values a driver may return for the column (None where it is nullable)."""
    kind = column.type
    strategy: st.SearchStrategy[object]
    if isinstance(kind, UTCDateTime):
        strategy = st.datetimes(timezones=ZONES)
    elif isinstance(kind, DecimalText):
        # rates: canonical text normalises in the default 28-digit context, far beyond any rate
        strategy = st.decimals(min_value=-(10**6), max_value=10**6, places=4)
    elif isinstance(kind, sa.Date):
        strategy = st.dates()
    elif isinstance(kind, sa.Boolean):
        strategy = st.booleans()
    elif isinstance(kind, sa.Integer):
        strategy = st.integers(-(2**63), 2**63 - 1)
    else:
        assert isinstance(kind, sa.String), kind
        strategy = st.text()
    return st.none() | strategy if column.nullable else strategy


@st.composite
def rows(draw: st.DrawFn) -> tuple[sa.Table, list[object]]:
    """A table of the feed and one row of values for it."""
    table = draw(st.sampled_from(TABLES))
    return table, [draw(values_for(c)) for c in table.columns]


@settings(max_examples=300)
@given(rows())
def test_a_row_converts_to_the_values_to_json_gives(row: tuple[sa.Table, list[object]]) -> None:
    """Same keys, same values, same canonical bytes: the CRC32 cannot drift."""
    table, values = row
    expected = {
        str(c.name): canonical.to_json(v) for c, v in zip(table.columns, values, strict=True)
    }
    got = aggregates.row_doc(table, values)
    assert got == expected
    assert canonical.encode_plain(got) == canonical.encode(expected)


@settings(max_examples=300)
@given(rows())
def test_a_row_restored_from_its_document_has_its_values(
    row: tuple[sa.Table, list[object]],
) -> None:
    """The edge parses a document back to the values central read (datetimes in UTC)."""
    table, values = row
    restored = aggregates._values(table, aggregates.row_doc(table, values))
    for column, value in zip(table.columns, values, strict=True):
        assert restored[str(column.name)] == value
