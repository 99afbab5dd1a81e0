"""One hotel's wrong clock must not reach the other hotels of the chain (decision 0058).

Central follows the HLC of every mutation it replays, and every edge follows central's HLC at
each heartbeat and pull. Without a bound, an edge whose clock is a day ahead dragged central's
clock a day ahead, and through it every other hotel's: their commands were then recorded a day
late, and central refused their staff's writes as "made outside the token's lifetime". Central
runs in process on PostgreSQL; the edges on their own SQLite files; the batches are applied by
central's real sync service.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import yadori.bootstrap
from support.auth import trust_actor
from support.hotel import ACTOR, build_hotel
from yadori.auth.roles import Role, Scope
from yadori.bootstrap import NodeConfig, Yadori, bootstrap
from yadori.domain.ids import new_id
from yadori.domain.staff import Session
from yadori.services import commands as c
from yadori.services.sync_apply import CentralSync
from yadori.sync.hlc import MAX_AHEAD_MS, Timestamp
from yadori.sync.mutation import Actor
from yadori.sync.protocol import BatchItem

DAY_MS = 86_400_000
REAL_WALL_MS = yadori.bootstrap.wall_ms


class _Clock:
    def now(self) -> datetime:
        return datetime.now(UTC)


def _queued(edge: Yadori, property_id: str) -> tuple[BatchItem, ...]:
    """Everything the edge made, as a batch's items."""
    made = edge.bus.read(property_id, lambda uow: uow.outbox.all())
    return tuple(BatchItem(property_id, m, ()) for m in made)


@pytest.mark.postgres
def test_an_edge_a_day_ahead_moves_no_other_hotels_clock(
    pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Hotel B's edge is a day ahead: its changes apply, central's clock stays within the bound
    of real time and says why once, and hotel A's clerk, logged in online an hour ago for 12
    hours, still gets a charge accepted."""
    caplog.set_level(logging.ERROR, logger="yadori.sync")
    central = bootstrap(NodeConfig("central", "central", "C", pg_url))
    sync = CentralSync(central.bus, _Clock())
    a = bootstrap(NodeConfig("edge", "ea", "EA", f"sqlite:///{tmp_path / 'a.db'}"))
    with monkeypatch.context() as wrong:
        wrong.setattr(yadori.bootstrap, "wall_ms", lambda: REAL_WALL_MS() + DAY_MS)
        b = bootstrap(NodeConfig("edge", "eb", "EB", f"sqlite:///{tmp_path / 'b.db'}"))
    try:
        hotel_a, hotel_b = build_hotel(a), build_hotel(b)
        for hotel in (hotel_a, hotel_b):
            trust_actor(central, hotel.property_id, ACTOR)
        assert {r.result for r in sync.apply(_queued(a, hotel_a.property_id))} == {"applied"}
        from_b = _queued(b, hotel_b.property_id)
        assert len(from_b) > 5
        assert {r.result for r in sync.apply(from_b)} == {"applied"}  # B's own data is kept

        beat = central.bus.hlc.now()  # what central's heartbeat and pulls answer
        assert beat.wall_ms <= REAL_WALL_MS() + MAX_AHEAD_MS
        lines = [r.getMessage() for r in caplog.records if "ESCALATION hlc_ahead" in r.getMessage()]
        assert len(lines) == 1  # once for the node, not once per mutation
        assert "node eb stamps its changes 86" in lines[0]

        a.bus.hlc.observe(beat)  # as hotel A's monitor does at each heartbeat
        now = datetime.now(UTC)
        clerk = Actor("staff-9", "token-clerk")
        assert central.node_key is not None
        session = Session(
            token_id=clerk.token_id,
            staff_id=clerk.staff_id,
            kid=central.node_key.kid,
            role=Role.ADMIN.value,
            scopes=tuple(sorted(s.value for s in Scope)),
            offline=False,
            issued_at=now - timedelta(hours=1),
            expires_at=now + timedelta(hours=11),
        )
        central.bus.in_unit(hotel_a.property_id, lambda uow: uow.staff.add_session(session))
        folio = hotel_a.folio_id(hotel_a.book())
        charge = c.PostCharge(
            folio_id=folio, line_id=new_id(), category="minibar", description="tea", amount=400
        )
        made = a.bus.execute(hotel_a.property_id, charge, clerk).mutation
        assert made is not None
        # all of A's queue again: central answers those it applied before from its ledger
        results = {r.mutation_id: r for r in sync.apply(_queued(a, hotel_a.property_id))}
        assert results[made.id].result == "applied", results[made.id].reason
    finally:
        for node in (a, b, central):
            node.close()


def test_a_node_restarted_a_day_behind_its_stored_clock_says_so(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """An edge whose wall clock was set back a day (a reset battery) after it last synced:
    at restart its clock goes on from the stored time, in order, and one ESCALATION line tells
    IT why what it records is stamped a day ahead."""
    path = tmp_path / "edge.db"
    bootstrap(NodeConfig("edge", "e1", "E1", f"sqlite:///{path}")).close()
    stored = Timestamp(REAL_WALL_MS() + DAY_MS, 7, "C")
    with contextlib.closing(sqlite3.connect(path)) as conn, conn:
        conn.execute("INSERT INTO sync_state (name, value) VALUES ('hlc_seen', ?)", (str(stored),))
    caplog.set_level(logging.ERROR, logger="yadori.sync")
    edge = bootstrap(NodeConfig("edge", "e1", "E1", f"sqlite:///{path}"))
    try:
        assert edge.bus.hlc.now() > stored  # never an older stamp than one stored
    finally:
        edge.close()
    lines = [r.getMessage() for r in caplog.records if "hlc_restored_ahead" in r.getMessage()]
    assert len(lines) == 1
    assert "ESCALATION" in lines[0]
