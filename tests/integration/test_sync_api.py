"""Sync endpoints in process: central's push/pull/heartbeat, the edge's status and tickets,
and central applying the same batch from two pushes at once."""

from __future__ import annotations

import itertools
import json
import threading
import zlib
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from rich.console import Console
from sqlalchemy import exc as sa_exc
from starlette.testclient import TestClient
from typer.testing import CliRunner

from support.auth import bearer, node_headers, provision_edge_keys, token_for, trust_actor
from support.hotel import ACTOR, Hotel, build_hotel
from support.locks import wait_until_blocked
from yadori.api.app import create_app
from yadori.bootstrap import NodeConfig, Yadori, bootstrap
from yadori.cli.main import app as cli
from yadori.cli.status_view import show_status
from yadori.services import commands as c
from yadori.services import replay_failures
from yadori.services.handlers.registry import HANDLERS
from yadori.services.sync_apply import CentralSync
from yadori.storage.repositories import feed_publish
from yadori.storage.repositories.ledger import SqlLedger, chain
from yadori.storage.tables import folio_lines, outbox, sync_dirty, sync_feed
from yadori.sync.mutation import Actor
from yadori.sync.protocol import (
    CRC_HEADER,
    MAX_BATCH_BYTES,
    MAX_BODY_BYTES,
    Batch,
    BatchItem,
    PageAsk,
    encode_batch,
)


@pytest.fixture
def central(pg_url: str) -> Iterator[Yadori]:
    """Central on a fresh PostgreSQL database."""
    node = bootstrap(NodeConfig("central", "central", "C", pg_url))
    yield node
    node.close()


def _pushed_by_an_edge(
    central: Yadori, tmp_path: Path, charges: int
) -> tuple[Yadori, Hotel, tuple[BatchItem, ...], CentralSync]:
    """An edge's hotel set-up and ``charges`` charges, as pushed items, and central's side."""
    edge = bootstrap(NodeConfig("edge", "e1", "E1", f"sqlite:///{tmp_path / 'e1.db'}"))
    hotel = build_hotel(edge)
    _charges(hotel, charges)
    items = tuple(_setup_items(edge, hotel))
    trust_actor(central, hotel.property_id, ACTOR)
    return edge, hotel, items, CentralSync(central.bus, _Clock())


@pytest.fixture
def one_by_one(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The ids of the mutations central falls back to applying one by one (after a run's
    results clashed with ones recorded meanwhile)."""
    applied: list[str] = []
    apply_one = CentralSync._apply_one

    def counted(self: CentralSync, item: BatchItem, system: str, held: set[str]) -> object:
        applied.append(item.mutation.id)
        return apply_one(self, item, system, held)

    monkeypatch.setattr(CentralSync, "_apply_one", counted)
    return applied


def _charges(hotel: Hotel, n: int) -> list[BatchItem]:
    """n charges made at the edge, as pushed items."""
    folio_id = hotel.folio_id(hotel.book())
    return [
        BatchItem(hotel.property_id, outcome.mutation, (f"folio:{folio_id}",))
        for outcome in hotel.charges([100] * n, folio_id)
    ]


def test_central_endpoints(central: Yadori, tmp_path: Path) -> None:
    """Heartbeat answers time and HLC; a push without its CRC header is a batch_corrupt problem;
    a push and a pull round-trip; status is not served at central."""
    edge = bootstrap(NodeConfig("edge", "e1", "E1", f"sqlite:///{tmp_path / 'e1.db'}"))
    hotel = build_hotel(edge)
    trust_actor(central, hotel.property_id, ACTOR)
    node = node_headers(central, "e1", (hotel.property_id,))
    with TestClient(create_app(central)) as api:
        beat = api.get("/sync/v1/heartbeat").json()
        assert isinstance(beat["time_ms"], int)
        assert beat["hlc"]
        anonymous = api.post("/sync/v1/push", content=b"x")
        assert (anonymous.status_code, anonymous.json()["code"]) == (401, "node_unauthenticated")
        bad = api.post("/sync/v1/push", content=b"x", headers=node)
        assert (bad.status_code, bad.json()["code"]) == (422, "batch_corrupt")
        body, crc = encode_batch(Batch("e1", 1, 0, tuple(_setup_items(edge, hotel))))
        pushed = api.post("/sync/v1/push", content=body, headers={CRC_HEADER: str(crc), **node})
        assert pushed.status_code == 200, pushed.text
        assert {r["result"] for r in pushed.json()["results"]} == {"applied"}
        page = api.get(
            "/sync/v1/pull", params={"origin": "e1", "property": hotel.property_id}, headers=node
        ).json()
        assert page["changes"]
        assert page["results"]
        staff = bearer(token_for(central, hotel.property_id))
        status = api.get("/sync/status", headers=staff).json()
        assert status == {"role": "central", "sync": "none"}
    edge.close()


def test_an_edge_asks_central_to_publish_aggregates_again(central: Yadori, tmp_path: Path) -> None:
    """What an edge set aside touched (decision 0064): central marks the aggregates it is asked
    for, of kinds the feed carries, and the next pull publishes them, one central does not
    hold as a tombstone. Only for an edge's own property, with its node token; a bad ask is a
    clear problem, and nothing is marked."""
    edge = bootstrap(NodeConfig("edge", "e1", "E1", f"sqlite:///{tmp_path / 'e1.db'}"))
    hotel = build_hotel(edge)
    trust_actor(central, hotel.property_id, ACTOR)
    node = node_headers(central, "e1", (hotel.property_id,))
    other = node_headers(central, "e2", ("another-property",))
    room = f"room:{hotel.rooms['101']}"
    ghost = "folio:00000000-0000-4000-8000-000000000000"
    with TestClient(create_app(central)) as api:
        body, crc = encode_batch(Batch("e1", 1, 0, tuple(_setup_items(edge, hotel))))
        pushed = api.post("/sync/v1/push", content=body, headers={CRC_HEADER: str(crc), **node})
        assert pushed.status_code == 200, pushed.text
        ask = {"origin": "e1", "property": hotel.property_id}
        cursor = api.get("/sync/v1/pull", params=ask, headers=node).json()["cursor"]
        refused = [
            (api.post("/sync/v1/republish", json=body, headers=headers), status, code)
            for body, headers, status, code in (
                (
                    {"property_id": hotel.property_id, "aggregates": [room]},
                    {},
                    401,
                    "node_unauthenticated",
                ),
                (
                    {"property_id": hotel.property_id, "aggregates": [room]},
                    other,
                    403,
                    "wrong_property",
                ),
                (
                    {"property_id": hotel.property_id, "aggregates": []},
                    node,
                    422,
                    "invalid_request",
                ),
                (
                    {"property_id": hotel.property_id, "aggregates": ["x" * 81]},
                    node,
                    422,
                    "invalid_request",
                ),
            )
        ]
        for answer, status, code in refused:
            assert (answer.status_code, answer.json()["code"]) == (status, code), answer.text
        with central.engine.connect() as conn:
            assert conn.execute(sa.select(sa.func.count()).select_from(sync_dirty)).scalar() == 0
        uncarried = {"property_id": hotel.property_id, "aggregates": ["nothing:carried"]}
        nothing = api.post("/sync/v1/republish", json=uncarried, headers=node)
        assert (nothing.status_code, nothing.json()) == (200, {"marked": 0})
        keys = [room, ghost, "nothing:carried"]
        asked = api.post(
            "/sync/v1/republish",
            json={"property_id": hotel.property_id, "aggregates": keys},
            headers=node,
        )
        assert (asked.status_code, asked.json()) == (200, {"marked": 2})
        page = api.get("/sync/v1/pull", params={**ask, "since": cursor}, headers=node).json()
        docs = {c["key"]: c["doc"] for c in page["changes"]}
        assert set(docs) == {room, ghost}
        assert docs[ghost] is None  # a tombstone: the edge deletes what only it created
        assert json.loads(docs[room])["rooms"][0]["number"] == "101"
        # never another property's aggregates (they would leak, and break its edges' foreign
        # keys), nor a key that names none (it would break every later publish of the property)
        other = build_hotel(central)
        cursor = page["cursor"]
        foreign = [
            f"property:{other.property_id}",
            f"room:{other.rooms['101']}",
            "folio:",
            f"room:{other.rooms['101']}x",  # longer than an id: PostgreSQL's cast would cut it
            f"room:{hotel.rooms['101']}x",
            f"room_service:{other.property_id}",
        ]
        own = f"property:{hotel.property_id}"
        asked = api.post(
            "/sync/v1/republish",
            json={"property_id": hotel.property_id, "aggregates": [*foreign, own]},
            headers=node,
        )
        assert (asked.status_code, asked.json()) == (200, {"marked": 1})
        page = api.get("/sync/v1/pull", params={**ask, "since": cursor}, headers=node).json()
        assert [c["key"] for c in page["changes"]] == [own]
    edge.close()


def test_a_push_larger_than_a_batch_may_be_is_refused_unread(
    central: Yadori, tmp_path: Path
) -> None:
    """A body longer than any bounded batch (declared, or streamed without a length) and a small
    body that inflates past the bound (a zip bomb) are refused whole with 413 batch_too_large,
    before central inflates or applies anything; the edge's next real batch is applied."""
    edge = bootstrap(NodeConfig("edge", "e1", "E1", f"sqlite:///{tmp_path / 'e1.db'}"))
    hotel = build_hotel(edge)
    trust_actor(central, hotel.property_id, ACTOR)
    node = node_headers(central, "e1", (hotel.property_id,))
    bomb = zlib.compressobj(9)
    inflating = b"".join(bomb.compress(bytes(2**20)) for _ in range(20)) + bomb.flush()
    too_long = bytes(MAX_BODY_BYTES + 1)

    def streamed() -> Iterator[bytes]:
        for start in range(0, len(too_long), 2**20):
            yield too_long[start : start + 2**20]

    with TestClient(create_app(central)) as api:
        headers = {CRC_HEADER: "0", **node}
        for body in (too_long, streamed(), inflating):
            refused = api.post("/sync/v1/push", content=body, headers=headers)
            assert refused.status_code == 413, refused.text
            problem = refused.json()
            assert (problem["code"], problem["limit"]) == ("batch_too_large", MAX_BATCH_BYTES)
            assert "more batches" in problem["detail"]
        body, crc = encode_batch(Batch("e1", 1, 0, tuple(_setup_items(edge, hotel))))
        pushed = api.post("/sync/v1/push", content=body, headers={CRC_HEADER: str(crc), **node})
        assert pushed.status_code == 200, pushed.text
        assert {r["result"] for r in pushed.json()["results"]} == {"applied"}
    edge.close()


def test_push_and_pull_answers_are_gzipped_for_an_edge_that_accepts_it(
    central: Yadori, tmp_path: Path
) -> None:
    """A recovery's pages are megabytes of JSON: they cross the WAN gzipped (httpx accepts it
    and decodes it), and plain to a client that does not accept it."""
    edge = bootstrap(NodeConfig("edge", "e1", "E1", f"sqlite:///{tmp_path / 'e1.db'}"))
    hotel = build_hotel(edge)
    _charges(hotel, 20)  # answers worth compressing
    trust_actor(central, hotel.property_id, ACTOR)
    node = node_headers(central, "e1", (hotel.property_id,))
    gzip_ok, plain = {**node, "Accept-Encoding": "gzip"}, {**node, "Accept-Encoding": "identity"}
    with TestClient(create_app(central)) as api:
        body, crc = encode_batch(Batch("e1", 1, 0, tuple(_setup_items(edge, hotel))))
        pushed = api.post("/sync/v1/push", content=body, headers={CRC_HEADER: str(crc), **gzip_ok})
        assert pushed.headers["content-encoding"] == "gzip"
        assert {r["result"] for r in pushed.json()["results"]} == {"applied"}
        pull = {"origin": "e1", "property": hotel.property_id}
        packed = api.get("/sync/v1/pull", params=pull, headers=gzip_ok)
        unpacked = api.get("/sync/v1/pull", params=pull, headers=plain)
        assert packed.headers["content-encoding"] == "gzip"
        assert "content-encoding" not in unpacked.headers
        assert packed.headers["vary"] == unpacked.headers["vary"] == "Accept-Encoding"
        assert packed.json()["changes"] == unpacked.json()["changes"]
        assert packed.json()["results"] == unpacked.json()["results"]
        assert int(packed.headers["content-length"]) * 3 < int(unpacked.headers["content-length"])
        small = api.get(  # a page with nothing new is not worth a gzip header
            "/sync/v1/pull",
            params={**pull, "since": packed.json()["cursor"], "results_after": 10**6},
            headers=gzip_ok,
        )
        assert small.json()["changes"] == []
        assert "content-encoding" not in small.headers
        for refused in ("gzip;q=0", "deflate, gzip; q=0.0", "br"):
            answer = api.get(
                "/sync/v1/pull", params=pull, headers={**node, "Accept-Encoding": refused}
            )
            assert "content-encoding" not in answer.headers, refused
        weighed = api.get(
            "/sync/v1/pull", params=pull, headers={**node, "Accept-Encoding": "gzip;q=0.5"}
        )
        assert weighed.headers["content-encoding"] == "gzip"
    edge.close()


def _setup_items(edge: Yadori, hotel: Hotel) -> list[BatchItem]:
    rows = edge.bus.read(hotel.property_id, lambda uow: uow.outbox.all())  # type: ignore[attr-defined]
    return [BatchItem(hotel.property_id, m, ()) for m in rows]


BUGS = {  # what a handler raising it makes of its mutation: rejected alone, or a failed push
    "a_python_error": (KeyError("a path no test took"), "rejected"),
    "sqlalchemy_refusing_the_code": (
        sa_exc.NoResultFound("no row, where .one() wanted one"),
        "rejected",
    ),
    "the_database_gone": (
        sa_exc.OperationalError("SELECT 1", {}, Exception("server closed the connection")),
        "push_fails",
    ),
}


@pytest.mark.parametrize("bug", BUGS)
def test_a_mutation_that_breaks_its_handler_is_rejected_alone(
    central: Yadori,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    bug: str,
) -> None:
    """A bug met by one mutation (its handler raises something no rule raises) must not stop
    the queue: central answers 200, that mutation is rejected with a reason staff can read and
    the traceback goes to central's log, once; the rest of its run is applied. Before, the push
    answered 500, which the edge takes for the link being down: nothing synced, ever (DESIGN
    §11). The database's own errors still fail the push, nothing applied, to be retried."""
    error, expected = BUGS[bug]
    edge = bootstrap(NodeConfig("edge", "e1", "E1", f"sqlite:///{tmp_path / 'e1.db'}"))
    hotel = build_hotel(edge)
    folio_id = hotel.folio_id(hotel.book())
    hotel.charges([100, 666, 300], folio_id)
    trust_actor(central, hotel.property_id, ACTOR)
    handler = HANDLERS[c.PostCharge]

    def buggy(cmd: c.Command, uow: object, ctx: object) -> object:
        assert isinstance(cmd, c.PostCharge)
        if cmd.amount == 666:
            raise error
        return handler(cmd, uow, ctx)  # type: ignore[arg-type]

    monkeypatch.setitem(HANDLERS, c.PostCharge, buggy)
    items = tuple(_setup_items(edge, hotel))
    node = node_headers(central, "e1", (hotel.property_id,))
    with (
        TestClient(create_app(central), raise_server_exceptions=False) as api,
        caplog.at_level("ERROR", "yadori.sync"),
    ):
        body, crc = encode_batch(Batch("e1", 1, 0, items))
        pushed = api.post("/sync/v1/push", content=body, headers={CRC_HEADER: str(crc), **node})
    with central.engine.connect() as conn:
        amounts = conn.execute(
            sa.text("SELECT amount FROM folio_lines WHERE folio_id = :f ORDER BY amount"),
            {"f": folio_id},
        ).scalars()
        posted = [a for a in amounts if a in (100, 300, 666)]
    if expected == "push_fails":
        assert pushed.status_code >= 500, pushed.text
        assert posted == []
        edge.close()
        return
    assert pushed.status_code == 200, pushed.text
    results = {r["mutation_id"]: r for r in pushed.json()["results"]}
    bad = next(i.mutation for i in items if i.mutation.args.get("amount") == 666)
    assert results[bad.id]["result"] == "rejected"
    assert results[bad.id]["reason"].startswith("replay_failed: central could not apply it")
    assert {r["result"] for k, r in results.items() if k != bad.id} == {"applied"}
    logged = [r for r in caplog.records if r.exc_info and bad.id in r.getMessage()]
    assert len(logged) == 1, logged  # not once per pass over the run
    assert posted == [100, 300]  # the charges either side of it are central's now
    edge.close()


def _refused_at_once(cmd: c.PostCharge, uow: Any, ctx: Any) -> object:
    """A line inserted for a folio that does not exist: a foreign key the database refuses as
    the statement runs (SQLSTATE 23503)."""
    row = {c_.name: None for c_ in folio_lines.columns}
    uow.connection.execute(
        sa.insert(folio_lines).values(
            {
                **row,
                "id": cmd.line_id,
                "folio_id": "no-such-folio",
                "position": 1,
                "kind": "charge",
                "category": "misc",
                "description": "",
                "amount": cmd.amount,
                "business_date": ctx.business_date,
                "tax_class": "standard",
                "tax_included": True,
                "posted_by": "x",
                "posted_at": ctx.at,
            }
        )
    )
    return None


def _refused_when_flushed(cmd: c.PostCharge, uow: Any, ctx: Any) -> object:
    """A line whose ``posted_by`` is too long for its column (a staff id no rule checks),
    written behind: the database refuses it (SQLSTATE 22001) only when the unit of work
    flushes, after later mutations have run."""
    long_actor = replace(ctx, actor=Actor("x" * 100, ctx.actor.token_id))
    return HANDLERS_BEFORE[c.PostCharge](cmd, uow, long_actor)


def _fails_when_flushed(cmd: c.PostCharge, uow: Any, ctx: Any) -> object:
    """A line posted at a naive time (a bug no rule catches): its column's type refuses it only
    when the unit of work writes the line, and not as the database's error."""
    naive = replace(ctx, at=ctx.at.replace(tzinfo=None))
    return HANDLERS_BEFORE[c.PostCharge](cmd, uow, naive)


HANDLERS_BEFORE = dict(HANDLERS)
REFUSED_DATA = {  # the bug, and the start of the reason its mutation is rejected with
    "a_foreign_key_at_once": (_refused_at_once, "central's database refused its data"),
    "too_long_when_flushed": (_refused_when_flushed, "central's database refused its data"),
    "a_bad_value_when_flushed": (_fails_when_flushed, "central could not apply it"),
}


@pytest.mark.parametrize("case", [f"{r}/{p}" for r in REFUSED_DATA for p in ("between", "last")])
def test_a_mutation_whose_rows_the_database_refuses_is_rejected_alone(
    central: Yadori,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    case: str,
) -> None:
    """A handler's bug that writes rows the database refuses for their data (a foreign key, a
    value too long: SQLSTATE classes 23 and 22, not a duplicate key) is refused the same way
    every time it is replayed. It must be rejected alone, like any other bug: before, it failed
    the push (422, which the edge reads as a refusal of the whole push), every time, and the
    queue never moved again. Whether the refusal comes as the statement runs or when its rows
    are flushed after later mutations ran, the right mutation is rejected; so is one whose rows
    fail to be written for another reason of its own (a value its column's type refuses), also
    as the run's last mutation, whose rows no later statement writes."""
    refused, _, place = case.partition("/")  # the bug, and where its mutation is in the run
    edge = bootstrap(NodeConfig("edge", "e1", "E1", f"sqlite:///{tmp_path / 'e1.db'}"))
    hotel = build_hotel(edge)
    folio_id = hotel.folio_id(hotel.book())
    hotel.charges([100, 666, 300] if place == "between" else [100, 300, 666], folio_id)
    trust_actor(central, hotel.property_id, ACTOR)
    handler, (bug, reason) = HANDLERS[c.PostCharge], REFUSED_DATA[refused]

    def buggy(cmd: c.Command, uow: object, ctx: object) -> object:
        assert isinstance(cmd, c.PostCharge)
        if cmd.amount == 666:
            return bug(cmd, uow, ctx)
        return handler(cmd, uow, ctx)  # type: ignore[arg-type]

    monkeypatch.setitem(HANDLERS, c.PostCharge, buggy)
    items = tuple(_setup_items(edge, hotel))
    node = node_headers(central, "e1", (hotel.property_id,))
    with (
        TestClient(create_app(central), raise_server_exceptions=False) as api,
        caplog.at_level("ERROR", "yadori.sync"),
    ):
        body, crc = encode_batch(Batch("e1", 1, 0, items, last=True))
        pushed = api.post("/sync/v1/push", content=body, headers={CRC_HEADER: str(crc), **node})
    assert pushed.status_code == 200, pushed.text
    results = {r["mutation_id"]: r for r in pushed.json()["results"]}
    bad = next(i.mutation for i in items if i.mutation.args.get("amount") == 666)
    assert results[bad.id]["result"] == "rejected"
    assert results[bad.id]["reason"].startswith(f"replay_failed: {reason}"), results[bad.id]
    assert {r["result"] for k, r in results.items() if k != bad.id} == {"applied"}
    assert len([r for r in caplog.records if bad.id in r.getMessage()]) == 1
    with central.engine.connect() as conn:
        amounts = conn.execute(
            sa.text("SELECT amount FROM folio_lines WHERE amount IN (100, 300, 666)")
        ).scalars()
        assert sorted(amounts) == [100, 300]  # the charges either side of it are central's
    edge.close()


def _decoder_breaks_on(amount: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Central's decoder of commands raises a TypeError on a charge of ``amount`` (a bug)."""
    decode = replay_failures.command_from

    def fragile(name: str, args: dict[str, object]) -> c.Command:
        if args.get("amount") == amount:
            raise TypeError("an argument of a kind the decoder never met")
        return decode(name, args)  # type: ignore[arg-type]

    monkeypatch.setattr(replay_failures, "command_from", fragile)


def test_a_mutation_whose_arguments_break_the_decoder_is_rejected_alone(
    central: Yadori, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same for a mutation whose arguments the decoder did not expect (it raises something
    other than a validation error): rejected alone, the rest applied."""
    edge = bootstrap(NodeConfig("edge", "e1", "E1", f"sqlite:///{tmp_path / 'e1.db'}"))
    hotel = build_hotel(edge)
    folio_id = hotel.folio_id(hotel.book())
    hotel.charges([100, 666, 300], folio_id)
    trust_actor(central, hotel.property_id, ACTOR)
    _decoder_breaks_on(666, monkeypatch)
    items = tuple(_setup_items(edge, hotel))
    results = CentralSync(central.bus, _Clock()).apply(items)
    bad = next(i.mutation for i in items if i.mutation.args.get("amount") == 666)
    by_id = {e.mutation_id: e for e in results}
    assert by_id[bad.id].result == "rejected"
    assert by_id[bad.id].reason.startswith("replay_failed: its arguments could not be read")
    assert {e.result for k, e in by_id.items() if k != bad.id} == {"applied"}
    edge.close()


@pytest.mark.parametrize("run", ["in_a_run", "one_by_one"])
def test_a_rejected_mutation_marks_only_what_its_edge_may_name(
    central: Yadori,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    one_by_one: list[str],
    run: str,
) -> None:
    """A rejected mutation's aggregates, which its edge names, are marked for the edge to get
    central's state back (0037); never another property's, nor a key that names none, and
    the property's next pull still works. So in a run, and applied one by one (a batch that
    names a mutation twice)."""
    edge = bootstrap(NodeConfig("edge", "e1", "E1", f"sqlite:///{tmp_path / 'e1.db'}"))
    hotel = build_hotel(edge)
    folio_id = hotel.folio_id(hotel.book())
    hotel.charges([100, 666], folio_id)
    trust_actor(central, hotel.property_id, ACTOR)
    other = build_hotel(central)
    _decoder_breaks_on(666, monkeypatch)
    named = (
        f"folio:{folio_id}",
        f"room:{other.rooms['101']}",
        f"property:{other.property_id}",
        "folio:",
        f"folio:{folio_id}x",
    )
    items = tuple(
        replace(i, aggregates=named) if i.mutation.args.get("amount") == 666 else i
        for i in _setup_items(edge, hotel)
    )
    central.sync_server.pull("e1", hotel.property_id, 0, 0, 5_000)  # type: ignore[union-attr]
    if run == "one_by_one":
        items = (*items, items[0])
    results = CentralSync(central.bus, _Clock()).apply(items)
    assert [e.result for e in results].count("rejected") == 1
    assert bool(one_by_one) == (run == "one_by_one")
    with central.engine.connect() as conn:
        marked = set(conn.execute(sa.select(sync_dirty.c.key)).scalars())
    assert f"{hotel.property_id}/folio:{folio_id}" in marked
    assert not any(other.property_id in key or key.endswith(("folio:", "x")) for key in marked)
    page = central.sync_server.pull("e1", hotel.property_id, 0, 0, 5_000)  # type: ignore[union-attr]
    assert page["changes"]
    edge.close()


def test_two_pushes_of_one_batch_at_once_apply_it_once(
    central: Yadori, tmp_path: Path, one_by_one: list[str]
) -> None:
    """The same batch pushed twice concurrently: every mutation applied once, same results.
    The second waits at the property's writer lock and finds the first one's results there:
    it never falls back to applying its items one by one (decision 0041)."""
    edge, hotel, items, sync = _pushed_by_an_edge(central, tmp_path, 30)
    answers: list[list[object]] = []
    threads = [threading.Thread(target=lambda: answers.append(sync.apply(items))) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert len(answers) == 2
    assert answers[0] == answers[1]
    assert one_by_one == []
    applied = central.bus.read(
        hotel.property_id, lambda uow: uow.ledger.results_of("e1", [i.mutation.seq for i in items])
    )
    assert len(applied) == len(items)
    edge.close()


def test_a_last_batch_pushed_twice_at_once_is_placed_and_published_once(
    central: Yadori, tmp_path: Path, one_by_one: list[str]
) -> None:
    """The push's last batch sent twice at once (a resend racing its first push): one applies,
    records, places and publishes it in its transaction; the other waits for the property's
    writer, finds every result, writes nothing, and places the batch as a resend (decision
    0042): both answers alike, the chain one batch long with no break, nothing left marked."""
    edge, hotel, items, _ = _pushed_by_an_edge(central, tmp_path, 10)
    server, pid = central.sync_server, hotel.property_id
    assert server is not None
    body, crc = encode_batch(Batch("e1", 1, 0, items, last=True))
    with ThreadPoolExecutor(2) as threads:
        pushes = [threads.submit(server.push, body, crc, "e1", (pid,)) for _ in range(2)]
        answers = [p.result(timeout=60) for p in pushes]
    assert answers[0] == answers[1]
    assert answers[0]["chain_ok"] is True
    assert one_by_one == []
    with central.engine.connect() as conn:
        assert chain(conn, "e1") == (crc, 1, 0)
    assert _marked(central) == []
    folio = f"{pid}/folio:{items[-1].mutation.args['folio_id']}"
    doc = _feed(central, folio)
    assert doc is not None
    assert len(doc["folio_lines"]) == 10  # type: ignore[arg-type]
    edge.close()


def test_a_resend_that_arrives_mid_apply_waits_and_finds_the_results(
    central: Yadori, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, one_by_one: list[str]
) -> None:
    """The resend of a batch arrives while central is still applying the batch (its answer
    was lost to a timeout). It waits at the property's writer lock, then finds every result
    recorded: nothing applied twice, no fall-back to applying items one by one (0041)."""
    edge, hotel, items, sync = _pushed_by_an_edge(central, tmp_path, 10)
    recording, go = threading.Event(), threading.Event()
    record_many = SqlLedger.record_many

    def held(self: SqlLedger, *args: Any, **kwargs: Any) -> None:
        if not recording.is_set():  # the first push, inside its transaction
            recording.set()
            assert go.wait(10)
        record_many(self, *args, **kwargs)

    monkeypatch.setattr(SqlLedger, "record_many", held)
    with ThreadPoolExecutor(2) as pool:
        first = pool.submit(sync.apply, items)
        assert recording.wait(10)
        resend = pool.submit(sync.apply, items)
        wait_until_blocked(central.engine, resend, "resend")  # type: ignore[arg-type]
        go.set()
        assert first.result(timeout=30) == resend.result(timeout=30)
    assert one_by_one == []
    folio_id = str(items[-1].mutation.args["folio_id"])
    lines = central.bus.read(hotel.property_id, lambda uow: uow.folios.get(folio_id).lines)
    assert len(lines) == 10
    edge.close()


def test_a_batch_naming_a_mutation_twice_falls_back_to_one_by_one_and_is_still_placed(
    central: Yadori, tmp_path: Path, one_by_one: list[str]
) -> None:
    """A push's last batch that names one charge twice: the run's results clash with each
    other as it records them, so its transaction is rolled back and each item is applied on
    its own, the second finding the first's result. The charge is posted once, both places
    answer alike, and the batch still takes its place in the chain, in a transaction of its
    own (decision 0042); what the items changed reaches the feed by the next pull."""
    edge, hotel, items, _ = _pushed_by_an_edge(central, tmp_path, 5)
    server, pid = central.sync_server, hotel.property_id
    assert server is not None
    twice = (*items, items[-1])
    body, crc = encode_batch(Batch("e1", 1, 0, twice, last=True))
    answer = server.push(body, crc, "e1", (pid,))
    results = answer["results"]
    assert isinstance(results, list)
    assert len(results) == len(twice)
    assert {r["result"] for r in results} == {"applied"}  # type: ignore[index]
    assert results[-1] == results[-2]
    assert one_by_one == [i.mutation.id for i in twice]
    assert answer["chain_ok"] is True
    with central.engine.connect() as conn:
        assert chain(conn, "e1") == (crc, 1, 0)
    folio_id = str(items[-1].mutation.args["folio_id"])
    lines = central.bus.read(pid, lambda uow: uow.folios.get(folio_id).lines)
    assert len(lines) == 5
    applied = central.bus.read(
        pid, lambda uow: uow.ledger.results_of("e1", [i.mutation.seq for i in items])
    )
    assert len(applied) == len(items)
    server.pull("e1", pid, 0, 0, 1_000)
    assert _marked(central) == []
    doc = _feed(central, f"{pid}/folio:{folio_id}")
    assert doc is not None
    assert len(doc["folio_lines"]) == 5  # type: ignore[arg-type]
    edge.close()


def test_a_batch_of_old_and_new_mutations_applies_only_the_new(
    central: Yadori, tmp_path: Path
) -> None:
    """A resend after a lost answer carries what central applied and what it never saw, in
    one run: the old ones get their recorded results back and are not applied again, the new
    ones are applied, each in its place. One new one is refused (an unknown token), so the
    run is redone with savepoints, and the old ones are still left out."""
    edge, hotel, items, sync = _pushed_by_an_edge(central, tmp_path, 30)
    first = sync.apply(items[:-20])
    # old and new interleaved, as a later batch chosen by lanes may hold them
    stranger = items[-5]
    refused = replace(stranger, mutation=replace(stranger.mutation, actor=Actor("x", "unknown")))
    mixed = items[-20:-10] + items[:-20] + items[-10:-5] + (refused,) + items[-4:]
    second = sync.apply(mixed)
    assert [e.mutation_id for e in second] == [i.mutation.id for i in mixed]
    by_id = {e.mutation_id: e for e in second}
    assert [by_id[e.mutation_id] for e in first] == first  # the recorded results, unchanged
    assert by_id[refused.mutation.id].result == "rejected"
    assert {e.result for e in second if e.mutation_id != refused.mutation.id} == {"applied"}
    folio_id = str(items[-1].mutation.args["folio_id"])
    lines = central.bus.read(hotel.property_id, lambda uow: uow.folios.get(folio_id).lines)
    assert len(lines) == 29  # every charge once, the refused one not at all
    recorded = central.bus.read(
        hotel.property_id, lambda uow: uow.ledger.results_of("e1", [i.mutation.seq for i in items])
    )
    assert len(recorded) == len(items)
    edge.close()


def test_a_last_batch_is_published_in_its_own_transaction(central: Yadori, tmp_path: Path) -> None:
    """Each batch is applied, recorded and placed in its origin's chain in one transaction;
    one that is not the last leaves what it changed marked for the next pull, as before; the
    push's last batch publishes its changes and the earlier marks in that same transaction,
    and the pull after it finds nothing marked and commits nothing (decision 0042)."""
    edge, hotel, items, _ = _pushed_by_an_edge(central, tmp_path, 6)
    server, pid = central.sync_server, hotel.property_id
    assert server is not None
    folio = f"{pid}/folio:{items[-1].mutation.args['folio_id']}"
    commits: list[object] = []
    sa.event.listen(central.engine, "commit", commits.append)
    first, first_crc = encode_batch(Batch("e1", 1, 0, items[:-3]))
    assert server.push(first, first_crc, "e1", (pid,))["chain_ok"] is True
    assert len(commits) == 1
    assert folio in _marked(central)
    assert _feed(central, folio) is None
    last, last_crc = encode_batch(Batch("e1", 2, first_crc, items[-3:], last=True))
    assert server.push(last, last_crc, "e1", (pid,))["chain_ok"] is True
    assert len(commits) == 2
    assert _marked(central) == []
    doc = _feed(central, folio)
    assert doc is not None
    assert len(doc["folio_lines"]) == 6  # type: ignore[arg-type]
    page = server.pull("e1", pid, 0, 0, 2_000)
    assert len(commits) == 2  # nothing to publish: no writer lock, no transaction
    assert folio.partition("/")[2] in {c["key"] for c in page["changes"]}  # type: ignore[index, union-attr]
    assert len(page["results"]) == len(items)  # type: ignore[arg-type]
    with central.engine.connect() as conn:
        assert chain(conn, "e1") == (last_crc, 2, 0)
    edge.close()


def test_a_last_batch_of_two_properties_publishes_the_last_runs_and_marks_the_first(
    central: Yadori, tmp_path: Path
) -> None:
    """One batch holding two properties' runs, sent as the last: the first run marks what it
    changed for that property's next pull; the last run publishes its own property's changes
    and places the batch in the chain (decision 0042). A pull of each property then serves its
    documents, and nothing is left marked."""
    edge = bootstrap(NodeConfig("edge", "e1", "E1", f"sqlite:///{tmp_path / 'e1.db'}"))
    first, second = build_hotel(edge), build_hotel(edge)
    for hotel in (first, second):
        trust_actor(central, hotel.property_id, ACTOR)
    made = {m.id: m for m in edge.bus.read(first.property_id, lambda uow: uow.outbox.all())}  # type: ignore[attr-defined]
    with edge.engine.connect() as conn:
        query = sa.select(outbox.c.id, outbox.c.property_id, outbox.c.aggregates)
        rows = conn.execute(query.order_by(outbox.c.seq)).all()
    items = tuple(
        BatchItem(
            r.property_id, made[r.id], tuple(k.partition("/")[2] for k in json.loads(r.aggregates))
        )
        for r in rows
    )
    runs = [pid for pid, _ in itertools.groupby(i.property_id for i in items)]
    assert runs == [first.property_id, second.property_id]
    server, both = central.sync_server, (first.property_id, second.property_id)
    assert server is not None
    body, crc = encode_batch(Batch("e1", 1, 0, items, last=True))
    answer = server.push(body, crc, "e1", both)
    assert {r["result"] for r in answer["results"]} == {"applied"}  # type: ignore[index, union-attr]
    assert answer["chain_ok"] is True
    with central.engine.connect() as conn:
        assert chain(conn, "e1") == (crc, 1, 0)
    marked = _marked(central)
    assert marked
    assert all(key.startswith(f"{first.property_id}/") for key in marked)
    for pid in both:
        page = server.pull("e1", pid, 0, 0, 2_000)
        assert f"property:{pid}" in {c["key"] for c in page["changes"]}  # type: ignore[index, union-attr]
    assert _marked(central) == []
    edge.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def either_central(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Yadori]:
    """Central on a SQLite file, then on a fresh PostgreSQL database."""
    url = (
        f"sqlite:///{tmp_path / 'central.db'}"
        if request.param == "sqlite"
        else request.getfixturevalue("pg_url")
    )
    node = bootstrap(NodeConfig("central", "central", "C", url))
    yield node
    node.close()


def test_a_pull_publishes_what_a_batch_marked_on_either_backend(
    either_central: Yadori, tmp_path: Path
) -> None:
    """A batch that is not the last leaves its changes marked; the pull publishes them and
    reads them back in the same answer. It looks for marks before it takes the writer's lock,
    and ends that read first: on SQLite an open read would hold the write lock the publishing
    needs, and would keep a snapshot from before it."""
    central = either_central
    edge, hotel, items, _ = _pushed_by_an_edge(central, tmp_path, 3)
    server, pid = central.sync_server, hotel.property_id
    assert server is not None
    body, crc = encode_batch(Batch("e1", 1, 0, items))
    server.push(body, crc, "e1", (pid,))
    folio = f"{pid}/folio:{items[-1].mutation.args['folio_id']}"
    assert folio in _marked(central)
    page = server.pull("e1", pid, 0, 0, 2_000)
    assert _marked(central) == []
    pulled = {c["key"]: c for c in page["changes"]}  # type: ignore[index, union-attr]
    doc = json.loads(str(pulled[folio.partition("/")[2]]["doc"]))  # type: ignore[index]
    assert len(doc["folio_lines"]) == 3
    edge.close()


def test_a_page_stops_at_its_documents_budget_and_the_next_goes_on(
    either_central: Yadori, tmp_path: Path
) -> None:
    """A page holds no more documents once they reach the page's budget of bytes (one at
    least): a folio of a long stay carries all its lines, and two thousand of them would make a
    request longer than the edge waits. Paged so, the pull reads every change once, in version
    order, as one page would; ``more`` holds until the last."""
    central = either_central
    edge, hotel, items, _ = _pushed_by_an_edge(central, tmp_path, 3)
    server, pid = central.sync_server, hotel.property_id
    assert server is not None
    body, crc = encode_batch(Batch("e1", 1, 0, items, last=True))
    server.push(body, crc, "e1", (pid,))
    whole = server.pull("e1", pid, 0, 0, 2_000)
    assert whole["more"] is False
    everything = [(c["key"], c["version"]) for c in whole["changes"]]  # type: ignore[index, union-attr]
    sizes = sorted(len(str(c["doc"] or "")) for c in whole["changes"])  # type: ignore[index, union-attr]
    server.page_bytes = sizes[-1] + sizes[-2]  # the two largest fill a page, at most
    paged: list[tuple[object, object]] = []
    since, pages = 0, 0
    while True:
        page = server.pull("e1", pid, since, 10**9, 2_000)
        changes = page["changes"]
        assert isinstance(changes, list)
        assert sum(len(str(c["doc"] or "")) for c in changes[:-1]) < server.page_bytes  # type: ignore[index]
        paged += [(c["key"], c["version"]) for c in changes]  # type: ignore[index]
        since, pages = int(page["cursor"]), pages + 1  # type: ignore[arg-type]
        if not page["more"]:
            break
    assert paged == everything
    assert pages > 1
    edge.close()


@pytest.mark.parametrize("last", [False, True], ids=["marked_by_a_batch", "published_by_the_last"])
def test_publishing_stops_after_a_while_and_the_next_pulls_go_on(
    central: Yadori, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, last: bool
) -> None:
    """A request publishes for a bounded time (a queue of a million leaves folios of thousands
    of lines to publish); what is left stays marked and the page says ``more``, so the edge
    pulls again and each pull publishes the next part. Every aggregate the batch changed
    reaches the feed once, and the pulls read all of it. Here each publish stops after its
    first chunk of two. What the batch changed is known first from a batch that only marks."""
    edge, hotel, items, _ = _pushed_by_an_edge(central, tmp_path, 3)
    server, pid = central.sync_server, hotel.property_id
    assert server is not None
    first, rest = items[:-1], items[-1:]
    body, crc = encode_batch(Batch("e1", 1, 0, first))
    server.push(body, crc, "e1", (pid,))  # marks, publishes nothing
    changed = {k.partition("/")[2] for k in _marked(central)}
    changed.add(f"folio:{rest[0].mutation.args['folio_id']}")
    monkeypatch.setattr(feed_publish, "PUBLISH_SECONDS", 0.0)
    monkeypatch.setattr(feed_publish, "FIRST_CHUNK", 2)
    body, crc = encode_batch(Batch("e1", 2, crc, rest, last=last))
    answer = server.push(body, crc, "e1", (pid,), PageAsk(pid, 0, 0, 2_000))
    page = answer["page"]
    assert isinstance(page, dict)
    assert len(_marked(central)) > 2  # more left than one publish takes
    pulled: list[str] = []
    pulls = 0
    while True:
        changes = page["changes"]
        assert isinstance(changes, list)
        assert len(changes) <= 2  # one chunk a request: the last batch's run, or the pull's
        pulled += [str(c["key"]) for c in changes]  # type: ignore[index]
        if not page["more"]:
            break
        pulls += 1
        page = server.pull("e1", pid, int(page["cursor"]), 10**9, 2_000)  # type: ignore[arg-type]
    assert _marked(central) == []
    assert sorted(pulled) == sorted(changed)  # each once, none lost
    assert pulls > 2
    edge.close()


def test_a_folio_of_many_lines_is_published_in_a_chunk_of_its_own(
    central: Yadori, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Chunks are weighed, not counted: a folio weighs more the more lines its document
    carries, so the folios of long stays are published a few at a time, each chunk bounded.
    Here a chunk weighs 4 at first, a line 1: the folio of six charges fills one alone."""
    monkeypatch.setattr(feed_publish, "PUBLISH_SECONDS", 0.0)
    monkeypatch.setattr(feed_publish, "FIRST_CHUNK", 4)
    monkeypatch.setattr(feed_publish, "LINES_PER_UNIT", 1)
    edge, hotel, items, _ = _pushed_by_an_edge(central, tmp_path, 6)
    server, pid = central.sync_server, hotel.property_id
    assert server is not None
    body, crc = encode_batch(Batch("e1", 1, 0, items))
    server.push(body, crc, "e1", (pid,))
    first = server.pull("e1", pid, 0, 0, 2_000)
    folio = f"folio:{items[-1].mutation.args['folio_id']}"
    assert [c["key"] for c in first["changes"]] == [folio]  # type: ignore[index, union-attr]
    assert first["more"] is True
    second = server.pull("e1", pid, int(first["cursor"]), 10**9, 2_000)  # type: ignore[arg-type]
    assert len(second["changes"]) == 4  # type: ignore[arg-type] # the next pull's chunk: 4 light keys
    edge.close()


def test_a_pull_waits_for_the_writer_holding_no_connection(central: Yadori, tmp_path: Path) -> None:
    """A pull that finds marks waits for the property's writer before it publishes them, and
    holds no pooled connection meanwhile (a queue of pulls holding one each could empty the
    pool the writer needs); once the writer is done it publishes and answers."""
    edge, hotel, items, _ = _pushed_by_an_edge(central, tmp_path, 3)
    server, pid = central.sync_server, hotel.property_id
    assert server is not None
    body, crc = encode_batch(Batch("e1", 1, 0, items))
    server.push(body, crc, "e1", (pid,))
    assert _marked(central)
    holding, done = threading.Event(), threading.Event()

    def hold(_: object) -> None:
        holding.set()
        assert done.wait(10)

    pool = central.engine.pool
    with ThreadPoolExecutor(2) as threads:
        writer = threads.submit(central.bus.in_unit, pid, hold)
        assert holding.wait(10)
        pull = threads.submit(server.pull, "e1", pid, 0, 0, 2_000)
        wait_until_blocked(central.engine, pull, "pull")  # type: ignore[arg-type]
        assert pool.checkedout() == 1  # type: ignore[attr-defined] # the writer's, no more
        done.set()
        writer.result(timeout=10)
        page = pull.result(timeout=10)
    assert _marked(central) == []
    assert len(page["results"]) == len(items)  # type: ignore[arg-type]
    edge.close()


def _marked(node: Yadori) -> list[str]:
    with node.engine.connect() as conn:
        return list(conn.execute(sa.select(sync_dirty.c.key)).scalars())


def _feed(node: Yadori, key: str) -> dict[str, object] | None:
    with node.engine.connect() as conn:
        doc = conn.execute(sa.select(sync_feed.c.doc).where(sync_feed.c.key == key)).scalar()
    return None if doc is None else json.loads(doc)


class _Clock:
    def now(self) -> datetime:
        return datetime.now(UTC)


def test_edge_tickets_endpoints_and_status_without_sync(tmp_path: Path) -> None:
    """An edge without central reports no sync; tickets list; an unknown ticket is 404."""
    provision_edge_keys(tmp_path / "keys", "e1")
    edge = bootstrap(
        NodeConfig(
            "edge", "e1", "E1", f"sqlite:///{tmp_path / 'e1.db'}", key_dir=str(tmp_path / "keys")
        )
    )
    hotel = build_hotel(edge)
    code = edge.directory.codes()[0]
    headers = bearer(token_for(edge, hotel.property_id))
    with TestClient(create_app(edge), headers=headers) as api:
        assert api.get("/sync/status").json() == {"role": "edge", "sync": "none"}
        assert api.get(f"/api/v1/properties/{code}/tickets", params={"status": "open"}).json() == []
        missing = api.post(
            f"/api/v1/properties/{code}/tickets/nope/resolve", json={"resolution": "x"}
        )
        assert missing.status_code == 404
        assert api.post("/sync/v1/push", content=b"").json()["code"] == "node_unauthenticated"
    assert hotel.run(c.SetRoomCondition(room_id=hotel.rooms["101"], condition=_dirty())).mutation
    edge.close()


def _dirty():  # type: ignore[no-untyped-def]
    from yadori.domain.rooms import Condition

    return Condition.DIRTY


def test_status_view_and_command(tmp_path: Path) -> None:
    """`yadori status` prints the link, the queue, every status row and the latest alerts; an
    unreachable edge is a clear error."""
    console = Console(record=True, width=100)
    show_status(
        console,
        {
            "link": "offline",
            "since": "2026-12-01T00:00:00+00:00",
            "queue": {"0": 2, "2": 1},
            "pending": 3,
            "oldest_pending_age_s": 4321,
            "round_trip_ms": 240,
            "heartbeat_timeout_ms": 880,
            "rejected": [{"id": "m1", "name": "post_charge", "reason": "x"}],
            "skew_ms": -734,
            "open_tickets": 2,
            "outage_started": "2026-12-01T00:00:01+00:00",
            "alerts": [
                {"at": f"2026-12-01T0{n}:00:00+00:00", "kind": "outage", "message": f"down {n}"}
                for n in range(7, 0, -1)  # newest first: the latest 5 are shown
            ],
        },
    )
    text = console.export_text()
    for word in ("offline", "payments", "rejected", "round trip ms", "240", "880", "4321"):
        assert word in text
    for row in ("skew ms", "open tickets", "outage started"):
        (line,) = [line for line in text.splitlines() if row in line]
        assert {"skew ms": "-734", "open tickets": "2"}.get(row, "2026-12-01T00:00:01") in line
    shown = [line for line in text.splitlines() if line.startswith("alert ")]
    assert shown == [f"alert 2026-12-01T0{n}:00:00+00:00 outage: down {n}" for n in range(7, 2, -1)]
    # an error's own text is printed as it is, brackets too (never read as markup)
    odd = "sync: ValidationError: [type=missing, input_value={}] [/x]"
    raw = Console(record=True, width=200)
    show_status(
        raw,
        {
            "link": "online",
            "since": "now",
            "rejected": [{"id": "m2", "reason": "[bold]x[/bold] [/y]"}],
            "alerts": [{"at": "t", "kind": "sync_error", "message": odd}],
        },
    )
    printed = raw.export_text()
    assert f"alert t sync_error: {odd}" in printed
    assert "[bold]x[/bold] [/y]" in printed
    show_status(console, {"role": "edge", "sync": "none"})
    assert "no sync" in console.export_text()
    japanese = Console(record=True, width=100)
    show_status(japanese, {"link": "offline", "since": "now", "queue": {"0": 2}}, "ja")
    text = japanese.export_text()
    for word in ("オフライン", "入金・売上", "未送信の操作", "本部が拒否した操作"):
        assert word in text
    for english in ("offline", "payments", "pending"):
        assert english not in text
    result = CliRunner().invoke(cli, ["status", "--url", "http://127.0.0.1:9"])
    assert result.exit_code == 1
    assert "cannot reach" in result.output
    _ = ACTOR
