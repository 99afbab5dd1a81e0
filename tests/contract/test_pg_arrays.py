"""Arrays of plain values dumped at once: the bytes psycopg's own dumper writes, the same rows back.

Central's connections dump Python lists with ``PlainListDumper`` (storage/pg_arrays.py), which
joins a flat list of strings or integers in one step when no element needs quoting. Whatever
the list, its bytes must be psycopg's, and PostgreSQL must read back the list that was sent.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from psycopg.adapt import PyFormat, Transformer
from psycopg.types.array import ListDumper

from conftest import PG_ADMIN, require
from yadori.storage import pg_arrays
from yadori.storage.engine import make_engine

# Text PostgreSQL can hold (no NUL, no lone surrogate), biased towards what needs quoting:
# braces, quotes, backslashes, commas, white space (ASCII and Unicode), empty strings, NULL.
SPECIAL = [*'"{}\\, \t\n\r\f\v', "\u3000", "\u2028", "\u00a0", "\x1c"]
TEXT = st.one_of(
    st.text(
        st.one_of(
            st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
            st.sampled_from(SPECIAL),
        ),
        max_size=12,
    ),
    st.sampled_from(["null", "NULL", "Null", "nullable", "annul"]),
)
PLAIN = st.text("0123456789abcdef-:/_.ABCxyz", min_size=1, max_size=40)
# A plain string with one character (or the word NULL) that needs care, among plain ones.
NEAR_PLAIN = st.builds(
    lambda head, special, tail: head + special + tail,
    PLAIN | st.just(""),
    st.sampled_from([*SPECIAL, "null", "NULL"]),
    PLAIN | st.just(""),
)
LISTS = st.one_of(
    st.lists(PLAIN, max_size=30),
    st.lists(TEXT, max_size=30),
    st.lists(st.integers(-(2**70), 2**70), max_size=30),
    st.lists(st.integers(-(2**31), 2**31 - 1) | st.none(), max_size=30),
    st.lists(st.one_of(PLAIN, TEXT), max_size=30),
    st.lists(st.one_of(PLAIN, PLAIN, PLAIN, NEAR_PLAIN, st.just("")), max_size=10),
    st.lists(st.lists(PLAIN, min_size=1, max_size=3), max_size=4),
)
# Plain lists with one element that needs care, somewhere: each check of the quick path.
ONE_ODD = st.builds(
    lambda plain, odd, at: [*plain[:at], odd, *plain[at:]],
    st.lists(PLAIN, max_size=6),
    NEAR_PLAIN | st.just(""),
    st.integers(0, 6),
)


class _Text(str):
    """A subclass of str: psycopg's own dumper decides."""


class _Kind(enum.StrEnum):
    X = "x"


class _Number(enum.IntEnum):
    A = 1


@pytest.fixture(scope="module")
def connection() -> Iterator[psycopg.Connection[Any]]:
    """One plain psycopg connection, with our dumper on its adapters."""
    try:
        conn = psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        require(f"PostgreSQL is not reachable at {PG_ADMIN}: {exc}")
    pg_arrays.register(conn.adapters)
    yield conn
    conn.close()


def dumped(conn: psycopg.Connection[Any], value: list[Any]) -> tuple[type, bytes | None, int]:
    """The dumper chosen for ``value`` on ``conn``, its bytes and its type oid."""
    dumper = Transformer(conn).get_dumper(value, PyFormat.AUTO)
    out = dumper.dump(value)
    return type(dumper), None if out is None else bytes(out), dumper.oid


def psycopg_bytes(conn: psycopg.Connection[Any], value: list[Any]) -> bytes | None:
    """What psycopg's own text ListDumper writes for ``value``, with the same element dumper."""
    dumper = Transformer(conn).get_dumper(value, PyFormat.AUTO)
    out = ListDumper.dump(dumper, value)
    return None if out is None else bytes(out)


@settings(max_examples=400, deadline=None)
@given(st.one_of(LISTS, ONE_ODD, ONE_ODD))
def test_the_bytes_are_psycopgs_own_for_any_list(
    connection: psycopg.Connection[Any], value: list[Any]
) -> None:
    cls, out, _ = dumped(connection, value)
    assert cls is pg_arrays.PlainListDumper
    assert out == psycopg_bytes(connection, value)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.one_of(PLAIN, TEXT), max_size=20))
def test_postgresql_reads_back_the_list_that_was_sent(
    connection: psycopg.Connection[Any], value: list[str]
) -> None:
    row = connection.execute("SELECT %s::text[]", (value,)).fetchone()
    assert row is not None
    assert row[0] == value


@pytest.mark.parametrize(
    "value",
    [
        ["4f1c2a9e-0000-7000-8000-000000000001", "room:R101", "folio:F-2"],
        [0, -1, 2**40, 7],
        ["a"] * 3,
    ],
)
def test_plain_lists_take_the_quick_path(
    connection: psycopg.Connection[Any], value: list[Any]
) -> None:
    dumper = Transformer(connection).get_dumper(value, PyFormat.AUTO)
    assert isinstance(dumper, pg_arrays.PlainListDumper)
    assert dumper._joined(value) is not None  # the path under test
    assert bytes(dumper.dump(value) or b"") == psycopg_bytes(connection, value)


@pytest.mark.parametrize("odd", [*SPECIAL, "\u1680", "\u2005", "\u205f", "\u202f", "\u2029"])
@pytest.mark.parametrize("where", ["alone", "first", "inside", "last"])
def test_each_character_needing_care_is_seen_wherever_it_is(
    connection: psycopg.Connection[Any], odd: str, where: str
) -> None:
    element = {"alone": odd, "first": odd + "ab", "inside": "a" + odd + "b", "last": "ab" + odd}
    value = ["4f1c-0001", element[where], "room:R101"]
    assert dumped(connection, value)[1] == psycopg_bytes(connection, value)
    row = connection.execute("SELECT %s::text[]", (value,)).fetchone()
    assert row is not None
    assert row[0] == value


@pytest.mark.parametrize(
    "value",
    [
        ["a", ""],  # empty: quoted
        ["null", "b"],  # the word NULL: quoted
        ["a,b"],  # the delimiter inside an element
        ["a b"],  # white space
        ["a\u3000b"],  # Unicode white space
        ['a"b', "c\\d"],  # escaped
        ["{x}"],
        ["a", None],  # NULL element
        [True, False],  # booleans are not integers here
        [["a"], ["b"]],  # nested
        ["a", _Text("b")],  # a subclass of str among strings
        [_Text("a")],
        ["y", _Kind.X],  # an enum member (a str) among strings
        [_Kind.X, "y"],
        [2, _Number.A],  # an int enum member among integers
        [_Number.A, 2],
    ],
)
def test_lists_needing_care_are_left_to_psycopg(
    connection: psycopg.Connection[Any], value: list[Any]
) -> None:
    dumper = Transformer(connection).get_dumper(value, PyFormat.AUTO)
    assert isinstance(dumper, pg_arrays.PlainListDumper)
    assert dumper._joined(value) is None  # the path under test
    assert bytes(dumper.dump(value) or b"") == psycopg_bytes(connection, value)


def test_a_nul_in_an_element_is_refused_as_psycopg_refuses_it(
    connection: psycopg.Connection[Any],
) -> None:
    value = ["ok", "a\x00b"]  # PostgreSQL text cannot hold a NUL
    dumper = Transformer(connection).get_dumper(value, PyFormat.AUTO)
    assert dumper._joined(value) is None  # the path under test
    with pytest.raises(psycopg.DataError, match="NUL"):
        dumper.dump(value)


def test_text_the_database_cannot_encode_fails_as_with_psycopg(
    connection: psycopg.Connection[Any],
) -> None:
    value = ["ok", "\ud800"]  # a lone surrogate: not UTF-8
    dumper = Transformer(connection).get_dumper(value, PyFormat.AUTO)
    with pytest.raises(UnicodeEncodeError):
        ListDumper.dump(dumper, value)
    with pytest.raises(UnicodeEncodeError):
        dumper.dump(value)


def test_central_connections_dump_lists_this_way(pg_url: str) -> None:
    engine = make_engine(pg_url)
    try:
        with engine.connect() as conn:
            raw = conn.connection.driver_connection
            assert raw is not None
            ids = ["x1", "x2"]
            dumper = Transformer(raw).get_dumper(ids, PyFormat.AUTO)
            assert isinstance(dumper, pg_arrays.PlainListDumper)
            assert conn.exec_driver_sql("SELECT %(ids)s::text[]", {"ids": ids}).scalar() == ids
    finally:
        engine.dispose()
