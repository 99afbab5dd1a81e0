"""Room service's pure rules: menu items, the price of an order, the policy, the lifecycle,
stock as a counter, and guest access."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from decimal import Decimal

import pytest

from yadori.domain.errors import InvalidInput
from yadori.domain.guest_access import (
    AttemptPolicy,
    Attempts,
    TooManyAttempts,
    new_token,
    surname_matches,
    token_hash,
)
from yadori.domain.inventory import StockMove, StockReason, check_stock, oversold
from yadori.domain.money import Rounding
from yadori.domain.roomservice import (
    InvalidOrderTransition,
    ItemUnavailable,
    MenuCategory,
    MenuItem,
    Order,
    OrderLine,
    OrderSource,
    OrderStatus,
    OutOfStock,
    PricedLine,
    PricePolicy,
    order_price,
    price_order,
)
from yadori.domain.taxes import TaxClass

NOW = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)


def item(**changes: object) -> MenuItem:
    """A curry at ¥1,800, changed as asked."""
    fields: dict[str, object] = {
        "id": "i1",
        "category_id": "c1",
        "code": "CURRY",
        "name_ja": "カレー",
        "name_en": "Curry",
        "price": 1_800,
    }
    fields.update(changes)
    return MenuItem(**fields)  # type: ignore[arg-type]


def line(quantity: int = 1, est: int = 1_800, unit: int = 1_800, rate: str = "0") -> OrderLine:
    """An order line of curry."""
    return OrderLine("i1", "カレー", "Curry", quantity, est, unit, TaxClass.STANDARD, Decimal(rate))


def order(*lines: OrderLine, status: OrderStatus = OrderStatus.ACCEPTED, **kw: object) -> Order:
    """An order of the lines (one curry by default)."""
    listed = lines or (line(),)
    est = order_price(listed, Rounding.FLOOR, estimated=True).total
    conf = order_price(listed, Rounding.FLOOR, estimated=False).total
    fields: dict[str, object] = {
        "id": "o1",
        "reservation_id": "r1",
        "folio_id": "f1",
        "room_number": "101",
        "source": OrderSource.GUEST,
        "status": status,
        "lines": listed,
        "estimated_total": est,
        "confirmed_total": conf,
        "policy": PricePolicy.LOWER,
        "placed_at": NOW,
    }
    fields.update(kw)
    return Order(**fields)  # type: ignore[arg-type]


# --- menu ---------------------------------------------------------------------------------------


def test_a_category_needs_its_names() -> None:
    """Code and both names are required."""
    assert MenuCategory("c1", "MAINS", "お食事", "Meals").position == 0
    with pytest.raises(InvalidInput):
        MenuCategory("c1", "MAINS", "お食事", " ")


@pytest.mark.parametrize(
    "changes",
    [
        {"name_en": ""},
        {"price": -1},
        {"price": 10_000_001},
        {"service_charge_rate": Decimal("1.5")},
        {"service_charge_rate": Decimal("-0.1")},
        {"available_from": time(7)},
        {"allergens": ("x" * 33,)},
        {"code": "X" * 17},
    ],
)
def test_an_item_refuses_impossible_values(changes: dict[str, object]) -> None:
    """Names, price range, service-charge range, both ends of the hours, allergen length."""
    with pytest.raises(InvalidInput):
        item(**changes)


def test_all_day_items_are_always_served() -> None:
    """No hours: served at any time."""
    assert item().served_at(time(3))


def test_a_window_within_a_day() -> None:
    """Breakfast 06:30–10:30: the end is not included."""
    breakfast = item(available_from=time(6, 30), available_until=time(10, 30))
    assert breakfast.served_at(time(6, 30))
    assert not breakfast.served_at(time(10, 30))
    assert not breakfast.served_at(time(5))


def test_a_window_past_midnight() -> None:
    """Late-night ramen 22:00–02:00."""
    ramen = item(available_from=time(22), available_until=time(2))
    assert ramen.served_at(time(23, 59))
    assert ramen.served_at(time(1))
    assert not ramen.served_at(time(2))
    assert not ramen.served_at(time(15))


def test_sold_out_or_out_of_hours_cannot_be_ordered() -> None:
    """Each refusal says why."""
    with pytest.raises(ItemUnavailable) as sold:
        item(sold_out=True).check_orderable(time(12))
    assert sold.value.facts["reason"] == "sold_out"
    with pytest.raises(ItemUnavailable) as late:
        item(available_from=time(22), available_until=time(2)).check_orderable(time(12))
    assert late.value.facts["reason"] == "hours"
    item().check_orderable(time(12))


def test_a_new_price_keeps_the_one_it_replaces() -> None:
    """The previous price is remembered so that estimates made before the change hold."""
    first = item().replacing(None)
    assert first.previous_price is None
    raised = item(price=2_000).replacing(first)
    assert raised.previous_price == 1_800
    renamed = item(price=2_000, name_en="Beef curry").replacing(raised)
    assert renamed.previous_price == 1_800
    assert renamed.recognises(2_000)
    assert renamed.recognises(1_800)
    assert not renamed.recognises(1)


# --- price --------------------------------------------------------------------------------------


def test_service_charge_is_rounded_once_per_rate() -> None:
    """Three ¥333 lines at 10 %: ¥99.9 floored once is ¥99, not 3 × ¥33."""
    lines = [PricedLine(1, 333, TaxClass.STANDARD, Decimal("0.10"))] * 3
    price = price_order(lines, Rounding.FLOOR)
    assert (price.items, price.service_charge, price.total) == (999, 99, 1_098)
    assert price_order(lines, Rounding.HALF_UP).service_charge == 100


def test_an_order_needs_lines_of_one_tax_class() -> None:
    """Empty orders and mixed 8 %/10 % orders are refused (one charge, one class)."""
    with pytest.raises(InvalidInput):
        price_order([], Rounding.FLOOR)
    with pytest.raises(InvalidInput):
        price_order(
            [
                PricedLine(1, 100, TaxClass.STANDARD, Decimal(0)),
                PricedLine(1, 100, TaxClass.REDUCED, Decimal(0)),
            ],
            Rounding.FLOOR,
        )


@pytest.mark.parametrize(
    ("policy", "estimated", "confirmed", "charged"),
    [
        (PricePolicy.LOWER, 1_800, 2_000, 1_800),
        (PricePolicy.LOWER, 2_000, 1_800, 1_800),
        (PricePolicy.CONFIRMED, 1_800, 2_000, 2_000),
        (PricePolicy.ESTIMATED, 1_800, 2_000, 1_800),
        (PricePolicy.ESTIMATED, 2_000, 1_800, 2_000),
    ],
)
def test_the_policy_chooses_the_charge(
    policy: PricePolicy, estimated: int, confirmed: int, charged: int
) -> None:
    """Lower (the default), confirmed, or estimated."""
    assert policy.charge(estimated, confirmed) == charged


def test_an_order_knows_its_charge_and_whether_the_price_changed() -> None:
    """Estimated ¥1,800, confirmed ¥2,000: charged ¥1,800, and the change is visible."""
    changed = order(line(est=1_800, unit=2_000))
    assert (changed.charge, changed.price_changed) == (1_800, True)
    assert not order().price_changed


@pytest.mark.parametrize(
    "bad",
    [
        {"lines": ()},
        {"notes": "x" * 501},
    ],
)
def test_an_order_refuses_impossible_values(bad: dict[str, object]) -> None:
    """No lines, overlong notes."""
    with pytest.raises(InvalidInput):
        order(**bad)


@pytest.mark.parametrize(("quantity", "est"), [(0, 100), (100, 100), (1, -1)])
def test_a_line_refuses_impossible_values(quantity: int, est: int) -> None:
    """Quantity 1–99, a real estimated price."""
    with pytest.raises(InvalidInput):
        line(quantity, est)


# --- lifecycle ----------------------------------------------------------------------------------


def test_an_order_moves_forward_and_may_skip() -> None:
    """Accepted → preparing → delivered (skipping delivering) is allowed."""
    preparing = order().advance(OrderStatus.PREPARING)
    assert preparing.advance(OrderStatus.DELIVERED).status is OrderStatus.DELIVERED
    assert preparing.advance(OrderStatus.CANCELLED).status is OrderStatus.CANCELLED


@pytest.mark.parametrize(
    ("start", "to"),
    [
        (OrderStatus.PREPARING, OrderStatus.ACCEPTED),
        (OrderStatus.DELIVERED, OrderStatus.CANCELLED),
        (OrderStatus.CANCELLED, OrderStatus.DELIVERED),
        (OrderStatus.DELIVERING, OrderStatus.DELIVERING),
    ],
)
def test_no_step_back_and_nothing_after_the_end(start: OrderStatus, to: OrderStatus) -> None:
    """A step back, a repeat, or any step out of delivered or cancelled is refused."""
    with pytest.raises(InvalidOrderTransition):
        order(status=start).advance(to)


def test_merging_keeps_the_later_in_the_lifecycle() -> None:
    """Delivered beats cancelled; cancelled beats preparing; an earlier step changes nothing."""
    cancelled = order(status=OrderStatus.CANCELLED)
    assert cancelled.merged(OrderStatus.DELIVERED).status is OrderStatus.DELIVERED
    assert order(status=OrderStatus.PREPARING).merged(OrderStatus.CANCELLED).status is (
        OrderStatus.CANCELLED
    )
    delivered = order(status=OrderStatus.DELIVERED)
    assert delivered.merged(OrderStatus.CANCELLED) is delivered


# --- stock --------------------------------------------------------------------------------------


def test_a_move_is_a_real_change() -> None:
    """Zero and absurd deltas are refused."""
    assert StockMove("m1", "i1", 5, StockReason.RESTOCK).delta == 5
    with pytest.raises(InvalidInput):
        StockMove("m1", "i1", 0, StockReason.RESTOCK)
    with pytest.raises(InvalidInput):
        StockMove("m1", "i1", 100_001, StockReason.RESTOCK)


def test_the_local_check_and_the_merged_invariant() -> None:
    """Taking more than the local count is refused; a merged negative is an oversell."""
    check_stock("i1", 2, 2)
    with pytest.raises(OutOfStock) as refused:
        check_stock("i1", -1, 1)
    assert refused.value.message == "only 0 left"
    assert oversold(-1)
    assert not oversold(0)


# --- guest access -------------------------------------------------------------------------------


def test_tokens_are_random_and_stored_as_hashes() -> None:
    """Two tokens differ; the hash is SHA-256 hex."""
    first, second = new_token(), new_token()
    assert first != second
    assert len(token_hash(first)) == 64


@pytest.mark.parametrize(
    ("name", "surname", "matches"),
    [
        ("Sato Taro", "sato", True),
        ("Taro Sato", "SATO", True),
        ("佐藤　太郎", "佐藤", True),
        ("Sato Taro", "ＳＡＴＯ", True),
        ("Mary-Jane O'Neil", "o'neil", True),
        ("Sato Taro", "Suzuki", False),
        ("Sato Taro", " ", False),
        ("Sato Taro", "satotaro", True),
    ],
)
def test_surname_matching(name: str, surname: str, matches: bool) -> None:
    """Either word order, full-width and case forgiven, an empty answer never matches."""
    assert surname_matches(name, surname) is matches


def test_attempts_lock_after_five_failures_and_unlock_later() -> None:
    """Five wrong answers lock for 15 minutes; after that counting starts again."""
    policy = AttemptPolicy()
    attempts = Attempts(0, NOW)
    for n in range(5):
        attempts.check(NOW + timedelta(seconds=n))
        attempts = attempts.failed(NOW + timedelta(seconds=n), policy)
    with pytest.raises(TooManyAttempts) as locked:
        attempts.check(NOW + timedelta(minutes=1))
    assert locked.value.facts["retry_after"] > 0
    later = NOW + timedelta(minutes=16)
    attempts.check(later)
    assert attempts.failed(later, policy).failures == 1


def test_the_window_restarts_after_it_passes() -> None:
    """Failures spread over more than the window never lock."""
    policy = AttemptPolicy(max_failures=2, window=timedelta(minutes=1))
    attempts = Attempts(0, NOW).failed(NOW, policy)
    attempts = attempts.failed(NOW + timedelta(minutes=2), policy)
    assert (attempts.failures, attempts.locked_until) == (1, None)
