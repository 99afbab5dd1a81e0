"""Room service over real HTTP and a real WAN: central a `yadori central` process on PostgreSQL,
the edge in process on SQLite behind the TCP fault proxy, its API served over loopback.

A guest orders through the page's API; the kitchen presses "delivered" ten times while the WAN
is cut, cut mid-stream and restored between the edge's sync cycles; once healed, the stay's
folio holds exactly one charge for the order, at the edge and at central, and both hold the same
data.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx2
import pytest
import sqlalchemy as sa

from support.browser import served
from support.hotel import build_hotel
from support.nodes import central_process, edge_node, proxy_to
from support.roomservice import build_menu
from yadori.auth.roles import Role
from yadori.bootstrap import NodeConfig, Yadori, bootstrap
from yadori.cli.fault_proxy import FaultProxy
from yadori.domain.guest_access import new_token, token_hash
from yadori.domain.ids import new_id
from yadori.services import commands as c
from yadori.storage.checksums import property_checksums
from yadori.storage.engine import make_engine
from yadori.storage.tables import folio_lines
from yadori.sync.errors import SyncError

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


@dataclass
class Wan:
    """Central (process), the proxy, the edge (in process, served over HTTP) and a guest."""

    central_db: str
    proxy: FaultProxy
    edge: Yadori
    api: httpx2.Client
    code: str
    token: str
    folio_id: str
    items: dict[str, str]

    def cycle(self) -> bool:
        """One sync cycle of the edge; whether it got through."""
        assert self.edge.worker is not None
        try:
            self.edge.worker.cycle()
        except (SyncError, httpx2.HTTPError):
            return False
        return True

    def charges(self, node_db: sa.engine.Engine) -> list[int]:
        """Room-service charges on the stay's folio in a database."""
        with node_db.connect() as conn:
            query = sa.select(folio_lines.c.amount).where(
                folio_lines.c.folio_id == self.folio_id,
                folio_lines.c.category == "room_service",
            )
            return list(conn.execute(query).scalars())


@pytest.fixture
def wan(pg_url: str, tmp_path: Path) -> Iterator[Wan]:
    """Central seeded with the hotel, the menu, a stay in 101 and its guest token."""
    node = bootstrap(NodeConfig("central", "central", "C", pg_url))
    hotel = build_hotel(node)
    menu = build_menu(hotel)
    stay = hotel.check_in(hotel.book(room="101"), "101")
    token = new_token()
    hotel.run(
        c.IssueGuestToken(token_id=new_id(), reservation_id=stay.id, token_hash=token_hash(token))
    )
    folio_id, code = hotel.folio_id(stay), node.directory.codes()[0]
    node.close()
    with central_process(pg_url, tmp_path) as central, proxy_to(central) as proxy:
        cook = central.staff_headers(hotel.property_id, Role.KITCHEN)  # logged in at central
        edge = edge_node(tmp_path, proxy.url, (hotel.property_id,))
        try:
            with served(edge) as url, httpx2.Client(base_url=url, timeout=10) as api:
                made = Wan(pg_url, proxy, edge, api, code, token, folio_id, menu.items)
                api.headers.update(cook)
                assert made.cycle()  # the edge learns of the cook (and central's keys)
                yield made
        finally:
            proxy.set("pass")
            edge.close()


def test_a_delivery_pressed_ten_times_through_a_failing_wan_is_charged_once(wan: Wan) -> None:
    """Ordered by the guest, delivered ten times over HTTP between cuts: one charge."""
    guest = {"Authorization": f"Bearer {wan.token}"}
    order = {
        "id": new_id(),
        "lines": [
            {"item_id": wan.items["CURRY"], "quantity": 2, "unit_price": 1_800},
            {"item_id": wan.items["TEA"], "quantity": 1, "unit_price": 600},
        ],
    }
    placed = wan.api.post(f"/guest/v1/{wan.code}/orders", json=order, headers=guest)
    assert placed.status_code == 201, placed.text
    kitchen = f"/api/v1/properties/{wan.code}/room-service/orders/{order['id']}/advance"
    assert wan.api.post(kitchen, json={"status": "preparing"}).status_code == 200
    failed = 0
    for attempt in range(10):
        if attempt % 3 == 0:
            wan.proxy.set("cut")
            board = wan.api.get(f"/api/v1/properties/{wan.code}/room-service/orders")
            assert board.status_code == 200  # the kitchen screen's list, with the WAN down
        elif attempt % 3 == 1:
            wan.proxy.set("pass")
            wan.proxy.cut_mid_stream(300)
        else:
            wan.proxy.set("pass")
        pressed = wan.api.post(kitchen, json={"status": "delivered"})
        assert pressed.status_code == 200, pressed.text
        assert pressed.json()["status"] == "delivered"
        failed += not wan.cycle()
    assert failed >= 3  # the cuts did cut
    wan.proxy.set("pass")
    for _ in range(6):  # heal: until two quiet cycles
        assert wan.cycle()
    central = make_engine(wan.central_db)
    try:
        assert wan.charges(wan.edge.engine) == wan.charges(central) == [4_200]
        with wan.edge.engine.connect() as e, central.connect() as cdb:
            pid = wan.edge.directory.property_ids()[0]
            assert property_checksums(e, pid) == property_checksums(cdb, pid)
        assert wan.edge.edge_store is not None
        assert wan.edge.edge_store.pending_count() == 0
    finally:
        with contextlib.suppress(Exception):
            central.dispose()
