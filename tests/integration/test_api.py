"""The HTTP API end to end in process: routes, schemas, problem+json, OpenAPI."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from starlette.testclient import TestClient

from support.auth import bearer, token_for
from support.hotel import TODAY, Hotel, guest
from yadori.api.app import create_app
from yadori.bootstrap import Yadori

GUEST = {"name": "佐藤 太郎", "address": "東京都中央区日本橋1-1", "contact": "090-1234-5678"}


@pytest.fixture
def api(edge: Yadori, edge_hotel: Hotel) -> Iterator[TestClient]:
    """A client of the edge's app with the small hotel, logged in as an admin."""
    headers = bearer(token_for(edge, edge_hotel.property_id))
    with TestClient(create_app(edge), raise_server_exceptions=True, headers=headers) as client:
        yield client


@pytest.fixture
def base(edge: Yadori, edge_hotel: Hotel) -> str:
    """The path prefix of the test hotel."""
    code = edge.directory.codes()[0]
    return f"/api/v1/properties/{code}"


def _book(api: TestClient, base: str, hotel: Hotel, **extra: object) -> dict[str, object]:
    body = {
        "guest_name": "Sato",
        "arrival": TODAY.isoformat(),
        "departure": (TODAY + timedelta(days=2)).isoformat(),
        "adults": 1,
        "room_type_id": hotel.std,
        "rate_plan_id": hotel.plan,
        **extra,
    }
    response = api.post(f"{base}/reservations", json=body)
    assert response.status_code == 201, response.text
    result: dict[str, object] = response.json()
    return result


def test_health_and_openapi(api: TestClient) -> None:
    """Health answers with the node and queue; OpenAPI lists the front-desk paths."""
    health = api.get("/health").json()
    assert health["status"] == "ok"
    assert health["role"] == "edge"
    paths = api.get("/openapi.json").json()["paths"]
    for path in (
        "/api/v1/properties/{code}/reservations/{reservation_id}/check-in",
        "/api/v1/properties/{code}/folios/{folio_id}/payments",
        "/api/v1/properties/{code}/availability",
        "/api/v1/properties/{code}/quotes",
    ):
        assert path in paths


def test_front_desk_flow(api: TestClient, base: str, edge_hotel: Hotel) -> None:
    """Book, check in, charge, pay exactly what is due, check out; the room ends VD."""
    reservation = _book(api, base, edge_hotel)
    rid = reservation["id"]
    room = edge_hotel.rooms["101"]
    response = api.post(
        f"{base}/reservations/{rid}/check-in", json={"room_id": room, "guests": [GUEST]}
    )
    assert response.status_code == 200, response.text
    assert api.get(f"{base}/rooms/{room}").json()["status"] == "OC"
    folio = api.get(f"{base}/reservations/{rid}").json()["folio"]
    charge = {"category": "minibar", "description": "水", "amount": 300, "tax_class": "reduced"}
    assert api.post(f"{base}/folios/{folio['id']}/charges", json=charge).status_code == 201
    api.post(f"{base}/close-day", json={"business_date": TODAY.isoformat()})
    api.post(f"{base}/close-day", json={"business_date": (TODAY + timedelta(1)).isoformat()})
    due = api.get(f"{base}/folios/{folio['id']}").json()["settlement_due"]
    assert due == 11_000 * 2 + 100 * 2 + 300  # rooms, Tokyo accommodation tax, minibar
    api.post(f"{base}/folios/{folio['id']}/payments", json={"method": "cash", "amount": due})
    response = api.post(f"{base}/reservations/{rid}/check-out", json={})
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "checked_out"
    assert api.get(f"{base}/rooms/{room}").json()["status"] == "VD"


def test_problem_json_for_domain_errors(api: TestClient, base: str, edge_hotel: Hotel) -> None:
    """A missing registry field is a 422 problem naming the field; unknown ids are 404."""
    reservation = _book(api, base, edge_hotel)
    body = {"room_id": edge_hotel.rooms["101"], "guests": [{**GUEST, "address": ""}]}
    response = api.post(f"{base}/reservations/{reservation['id']}/check-in", json=body)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["code"] == "registry_data_missing"
    assert problem["field"] == "address"
    assert problem["type"].endswith("/registry_data_missing")
    missing = api.get(f"{base}/reservations/01234567-0000-7000-8000-000000000000")
    assert missing.status_code == 404
    assert missing.json()["code"] == "unknown_reservation"


def test_problem_json_for_bad_requests(api: TestClient, base: str) -> None:
    """Schema errors, unknown fields and unknown properties are problems with codes too."""
    response = api.post(f"{base}/reservations", json={"guest_name": "x", "surprise": 1})
    assert response.status_code == 422
    assert response.json()["code"] == "invalid_request"
    assert api.get("/api/v1/properties/NOPE/rooms").json()["code"] == "not_found"
    assert api.get("/nowhere").json()["code"] == "no_such_endpoint"


def test_a_nul_character_in_any_text_is_refused_at_entry(
    api: TestClient, base: str, edge_hotel: Hotel
) -> None:
    """SQLite would store it and PostgreSQL refuse it: central could never take what the edge
    took. Refused where staff type it, with the reason."""
    reservation = _book(api, base, edge_hotel)
    folio_id = api.get(f"{base}/reservations/{reservation['id']}").json()["folio"]["id"]
    charged = api.post(
        f"{base}/folios/{folio_id}/charges",
        json={"category": "misc", "description": "傘\x00", "amount": 500},
    )
    assert charged.status_code == 422
    assert charged.json()["code"] == "invalid_request"
    assert "NUL" in charged.text
    fine = {"category": "misc", "description": "傘", "amount": 500}
    assert api.post(f"{base}/folios/{folio_id}/charges", json=fine).status_code == 201


def test_room_conflict_and_overbooking(api: TestClient, base: str, edge_hotel: Hotel) -> None:
    """A room held on an overlapping night and a sold-out type are refused with 409."""
    first = _book(api, base, edge_hotel, room_id=edge_hotel.rooms["101"])
    assert first["room_id"] == edge_hotel.rooms["101"]
    clash = api.post(
        f"{base}/reservations",
        json={
            "guest_name": "Suzuki",
            "arrival": (TODAY + timedelta(1)).isoformat(),
            "departure": (TODAY + timedelta(3)).isoformat(),
            "room_type_id": edge_hotel.std,
            "rate_plan_id": edge_hotel.plan,
            "room_id": edge_hotel.rooms["101"],
        },
    )
    assert clash.status_code == 409
    assert clash.json()["code"] == "room_not_available"
    assert clash.json()["nights"] == [(TODAY + timedelta(1)).isoformat()]
    for _ in range(3):
        _book(api, base, edge_hotel)
    sold_out = api.post(
        f"{base}/reservations",
        json={
            "guest_name": "Ito",
            "arrival": TODAY.isoformat(),
            "departure": (TODAY + timedelta(1)).isoformat(),
            "room_type_id": edge_hotel.std,
            "rate_plan_id": edge_hotel.plan,
        },
    )
    assert sold_out.status_code == 409
    avail = api.get(
        f"{base}/availability",
        params={"from": TODAY.isoformat(), "to": (TODAY + timedelta(2)).isoformat()},
    )
    assert avail.json()["STD"][TODAY.isoformat()] == 0
    assert avail.json()["TWN"][TODAY.isoformat()] == 2


def test_void_and_housekeeping(api: TestClient, base: str, edge_hotel: Hotel) -> None:
    """A void is a new line naming the original; OOO needs a reason; inspected needs clean."""
    reservation = _book(api, base, edge_hotel)
    folio_id = api.get(f"{base}/reservations/{reservation['id']}").json()["folio"]["id"]
    line = api.post(
        f"{base}/folios/{folio_id}/charges",
        json={"category": "misc", "description": "傘", "amount": 500},
    ).json()
    void = api.post(f"{base}/folios/{folio_id}/lines/{line['id']}/void", json={"reason": "mistake"})
    assert void.status_code == 201
    assert void.json()["voids"] == line["id"]
    again = api.post(f"{base}/folios/{folio_id}/lines/{line['id']}/void", json={"reason": "twice"})
    assert again.json()["code"] == "void_refused"
    room = edge_hotel.rooms["104"]
    assert (
        api.post(f"{base}/rooms/{room}/service", json={"service": "out_of_order"}).json()["code"]
        == "invalid_input"
    )
    ooo = api.post(
        f"{base}/rooms/{room}/service", json={"service": "out_of_order", "reason": "leak"}
    )
    assert ooo.json()["status"] == "OOO"
    api.post(f"{base}/rooms/{room}/service", json={"service": "in_service"})
    api.post(f"{base}/rooms/{room}/condition", json={"condition": "dirty"})
    refused = api.post(f"{base}/rooms/{room}/condition", json={"condition": "inspected"})
    assert refused.json()["code"] == "invalid_room_transition"


def test_quote(api: TestClient, base: str, edge_hotel: Hotel) -> None:
    """A quote of two nights at ¥11,000 tax included in Tokyo: ¥100 tax per person-night."""
    body = {
        "room_type_id": edge_hotel.std,
        "rate_plan_id": edge_hotel.plan,
        "arrival": TODAY.isoformat(),
        "departure": (TODAY + timedelta(2)).isoformat(),
        "adults": 1,
    }
    quote = api.post(f"{base}/quotes", json=body).json()
    assert quote["total"] == 11_000 * 2 + 100 * 2
    standard = next(r for r in quote["rates"] if r["tax_class"] == "standard")
    assert standard["tax"] == 2_000


def test_actor_is_recorded(api: TestClient, base: str, edge: Yadori, edge_hotel: Hotel) -> None:
    """The token's staff member and token id end up on the mutation; spoofing headers is moot."""
    me = api.get(f"{base}/auth/me").json()
    api.post(
        f"{base}/reservations",
        headers={"X-Staff-Id": "desk-7", "X-Token-Id": "tok-9"},
        json={
            "guest_name": "Kato",
            "arrival": TODAY.isoformat(),
            "departure": (TODAY + timedelta(1)).isoformat(),
            "room_type_id": edge_hotel.std,
            "rate_plan_id": edge_hotel.plan,
        },
    )
    last = edge.bus.read(edge_hotel.property_id, lambda uow: uow.outbox.all()[-1])  # type: ignore[attr-defined]
    assert (last.actor.staff_id, last.actor.token_id) == (me["staff_id"], me["token_id"])
    assert last.checksum_ok()
    _ = guest
