"""The room-service page in real headless Chromium (Debian's, through Playwright).

Three orders placed with the browser offline, the page reloaded offline (from the service
worker), the link back: each order reaches the edge exactly once and shows its confirmed
price. Orders queued in a tab that was then closed are sent when the page is opened again.
Screenshots in Japanese and English, checked for overflow and missing glyphs.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from conftest import require
from support.browser import ARGS, CHROMIUM, chromium_missing, served
from support.hotel import Hotel
from support.roomservice import Menu, build_menu
from yadori.bootstrap import Yadori
from yadori.domain.guest_access import new_token, token_hash
from yadori.domain.ids import new_id
from yadori.services import commands as c
from yadori.storage.tables import outbox, room_service_orders

SHOTS = Path(__file__).resolve().parents[2] / "var" / "e2e"
PHONE = {"width": 390, "height": 844}

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's Chromium, headless."""
    missing = chromium_missing()
    if missing:
        require(missing)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield launched
        launched.close()


@pytest.fixture
def site(edge: Yadori, edge_hotel: Hotel) -> Iterator[tuple[str, str, Menu]]:
    """The edge over HTTP with a menu and an in-house guest; yields (base URL, link, menu)."""
    menu = build_menu(edge_hotel)
    stay = edge_hotel.check_in(edge_hotel.book(room="101", name="Sato Taro"), "101")
    token = new_token()
    edge_hotel.run(
        c.IssueGuestToken(token_id=new_id(), reservation_id=stay.id, token_hash=token_hash(token))
    )
    code = edge.directory.codes()[0]
    with served(edge) as url:
        yield url, f"{url}/guest/#p={code}&t={token}", menu


def orders_at_edge(edge: Yadori) -> list[str]:
    """Ids of the orders the edge holds."""
    with edge.engine.connect() as conn:
        return [r.id for r in conn.execute(sa.select(room_service_orders.c.id))]


def place_mutations(edge: Yadori) -> int:
    """place_order mutations in the edge's outbox (one per order, if each arrived once)."""
    with edge.engine.connect() as conn:
        query = sa.select(sa.func.count()).select_from(outbox).where(outbox.c.name == "place_order")
        return int(conn.execute(query).scalar_one())


def open_page(context: Any, link: str) -> Any:
    """Open the page and wait until the service worker controls it and the menu is shown."""
    page = context.new_page()
    page.goto(link)
    page.wait_for_function("navigator.serviceWorker.controller !== null", timeout=15_000)
    page.wait_for_selector("button[data-item=TEA]:not([disabled])")
    return page


def order_tea(page: Any, cups: int) -> None:
    """Put ``cups`` teas in the cart and place the order."""
    for _ in range(cups):
        page.click("button[data-item=TEA]")
    page.click("#place")


def test_orders_placed_offline_arrive_once_with_their_confirmed_price(
    browser: Any, site: tuple[str, str, Menu], edge: Yadori
) -> None:
    """Three orders offline, a reload offline, then online: three orders, once each."""
    _, link, _ = site
    context = browser.new_context(viewport=PHONE, locale="ja-JP")
    page = open_page(context, link)
    page.wait_for_function("() => caches.has('yadori-guest-data-v1')")
    page.reload()  # the menu is fetched again through the worker, which keeps a copy
    page.wait_for_selector("button[data-item=TEA]:not([disabled])")
    context.set_offline(True)
    page.wait_for_selector("#banner[data-state=offline]")
    for cups in (1, 2, 3):
        order_tea(page, cups)
    page.wait_for_selector("#banner[data-queued='3']")
    assert orders_at_edge(edge) == []
    reloaded = page.reload()  # offline: the page and the menu come from the service worker
    assert reloaded is not None
    assert reloaded.from_service_worker
    page.wait_for_selector("button[data-item=TEA]:not([disabled])")
    assert page.locator("#orders li .state[data-state=queued]").count() == 3
    context.set_offline(False)
    page.wait_for_selector("#banner[data-state=confirmed]", timeout=20_000)
    assert page.locator("#orders li .state[data-state=confirmed]").count() == 3
    assert sorted(orders_at_edge(edge)) == sorted(
        page.eval_on_selector_all("#orders li", "els => els.map(e => e.dataset.order)")
    )
    assert place_mutations(edge) == 3
    text = page.inner_text("#orders")
    for total in ("600円", "1,200円", "1,800円"):
        assert f"確定 {total}" in text
    assert "1,800円" in page.inner_text("#banner")
    context.close()


def test_orders_queued_in_a_closed_tab_are_sent_when_the_page_opens_again(
    browser: Any, site: tuple[str, str, Menu], edge: Yadori
) -> None:
    """Two orders queued offline, the tab closed, the link back: sent at the next opening."""
    url, link, _ = site
    context = browser.new_context(viewport=PHONE, locale="en-GB")
    page = open_page(context, link)
    context.set_offline(True)
    order_tea(page, 1)
    order_tea(page, 2)
    page.wait_for_selector("#banner[data-queued='2']")
    page.close()
    context.set_offline(False)
    assert orders_at_edge(edge) == []
    again = context.new_page()
    again.goto(f"{url}/guest/")  # the session is remembered; the queue is in IndexedDB
    again.wait_for_selector("#banner[data-state=confirmed]", timeout=20_000)
    assert len(orders_at_edge(edge)) == 2
    assert place_mutations(edge) == 2
    context.close()


GLYPHS = """
() => {
  const text = document.body.innerText.replace(/\\s/g, '');
  const font = getComputedStyle(document.body).fontFamily;
  const canvas = document.createElement('canvas');
  canvas.width = 40; canvas.height = 40;
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  const draw = (ch) => {
    ctx.clearRect(0, 0, 40, 40); ctx.font = `24px ${font}`; ctx.fillText(ch, 4, 30);
    return ctx.getImageData(0, 0, 40, 40).data.join(',');
  };
  const tofu = draw('\\u{10FFFD}');
  return [...new Set(text)].filter((ch) => draw(ch) === tofu);
}
"""

OVERFLOW = """
() => {
  const width = document.documentElement.clientWidth;
  const outside = (e) => e.getBoundingClientRect().right > width + 1;
  const clipped = (e) => e.children.length === 0 && e.clientWidth > 0
    && e.scrollWidth > e.clientWidth + 1 && getComputedStyle(e).overflowX === 'visible';
  const wide = [...document.querySelectorAll('body *')]
    .filter((e) => e.getBoundingClientRect().width > 0 && (outside(e) || clipped(e)));
  return {
    page: document.documentElement.scrollWidth - width,
    wide: wide.map((e) => e.outerHTML.slice(0, 80)),
  };
}
"""


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_the_page_fits_a_phone_in_both_languages(
    browser: Any, site: tuple[str, str, Menu], lang: str, edge: Yadori
) -> None:
    """No horizontal overflow and no missing glyph; the screenshot is kept in var/e2e."""
    _, link, _ = site
    context = browser.new_context(viewport=PHONE, locale="ja-JP" if lang == "ja" else "en-US")
    page = open_page(context, link)
    order_tea(page, 2)
    page.wait_for_selector("#banner[data-state=confirmed]", timeout=20_000)
    page.click("button[data-item=CLUB]")
    page.click("button[data-item=CURRY]")
    page.select_option("#when", index=2)  # a delivery time: the third choice
    assert page.evaluate("document.documentElement.lang") == lang
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"guest-{lang}.png"), full_page=True)
    overflow = page.evaluate(OVERFLOW)
    assert overflow == {"page": 0, "wide": []}
    assert page.evaluate(GLYPHS) == []
    page.click("#place")  # ordered for a time: the edge keeps it
    page.wait_for_function(
        "document.querySelectorAll('#orders li .state[data-state=confirmed]').length === 2"
    )
    with edge.engine.connect() as conn:
        times = conn.execute(sa.select(room_service_orders.c.deliver_at)).scalars().all()
    assert sum(t is not None for t in times) == 1
    page.evaluate(
        "document.body.append(Object.assign(document.createElement('p'), {textContent: '\\u0378'}))"
    )
    assert page.evaluate(GLYPHS) == ["\u0378"]  # the check does find a missing glyph
    context.close()


def test_the_page_estimates_exactly_as_the_bill_prices(
    browser: Any, site: tuple[str, str, Menu]
) -> None:
    """pricing.js against domain/roomservice.py on 300 random orders in every rounding."""
    import random
    from decimal import Decimal

    from yadori.domain.money import Rounding
    from yadori.domain.roomservice import PricedLine, price_order
    from yadori.domain.taxes import TaxClass

    url, _, _ = site
    rng = random.Random(5)
    cases = []
    for n in range(300):
        lines = [
            {
                "quantity": rng.randint(1, 9),
                "unit_price": rng.randint(0, 30_000),
                "service_charge_rate": rng.choice(
                    ["0", "0.10", "0.1", "0.15", "0.125", "0.05", "1", "1.00"]
                ),
            }
            for _ in range(rng.randint(1, 5))
        ]
        cases.append({"lines": lines, "rounding": list(Rounding)[n % len(Rounding)].value})
    page = browser.new_page()
    page.goto(f"{url}/guest/manifest.webmanifest")
    got = page.evaluate(
        """async (cases) => {
            const { priceOrder } = await import('/guest/pricing.js');
            return cases.map((c) => priceOrder(c.lines, c.rounding));
        }""",
        cases,
    )
    for case, js in zip(cases, got, strict=True):
        py = price_order(
            [
                PricedLine(
                    line["quantity"],
                    line["unit_price"],
                    TaxClass.STANDARD,
                    Decimal(line["service_charge_rate"]),
                )
                for line in case["lines"]
            ],
            Rounding(case["rounding"]),
        )
        assert (js["items"], js["serviceCharge"], js["total"]) == (
            py.items,
            py.service_charge,
            py.total,
        ), case
    page.close()
