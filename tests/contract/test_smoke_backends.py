"""The small hotel builds on both backends."""

from support.hotel import Hotel


def test_hotel_builds(hotel: Hotel) -> None:
    """Six rooms exist after the builder ran."""
    rooms = hotel.node.bus.read(hotel.property_id, lambda uow: uow.rooms.list())
    assert [r.number for r in rooms] == ["101", "102", "103", "104", "201", "202"]
