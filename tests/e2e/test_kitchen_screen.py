"""The kitchen screen in real headless Chromium: orders arrive live by server-sent events and
move on with its buttons; delivery charges the folio once."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest

from conftest import require
from support.auth import PIN, add_staff, bearer, token_for
from support.browser import ARGS, CHROMIUM, chromium_missing, served
from support.hotel import Hotel
from support.roomservice import build_menu
from yadori.auth.roles import Role
from yadori.bootstrap import Yadori
from yadori.domain.folio import ChargeCategory
from yadori.domain.ids import new_id
from yadori.domain.reservations import Reservation

pytestmark = pytest.mark.slow
SHOTS = Path(__file__).resolve().parents[2] / "var" / "e2e"


@pytest.fixture
def page(edge: Yadori, edge_hotel: Hotel) -> Iterator[tuple[Any, str, str, Reservation]]:
    """The kitchen screen open on the edge; yields (page, base URL, menu item, stay)."""
    missing = chromium_missing()
    if missing:
        require(missing)
    from playwright.sync_api import sync_playwright

    menu = build_menu(edge_hotel)
    cook = add_staff(edge, edge_hotel.property_id, Role.KITCHEN)
    stay = edge_hotel.check_in(edge_hotel.book(room="101"), "101")
    code = edge.directory.codes()[0]
    with served(edge) as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        tab = browser.new_page(viewport={"width": 1024, "height": 768})
        tab.goto(f"{url}/kitchen/?p={code}")
        tab.fill("#login input[name=staff_code]", cook.code)  # the cook logs in first
        tab.fill("#login input[name=pin]", PIN)
        tab.click("#login button[type=submit]")
        tab.wait_for_selector("#link.live")
        yield tab, f"{url}/api/v1/properties/{code}/room-service", menu.item("CURRY"), stay
        browser.close()


def test_an_order_appears_live_and_is_walked_to_delivery(
    page: tuple[Any, str, str, Reservation], edge_hotel: Hotel
) -> None:
    """Placed by staff on the phone: it shows under accepted without a reload, then moves."""
    tab, base, curry, stay = page
    order_id = new_id()
    body = {"id": order_id, "reservation_id": stay.id, "lines": [{"item_id": curry, "quantity": 1}]}
    desk = bearer(token_for(edge_hotel.node, edge_hotel.property_id, Role.FRONT_DESK))
    assert httpx2.post(f"{base}/orders", json=body, headers=desk).status_code == 201
    card = f"li[data-order='{order_id}']"
    tab.wait_for_selector(f"section[data-status=accepted] {card}", timeout=20_000)
    for status in ("preparing", "delivering"):
        tab.click(f"{card} button:not(.cancel)")
        tab.wait_for_selector(f"section[data-status={status}] {card}", timeout=20_000)
    SHOTS.mkdir(parents=True, exist_ok=True)
    tab.screenshot(path=str(SHOTS / "kitchen.png"))
    tab.click(f"{card} button:not(.cancel)")
    tab.wait_for_selector(card, state="detached", timeout=20_000)
    lines = edge_hotel.node.bus.read(
        edge_hotel.property_id, lambda uow: uow.folios.for_reservation(stay.id).lines
    )
    assert [ln.amount for ln in lines if ln.category == ChargeCategory.ROOM_SERVICE.value] == [
        1_800
    ]
