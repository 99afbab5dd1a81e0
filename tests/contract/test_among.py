"""``sql.among(column, values)`` selects exactly the rows whose column is one of ``values``.

On PostgreSQL it is ``column = ANY(CAST(:array AS VARCHAR(n)[]))``, and PostgreSQL's cast to
``VARCHAR(n)`` silently cuts a longer value to its first ``n`` characters: a key one character
too long found the row named by its first 36 (the hole decision 0064's review found). A value
longer than the column can hold names no row, on either backend.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.engine import Engine

from yadori.storage.engine import make_engine
from yadori.storage.sql import among

LENGTH = 8
probe = sa.Table(
    "among_probe",
    sa.MetaData(),
    sa.Column("id", sa.String(LENGTH), primary_key=True),
    sa.Column("n", sa.Integer, nullable=False),
)
STORED = ["a" * LENGTH, "b" * LENGTH, "abc", "日本語のキー", "x"]
# Stored values, longer ones that begin with them (cut back to a stored one by the cast), others
VALUES = st.one_of(
    st.sampled_from(STORED),
    st.builds(lambda s, tail: s + tail, st.sampled_from(STORED), st.text("ab語", min_size=1)),
    st.text("abx語", max_size=LENGTH + 2),
)


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    engine = make_engine(db_url)
    with engine.begin() as conn:
        probe.drop(conn, checkfirst=True)
        probe.create(conn)
        conn.execute(probe.insert(), [{"id": v, "n": n} for n, v in enumerate(STORED)])
    yield engine
    with engine.begin() as conn:
        probe.drop(conn)
    engine.dispose()


def _found(engine: Engine, values: list[str]) -> set[str]:
    with engine.connect() as conn:
        query = sa.select(probe.c.id).where(among(probe.c.id, values, conn.dialect))
        return set(conn.execute(query).scalars())


def test_a_value_longer_than_the_column_names_no_row(engine: Engine) -> None:
    assert _found(engine, ["a" * LENGTH + "a", "abcd"]) == set()
    assert _found(engine, ["a" * (LENGTH + 1), "b" * LENGTH]) == {"b" * LENGTH}


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(values=st.lists(VALUES, max_size=12))
def test_exactly_the_rows_named(engine: Engine, values: list[str]) -> None:
    assert _found(engine, values) == set(STORED) & set(values)
