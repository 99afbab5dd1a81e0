"""An edge that works and syncs with central until it is killed (test_sync_sigkill.py).

Arguments: the edge's SQLite URL, central's URL, the test hotel's ids as JSON, a seed. It runs
front-desk commands and a sync cycle in turn, forever, and prints a marker line at each point
the test may kill it at: ``command`` after a command committed, ``push``/``pull`` just before a
request leaves, ``pushed``/``pulled`` as soon as central's answer arrived (before the edge
recorded it), ``cycled`` after a whole cycle. Seeds 6-11, 18-23 and 30-35 push their last
batches with the first pull page riding back (decision 0049), as `yadori edge` does, with pages
of five so that pulls still follow; the others push and pull apart, as with an older central.
"""

from __future__ import annotations

import itertools
import json
import random
import sys
from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa

from yadori.bootstrap import NodeConfig, Yadori, bootstrap
from yadori.domain.errors import DomainError
from yadori.domain.ids import new_id
from yadori.domain.rooms import Condition
from yadori.services import commands as c
from yadori.storage.tables import folios
from yadori.sync.canonical import JSON
from yadori.sync.errors import SyncError
from yadori.sync.http_transport import HttpTransport
from yadori.sync.mutation import Actor
from yadori.sync.sync_ports import WorkerConfig
from yadori.sync.worker import SyncWorker

ACTOR = Actor("staff-1", "token-1")  # the test actor central was told about (support.hotel)


def say(marker: str) -> None:
    """Tell the test where the process stands."""
    print(marker, flush=True)


class MarkedTransport:
    """The edge's HTTP transport, announcing each request and each answer."""

    def __init__(self, inner: HttpTransport) -> None:
        self._inner = inner

    def push(self, body: bytes, crc: int) -> dict[str, JSON]:
        """Push, between two markers."""
        say("push")
        answer = self._inner.push(body, crc)
        say("pushed")
        return answer

    def pull(self, params: dict[str, str | int]) -> dict[str, JSON]:
        """Pull, between two markers."""
        say("pull")
        answer = self._inner.pull(params)
        say("pulled")
        return answer


class RidingMarkedTransport(MarkedTransport):
    """The same, also asking for the first pull page with a push (one request, one answer)."""

    def push_pulling(self, body: bytes, crc: int, params: dict[str, str | int]) -> dict[str, JSON]:
        """Push with the page's parameters, between the push's two markers."""
        say("push")
        answer = self._inner.push_pulling(body, crc, params)
        say("pushed")
        return answer


class Desk:
    """Random front-desk work at the edge: bookings, charges, payments, housekeeping."""

    def __init__(self, node: Yadori, ids: dict[str, object], rng: random.Random) -> None:
        self.node, self.ids, self.rng = node, ids, rng
        self.pid = str(ids["property_id"])
        with node.engine.connect() as conn:
            self.folios = list(conn.execute(sa.select(folios.c.id)).scalars())

    def one(self, n: int) -> None:
        """Run one random command (a refusal, such as a sold-out night, writes nothing)."""
        choice = self.rng.random()
        try:
            if choice < 0.25 or not self.folios:
                self._book(n)
            elif choice < 0.55:
                self._line(c.PostCharge, category="minibar", description="water")
            elif choice < 0.75:
                self._line(c.PostPayment, method="cash")
            else:
                rooms = self.ids["rooms"]
                assert isinstance(rooms, list)
                condition = self.rng.choice([Condition.DIRTY, Condition.CLEAN])
                self._run(c.SetRoomCondition(room_id=self.rng.choice(rooms), condition=condition))
        except DomainError:
            return
        say("command")

    def _book(self, n: int) -> None:
        arrival = date.fromisoformat(str(self.ids["today"])) + timedelta(days=n % 200)
        folio_id = new_id()
        self._run(
            c.CreateReservation(
                reservation_id=new_id(),
                folio_id=folio_id,
                guest_name=f"Guest {n}",
                arrival=arrival,
                departure=arrival + timedelta(days=1),
                adults=1,
                room_type_id=str(self.ids["room_type_id"]),
                rate_plan_id=str(self.ids["rate_plan_id"]),
            )
        )
        self.folios.append(folio_id)

    def _line(self, kind: type[c.PostCharge] | type[c.PostPayment], **fields: str) -> None:
        amount = self.rng.randint(100, 900)
        folio = self.rng.choice(self.folios)
        self._run(kind(folio_id=folio, line_id=new_id(), amount=amount, **fields))  # type: ignore[arg-type]

    def _run(self, command: c.Command) -> None:
        self.node.bus.execute(self.pid, command, ACTOR)


def main() -> None:
    """Work and sync until killed."""
    db_url, central_url, ids_json, seed = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    key_dir = sys.argv[5]  # the edge enrolled before it was first started
    ids = json.loads(ids_json)
    rng = random.Random(seed)
    config = NodeConfig("edge", "edge1", "E1", db_url, central_url=central_url, key_dir=key_dir)
    node = bootstrap(config)
    assert node.edge_store is not None
    assert node.transport is not None
    riding = (seed // 6) % 2 == 1  # every kill point, with and without the riding page
    batch_size, page_size = rng.choice((3, 10, 50)), rng.choice((5, 50))
    worker = SyncWorker(
        node.edge_store,
        (RidingMarkedTransport if riding else MarkedTransport)(node.transport),
        origin="edge1",
        properties=lambda: [ids["property_id"]],
        hlc=node.bus.hlc,
        now=lambda: datetime.now(UTC),
        config=WorkerConfig(batch_size=batch_size, page_size=5 if riding else page_size),
    )
    desk = Desk(node, ids, rng)
    say("ready")
    for n in itertools.count(seed * 10_000):
        for _ in range(rng.randint(1, 8)):
            desk.one(n)
        try:
            worker.cycle()
        except SyncError:
            say("sync-failed")
        say("cycled")


if __name__ == "__main__":
    main()
