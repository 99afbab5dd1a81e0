"""Room service in the demo: the menu central seeds, and the outage drill's orders.

During the outage the drill orders from the guest page's API (``/guest/v1/…``) for in-house
guests, each with the guest token the desk made for their stay, resends one order as a page
does after a lost answer (taken once), and the kitchen walks the orders to delivery (each
charged to its folio once) or cancels one. Meanwhile central raises a price (the edge confirmed
the old one: the guest pays the lower) and counts cakes out that the edge is selling (an
oversell ticket once the link is back).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx2

from yadori.cli.demo_day import DemoFailed, Desk, Step
from yadori.cli.demo_menu import demo_id
from yadori.domain.ids import new_id

ORDERING_ROOMS = 6


@dataclass
class RoomServiceReport:
    """What room service did during the outage, and what the sync made of it."""

    orders: int = 0
    resent: int = 0
    delivered: int = 0
    cancelled: int = 0
    charged_yen: int = 0
    refused: list[str] = field(default_factory=list)
    order_ids: list[str] = field(default_factory=list)
    central_changes: list[str] = field(default_factory=list)
    guest_link: str = ""  # the first ordering guest's page, to open in a browser

    @property
    def operations(self) -> int:
        """Writes made at the edge: tokens, orders and their steps."""
        return self.orders * 2 + self.delivered * 3 + self.cancelled  # token + order, 3 steps


class Kitchen:
    """The guest page's API and the kitchen's, as the drill drives them."""

    def __init__(self, client: httpx2.Client, code: str, rng: random.Random) -> None:
        self.client = client
        self.code = code
        self.desk = Desk(client, code)
        self.rng = rng

    def guests(self, night: str) -> list[dict[str, Any]]:
        """Stays in house tonight."""
        found: list[dict[str, Any]] = self.desk.get(
            "/reservations", in_house_on=night, status="checked_in"
        )
        return found

    def token(self, reservation_id: str) -> tuple[str, str]:
        """The guest link the desk made for a stay: (token, link)."""
        made = self.desk.post("/room-service/guest-tokens", {"reservation_id": reservation_id})
        return str(made["token"]), str(made["link"])

    def guest(self, method: str, path: str, token: str, body: object = None) -> httpx2.Response:
        """A call of the guest page's API."""
        return self.client.request(
            method,
            f"/guest/v1/{self.code}{path}",
            json=body,
            headers={"Authorization": f"Bearer {token}"},
        )

    def advance(self, order_id: str, status: str) -> dict[str, Any]:
        """A kitchen step."""
        moved: dict[str, Any] = self.desk.post(
            f"/room-service/orders/{order_id}/advance", {"status": status}
        )
        return moved


def order_steps(kitchen: Kitchen, report: RoomServiceReport, night: str) -> list[Step]:
    """Guests order from their rooms through the page's API: a few orders, one resent."""
    guests = kitchen.guests(night)[:ORDERING_ROOMS]
    steps = []
    for n, stay in enumerate(guests):
        steps.append(Step(f"room {n + 1} orders room service", _order(kitchen, report, stay, n)))
    return steps


def _order(
    kitchen: Kitchen, report: RoomServiceReport, stay: dict[str, Any], n: int
) -> Callable[[], None]:
    def run() -> None:
        token, link = kitchen.token(stay["id"])
        report.guest_link = report.guest_link or link
        menu = kitchen.guest("GET", "/menu", token).json()
        items = {i["code"]: i for i in menu["items"]}
        codes = kitchen.rng.sample(["CURRY", "CLUB", "SOBA", "TEA", "BEER"], 2)
        if n < 3:
            codes.append("CAKE")  # the edge sells cakes central is counting out
        order_id = new_id()
        body = {
            "id": order_id,
            "client_id": f"room-{n}",
            "lines": [
                {"item_id": items[c]["id"], "quantity": 1, "unit_price": items[c]["price"]}
                for c in codes
            ],
        }
        placed = kitchen.guest("POST", "/orders", token, body)
        if placed.status_code != 201:
            report.refused.append(placed.json().get("code", str(placed.status_code)))
            return
        report.orders += 1
        report.order_ids.append(order_id)
        if n == 0:  # the page lost the answer and sends the order again: taken once
            again = kitchen.guest("POST", "/orders", token, body)
            if again.status_code != 200 or again.json()["number"] != placed.json()["number"]:
                raise DemoFailed(
                    f"a resent order was not answered with the same order: {again.text}"
                )
            report.resent += 1

    return run


def kitchen_steps(kitchen: Kitchen, report: RoomServiceReport) -> list[Step]:
    """The kitchen walks each order to the room (charged once); the last one is cancelled."""
    steps = []
    for n, order_id in enumerate(report.order_ids):
        if n == len(report.order_ids) - 1 and n > 0:
            steps.append(Step("an order is cancelled", _cancel(kitchen, report, order_id)))
        else:
            steps.append(Step("room service delivered", _deliver(kitchen, report, order_id)))
    return steps


def _deliver(kitchen: Kitchen, report: RoomServiceReport, order_id: str) -> Callable[[], None]:
    def run() -> None:
        for status in ("preparing", "delivering", "delivered"):
            order = kitchen.advance(order_id, status)
        report.delivered += 1
        report.charged_yen += int(order["charge"])

    return run


def _cancel(kitchen: Kitchen, report: RoomServiceReport, order_id: str) -> Callable[[], None]:
    def run() -> None:
        kitchen.advance(order_id, "cancelled")
        report.cancelled += 1

    return run


def central_steps(central: Desk, report: RoomServiceReport) -> list[Step]:
    """Central raises the curry's price and counts four cakes out, unaware of the hotel."""
    curry = demo_id("menu_item:CURRY")

    def raise_price() -> None:
        central.client.put(
            f"{central.base}/room-service/menu/items/{curry}",
            json={
                "category_id": demo_id("menu_category:MAINS"),
                "code": "CURRY",
                "name_ja": "和牛カレー",
                "name_en": "Wagyu curry",
                "price": 2_600,
                "service_charge_rate": "0.10",
                "allergens": ["wheat", "milk"],
            },
        ).raise_for_status()
        report.central_changes.append("central raised the wagyu curry from ¥2,400 to ¥2,600")

    def count_out() -> None:
        central.post(
            "/room-service/stock",
            {"item_id": demo_id("menu_item:CAKE"), "delta": -4, "note": "dropped a tray"},
        )
        report.central_changes.append("central counted 4 of the 5 matcha cakes out")

    return [
        Step("central raises a menu price", raise_price),
        Step("central counts cakes out", count_out),
    ]
