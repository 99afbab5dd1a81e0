"""Fixtures shared by every suite: real SQLite files, a real PostgreSQL, a seeded node.

PostgreSQL is the machine's server at 127.0.0.1:5432 (``YADORI_TEST_PG_URL`` to change it).
Each test that needs it gets a fresh database cloned from a migrated template. When the
server cannot be reached the tests skip loudly — unless ``YADORI_REQUIRE_ALL=1`` (CI), where
the skip becomes a failure.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from support.auth import provision_edge_keys
from support.hotel import Hotel, build_hotel
from yadori.bootstrap import NodeConfig, Yadori, bootstrap
from yadori.storage.engine import make_engine
from yadori.storage.migrate import upgrade
from yadori.storage.repositories.feed_publish import CHECK_HELD

PG_ADMIN = os.environ.get("YADORI_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
# Every document central publishes from the rows a unit of work holds is checked against a
# snapshot read from the tables, in this process and in the nodes it starts (decision 0050).
os.environ.setdefault(CHECK_HELD, "1")
REQUIRE_ALL = os.environ.get("YADORI_REQUIRE_ALL") == "1"


def require(reason: str) -> None:
    """Skip loudly, or fail when CI demands every test to run."""
    if REQUIRE_ALL:
        pytest.fail(f"YADORI_REQUIRE_ALL=1 and {reason}", pytrace=False)
    pytest.skip(f"SKIPPED LOUDLY: {reason}")


def _pg_url(database: str) -> str:
    base, _, _ = PG_ADMIN.rpartition("/")
    return f"{base}/{database}"


def _admin(sql: str) -> None:
    with psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=3) as conn:
        conn.execute(sql)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str]:
    """A migrated template database; per-test databases are cloned from it."""
    name = f"yadori_tpl_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    try:
        _admin(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError as exc:
        require(f"PostgreSQL is not reachable at {PG_ADMIN}: {exc}")
    engine = make_engine(_pg_url(name))
    upgrade(engine)
    engine.dispose()
    yield name
    _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def pg_url(pg_template: str) -> Iterator[str]:
    """A fresh, migrated PostgreSQL database for one test."""
    name = f"yadori_t_{uuid.uuid4().hex[:12]}"
    _admin(f'CREATE DATABASE "{name}" TEMPLATE "{pg_template}"')
    yield _pg_url(name)
    _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A fresh SQLite file for one test."""
    return f"sqlite:///{tmp_path / 'edge.db'}"


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest) -> str:
    """Each backend in turn: the same test runs on the edge's SQLite and central's PostgreSQL."""
    fixture = "sqlite_url" if request.param == "sqlite" else "pg_url"
    url: str = request.getfixturevalue(fixture)
    return url


@pytest.fixture
def node(db_url: str, tmp_path: Path) -> Iterator[Yadori]:
    """A bootstrapped node on the backend of the parameter (an edge with its keys provisioned)."""
    role = "edge" if db_url.startswith("sqlite") else "central"
    key_dir = tmp_path / "keys"
    if role == "edge":
        provision_edge_keys(key_dir, "edge1")
    yadori = bootstrap(NodeConfig(role, f"{role}1", role[0].upper(), db_url, key_dir=str(key_dir)))
    yield yadori
    yadori.close()


@pytest.fixture
def edge(sqlite_url: str, tmp_path: Path) -> Iterator[Yadori]:
    """A bootstrapped edge on SQLite only, with keys as if enrolled (no central: offline)."""
    key_dir = tmp_path / "keys"
    provision_edge_keys(key_dir, "edge1")
    yadori = bootstrap(NodeConfig("edge", "edge1", "E1", sqlite_url, key_dir=str(key_dir)))
    yield yadori
    yadori.close()


@pytest.fixture
def hotel(node: Yadori) -> Hotel:
    """A small hotel on the parameter's backend: 2 room types, 6 rooms, one rate plan."""
    return build_hotel(node)


@pytest.fixture
def edge_hotel(edge: Yadori) -> Hotel:
    """The small hotel on an edge's SQLite."""
    return build_hotel(edge)
