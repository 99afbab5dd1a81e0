"""The demo hotel's room-service menu, made at central (which owns the menu)."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from yadori.domain.ids import derived_id
from yadori.services.commands import AdjustStock, Command, SaveMenuCategory, SaveMenuItem

MENU = (
    # code, category, Japanese, English, price (tax included), service charge, counted, allergens
    ("CURRY", "MAINS", "和牛カレー", "Wagyu curry", 2_400, "0.10", False, ("wheat", "milk")),
    (
        "CLUB",
        "MAINS",
        "クラブハウスサンド",
        "Club sandwich",
        2_200,
        "0.10",
        False,
        ("wheat", "egg"),
    ),
    ("SOBA", "MAINS", "天ざるそば", "Tempura soba", 1_900, "0.10", False, ("buckwheat", "shrimp")),
    ("CAKE", "SWEETS", "抹茶ケーキ", "Matcha cake", 900, "0", True, ("egg", "milk", "wheat")),
    ("TEA", "DRINKS", "煎茶", "Sencha", 700, "0", False, ()),
    ("BEER", "DRINKS", "生ビール", "Draught beer", 1_000, "0", False, ()),
)
CATEGORIES = (
    ("MAINS", "お食事", "Meals", 1),
    ("SWEETS", "甘味", "Sweets", 2),
    ("DRINKS", "お飲み物", "Drinks", 3),
)
CAKES = 5


def demo_id(label: str) -> str:
    """The id of a demo record (as ``demo_hotel.demo_id``, which imports this module)."""
    return derived_id("yadori-demo", label)


def seed_menu(run: Callable[[Command], object]) -> None:
    """Central's menu for the demo hotel, with five cakes counted in."""
    for code, ja, en, position in CATEGORIES:
        run(
            SaveMenuCategory(
                category_id=demo_id(f"menu_category:{code}"),
                code=code,
                name_ja=ja,
                name_en=en,
                position=position,
            )
        )
    for code, category, ja, en, price, rate, counted, allergens in MENU:
        run(
            SaveMenuItem(
                item_id=demo_id(f"menu_item:{code}"),
                category_id=demo_id(f"menu_category:{category}"),
                code=code,
                name_ja=ja,
                name_en=en,
                price=price,
                service_charge_rate=Decimal(rate),
                track_stock=counted,
                allergens=allergens,
            )
        )
    run(
        AdjustStock(
            move_id=demo_id("stock:opening"), item_id=demo_id("menu_item:CAKE"), delta=CAKES
        )
    )
