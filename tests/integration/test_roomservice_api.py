"""Room service over the HTTP API in process: guest sign-in (token, room and surname, limited
attempts), the guest's menu and orders (exactly once by id), the kitchen's routes, problem+json."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from support.auth import bearer as staff_bearer
from support.auth import token_for
from support.hotel import Hotel
from support.roomservice import Menu, build_menu
from yadori.api.app import create_app
from yadori.auth.roles import Role
from yadori.bootstrap import Yadori
from yadori.domain.ids import new_id
from yadori.domain.reservations import Reservation


@pytest.fixture
def menu(edge_hotel: Hotel) -> Menu:
    """The test menu at the edge."""
    return build_menu(edge_hotel)


@pytest.fixture
def api(edge: Yadori, edge_hotel: Hotel, menu: Menu) -> Iterator[TestClient]:
    """A client of the edge's app with the hotel and its menu, logged in as the front desk.

    Guest calls send their own guest token in place of the desk's.
    """
    with TestClient(create_app(edge), raise_server_exceptions=True) as client:
        client.headers.update(
            staff_bearer(token_for(edge, edge_hotel.property_id, Role.FRONT_DESK))
        )
        yield client


@pytest.fixture
def code(edge: Yadori) -> str:
    """The test hotel's code."""
    return edge.directory.codes()[0]


@pytest.fixture
def stay(edge_hotel: Hotel) -> Reservation:
    """Sato Taro, in house in room 101."""
    return edge_hotel.check_in(edge_hotel.book(room="101", name="Sato Taro"), "101")


def staff_base(code: str) -> str:
    """The staff room-service path."""
    return f"/api/v1/properties/{code}/room-service"


@pytest.fixture
def token(api: TestClient, code: str, stay: Reservation) -> str:
    """A guest token made by the desk for the stay."""
    made = api.post(f"{staff_base(code)}/guest-tokens", json={"reservation_id": stay.id})
    assert made.status_code == 201, made.text
    body = made.json()
    assert body["link"].endswith(f"/guest/#p={code}&t={body['token']}")
    return str(body["token"])


def bearer(token: str) -> dict[str, str]:
    """The guest's header."""
    return {"Authorization": f"Bearer {token}"}


def order_body(menu: Menu, **extra: object) -> dict[str, object]:
    """Two curries at the price the page showed."""
    body: dict[str, object] = {
        "id": new_id(),
        "client_id": "tab-1",
        "lines": [{"item_id": menu.item("CURRY"), "quantity": 2, "unit_price": 1_800}],
        "estimated_total": 3_600,
    }
    body.update(extra)
    return body


def test_a_guest_orders_once_however_often_the_page_resends(
    api: TestClient, code: str, token: str, menu: Menu
) -> None:
    """201 the first time, 200 with the same order after; the kitchen sees it once."""
    base = f"/guest/v1/{code}"
    assert api.get(f"{base}/stay", headers=bearer(token)).json()["room_number"] == "101"
    shown = api.get(f"{base}/menu", headers=bearer(token)).json()
    curry = next(i for i in shown["items"] if i["code"] == "CURRY")
    assert (curry["price"], curry["stock"], shown["policy"]) == (1_800, 10, "lower")
    body = order_body(menu)
    first = api.post(f"{base}/orders", json=body, headers=bearer(token))
    assert first.status_code == 201, first.text
    again = api.post(f"{base}/orders", json=body, headers=bearer(token))
    assert again.status_code == 200
    assert again.json()["number"] == first.json()["number"]
    assert first.json()["confirmed_total"] == 3_600
    assert len(api.get(f"{base}/orders", headers=bearer(token)).json()) == 1
    kitchen = api.get(f"{staff_base(code)}/orders", params={"active": True}).json()
    assert [o["id"] for o in kitchen] == [body["id"]]
    assert menu.stock("CURRY") == 8


def test_the_kitchen_moves_an_order_to_delivery_and_it_is_charged_once(  # noqa: PLR0917 - fixtures
    api: TestClient, code: str, token: str, menu: Menu, stay: Reservation, edge_hotel: Hotel
) -> None:
    """Preparing, delivering, delivered (twice): one charge on the folio."""
    order = api.post(f"/guest/v1/{code}/orders", json=order_body(menu), headers=bearer(token))
    oid = order.json()["id"]
    for status in ("preparing", "delivering", "delivered", "delivered"):
        moved = api.post(f"{staff_base(code)}/orders/{oid}/advance", json={"status": status})
        assert moved.status_code == 200, moved.text
    back = api.post(f"{staff_base(code)}/orders/{oid}/advance", json={"status": "preparing"})
    assert (back.status_code, back.json()["code"]) == (409, "invalid_order_transition")
    folio_id = edge_hotel.folio_id(stay)
    lines = api.get(f"/api/v1/properties/{code}/folios/{folio_id}").json()["lines"]
    assert [ln["amount"] for ln in lines if ln["category"] == "room_service"] == [3_600]
    assert api.get(f"{staff_base(code)}/orders/{oid}").json()["status"] == "delivered"


def test_staff_take_an_order_and_count_stock(
    api: TestClient, code: str, stay: Reservation, menu: Menu
) -> None:
    """An order on the phone; a restock; an oversell refused with its code."""
    body = {
        "reservation_id": stay.id,
        "lines": [{"item_id": menu.item("TEA"), "quantity": 1}],
        "deliver_at": "2026-12-01T19:30:00+09:00",
    }
    taken = api.post(f"{staff_base(code)}/orders", json=body)
    assert taken.status_code == 201, taken.text
    assert taken.json()["source"] == "staff"
    restock = api.post(
        f"{staff_base(code)}/stock", json={"item_id": menu.item("CURRY"), "delta": 5}
    )
    assert restock.json()["stock"] == 15
    too_many = api.post(
        f"{staff_base(code)}/orders",
        json={
            "reservation_id": stay.id,
            "lines": [{"item_id": menu.item("CURRY"), "quantity": 16}],
        },
    )
    assert (too_many.status_code, too_many.json()["code"]) == (409, "out_of_stock")
    items = api.get(f"{staff_base(code)}/menu").json()["items"]
    assert {i["code"]: i["stock"] for i in items}["CURRY"] == 15


def test_the_menu_is_changed_only_at_central(
    api: TestClient, code: str, menu: Menu, edge: Yadori, edge_hotel: Hotel
) -> None:
    """At an edge, menu and policy changes answer 409 menu_owned_by_central (for a manager;
    the front desk may not change the menu at all: 403 role_forbidden)."""
    desk = api.put(f"{staff_base(code)}/price-policy", json={"policy": "confirmed"})
    assert (desk.status_code, desk.json()["code"]) == (403, "role_forbidden")
    api.headers.update(staff_bearer(token_for(edge, edge_hotel.property_id, Role.MANAGER)))
    item = {
        "category_id": menu.mains,
        "code": "SOUP",
        "name_ja": "スープ",
        "name_en": "Soup",
        "price": 900,
    }
    refused = api.put(f"{staff_base(code)}/menu/items/{new_id()}", json=item)
    assert (refused.status_code, refused.json()["code"]) == (409, "menu_owned_by_central")
    category = {"code": "X", "name_ja": "x", "name_en": "x"}
    assert (
        api.put(f"{staff_base(code)}/menu/categories/{new_id()}", json=category).status_code == 409
    )
    assert (
        api.put(f"{staff_base(code)}/price-policy", json={"policy": "confirmed"}).status_code == 409
    )


def test_a_guest_without_a_valid_token_is_refused(
    api: TestClient, code: str, stay: Reservation
) -> None:
    """The desk's staff token, a wrong token, no bearer: 401 guest_access_denied."""
    base = f"/guest/v1/{code}"
    for headers in ({}, bearer("nope"), {"Authorization": "Basic x"}, {"Authorization": ""}):
        refused = api.get(f"{base}/menu", headers=headers)
        assert (refused.status_code, refused.json()["code"]) == (401, "guest_access_denied")


def test_room_and_surname_sign_in_is_limited(api: TestClient, code: str, stay: Reservation) -> None:
    """The right surname gives a token; five wrong ones lock the room (429)."""
    base = f"/guest/v1/{code}"
    signed = api.post(f"{base}/session", json={"room": "101", "surname": "sato"})
    assert signed.status_code == 201, signed.text
    assert api.get(f"{base}/stay", headers=bearer(signed.json()["token"])).status_code == 200
    for _ in range(5):
        wrong = api.post(f"{base}/session", json={"room": "101", "surname": "Suzuki"})
        assert wrong.status_code == 401
    locked = api.post(f"{base}/session", json={"room": "101", "surname": "sato"})
    assert (locked.status_code, locked.json()["code"]) == (429, "too_many_attempts")
    other = api.post(f"{base}/session", json={"room": "102", "surname": "sato"})
    assert other.status_code == 401


def test_bad_guest_orders_are_problems(api: TestClient, code: str, token: str, menu: Menu) -> None:
    """Validation, unknown items and a foreign order id each have a stable code."""
    base = f"/guest/v1/{code}"
    empty = api.post(f"{base}/orders", json=order_body(menu, lines=[]), headers=bearer(token))
    assert (empty.status_code, empty.json()["code"]) == (422, "invalid_request")
    unknown = api.post(
        f"{base}/orders",
        json=order_body(menu, lines=[{"item_id": new_id(), "quantity": 1}]),
        headers=bearer(token),
    )
    assert (unknown.status_code, unknown.json()["code"]) == (404, "unknown_menu_item")
    assert api.get(f"{base}/heartbeat").json() == {"ok": True}


def test_the_guest_page_and_the_kitchen_screen_are_served(api: TestClient) -> None:
    """The page, its service worker and the kitchen screen come from the edge."""
    page = api.get("/guest/")
    assert page.status_code == 200
    assert "text/html" in page.headers["content-type"]
    worker = api.get("/guest/sw.js")
    assert worker.status_code == 200
    assert "javascript" in worker.headers["content-type"]
    assert api.get("/kitchen/").status_code == 200
