"""Folios: an append-only account whose balance follows the qualified-invoice tax rule."""

from __future__ import annotations

from datetime import date

import pytest

from yadori.domain.errors import (
    FolioClosed,
    FolioNotBalanced,
    InvalidInput,
    ManagerOverrideRequired,
    UnknownFolioLine,
    VoidRefused,
)
from yadori.domain.folio import (
    ChargeCategory,
    Folio,
    FolioLine,
    FolioStatus,
    LineKind,
    ManagerOverride,
    PaymentMethod,
)
from yadori.domain.money import Rounding
from yadori.domain.taxes import TaxableAmount, TaxClass

TODAY = date(2026, 12, 1)
TOMORROW = date(2026, 12, 2)
MANAGER = ManagerOverride("mgr-1", "goodwill: noisy neighbours")


def charge(
    line_id: str,
    amount: int,
    *,
    included: bool = True,
    tax_class: TaxClass = TaxClass.STANDARD,
    category: ChargeCategory = ChargeCategory.ROOM_SERVICE,
    night: date | None = None,
) -> FolioLine:
    """A charge line of the given amount and tax treatment."""
    return FolioLine(
        line_id,
        LineKind.CHARGE,
        category.value,
        category.value,
        amount,
        TODAY,
        tax_class,
        included,
        night=night,
    )


def payment(line_id: str, amount: int, method: PaymentMethod = PaymentMethod.CASH) -> FolioLine:
    """A payment (negative: a refund); payments carry no consumption tax."""
    return FolioLine(line_id, LineKind.PAYMENT, method.value, "paid", amount, TODAY)


def adjustment(line_id: str, amount: int, *, included: bool = True) -> FolioLine:
    """A correction of the folio, taxed at the standard rate."""
    return FolioLine(
        line_id, LineKind.ADJUSTMENT, "misc", "goodwill", amount, TODAY, TaxClass.STANDARD, included
    )


def folio(*lines: FolioLine) -> Folio:
    """An open folio with the lines appended in order, through the rules."""
    result = Folio("folio-1", "res-1")
    for line in lines:
        result = result.append(line)
    return result


def void(account: Folio, line_id: str, void_id: str = "v-1") -> Folio:
    """The folio with ``line_id`` voided."""
    return account.append(account.void_of(line_id, void_id, TOMORROW, "posted by mistake"))


def test_empty_folio_is_open_and_balanced() -> None:
    """A new folio is open, empty and owes nothing."""
    empty = Folio("folio-1", "res-1")
    assert (empty.status, empty.lines, empty.override) == (FolioStatus.OPEN, (), None)
    assert empty.balance() == 0
    assert empty.invoice().rates == ()


def test_tax_included_charge_is_its_own_price() -> None:
    """A tax-included 11,000 yen charge owes 11,000, of which 1,000 is tax."""
    account = folio(charge("c1", 11_000))
    assert account.balance() == 11_000
    assert account.invoice().tax_total == 1_000


def test_tax_excluded_charge_adds_the_tax() -> None:
    """A tax-excluded 10,000 yen charge owes 11,000."""
    assert folio(charge("c1", 10_000, included=False)).balance() == 11_000


def test_mixed_rates_and_tax_free_lines_add_up() -> None:
    """Standard, reduced and tax-free (accommodation tax) lines are totalled per rate."""
    account = folio(
        charge("c1", 11_000),
        charge("c2", 10_000, included=False),
        charge("c3", 108, tax_class=TaxClass.REDUCED, category=ChargeCategory.MINIBAR),
        charge("c4", 200, tax_class=TaxClass.NONE, category=ChargeCategory.ACCOMMODATION_TAX),
    )
    assert account.balance() == 22_000 + 108 + 200
    assert account.invoice().tax_total == 2_000 + 8


@pytest.mark.parametrize(
    ("rounding", "balance"), [(Rounding.FLOOR, 1_098), (Rounding.CEILING, 1_099)]
)
def test_balance_uses_the_named_rounding(rounding: Rounding, balance: int) -> None:
    """999 yen plus 10 % is 1,098.9: the property's rounding decides the last yen."""
    assert folio(charge("c1", 999, included=False)).balance(rounding) == balance


def test_payments_reduce_the_balance_and_refunds_restore_it() -> None:
    """Payments are subtracted; a refund is a negative payment."""
    account = folio(
        charge("c1", 11_000), payment("p1", 12_000), payment("p2", -1_000, PaymentMethod.CARD)
    )
    assert account.paid() == 11_000
    assert account.balance() == 0


def test_overpayment_is_a_negative_balance() -> None:
    """Money the hotel owes the guest is a negative balance."""
    assert folio(charge("c1", 5_000), payment("p1", 6_000)).balance() == -1_000


def test_negative_adjustment_is_a_discount() -> None:
    """A goodwill adjustment of -1,100 yen (tax included) lowers the balance by 1,100."""
    assert folio(charge("c1", 11_000), adjustment("a1", -1_100)).balance() == 9_900


def test_taxables_leave_out_payments() -> None:
    """Payments are not part of the invoice's taxable amounts."""
    account = folio(charge("c1", 1_000), adjustment("a1", 500, included=False), payment("p1", 10))
    assert account.taxables() == [
        TaxableAmount(1_000, TaxClass.STANDARD, True),
        TaxableAmount(500, TaxClass.STANDARD, False),
    ]


def test_void_is_a_new_line_that_mirrors_the_original() -> None:
    """The void repeats amount, tax and night of the original and names it."""
    original = charge("c1", 11_000, category=ChargeCategory.ROOM, night=TODAY)
    made = folio(original).void_of("c1", "v-1", TOMORROW, "wrong room")
    assert made == FolioLine(
        "v-1",
        LineKind.VOID,
        "room",
        "wrong room",
        11_000,
        TOMORROW,
        TaxClass.STANDARD,
        tax_included=True,
        voids="c1",
        night=TODAY,
    )


def test_voided_lines_leave_the_balance_but_stay_on_the_folio() -> None:
    """Voiding keeps both lines (append-only) and drops them from the balance."""
    account = void(folio(charge("c1", 11_000), charge("c2", 2_200)), "c1")
    assert [line.id for line in account.lines] == ["c1", "c2", "v-1"]
    assert [line.id for line in account.live_lines()] == ["c2"]
    assert account.balance() == 2_200


def test_voided_payment_is_owed_again() -> None:
    """Voiding a payment puts the amount back on the balance."""
    account = void(folio(charge("c1", 1_000), payment("p1", 1_000)), "p1")
    assert (account.paid(), account.balance()) == (0, 1_000)


def test_void_of_a_void_is_refused() -> None:
    """A void cannot be voided: post a new line instead."""
    account = void(folio(charge("c1", 1_000)), "c1")
    with pytest.raises(VoidRefused, match="cannot be voided") as caught:
        void(account, "v-1", "v-2")
    assert caught.value.facts == {"line": "v-1"}


def test_double_void_is_refused() -> None:
    """A line can be voided once."""
    account = void(folio(charge("c1", 1_000)), "c1")
    with pytest.raises(VoidRefused, match="already voided"):
        void(account, "c1", "v-2")


def test_void_of_an_unknown_line_is_refused() -> None:
    """No void can be made for a line the folio does not have."""
    with pytest.raises(UnknownFolioLine, match="no line nope") as caught:
        folio(charge("c1", 1_000)).void_of("nope", "v-1", TODAY, "typo")
    assert caught.value.facts == {"line": "nope"}


def test_void_of_an_unknown_line_is_not_found() -> None:
    """Voiding a line id the folio does not have is a not-found, like any unknown id."""
    with pytest.raises(UnknownFolioLine):
        folio(charge("c1", 1_000)).void_of("nope", "v-1", TODAY, "typo")


@pytest.mark.parametrize("voids", ["nope", None])
def test_appending_a_void_of_an_unknown_line_is_refused(voids: str | None) -> None:
    """A hand-made void line naming no line of the folio is refused at append."""
    stray = FolioLine("v-1", LineKind.VOID, "misc", "x", 1_000, TODAY, voids=voids)
    with pytest.raises(UnknownFolioLine, match="no line"):
        folio(charge("c1", 1_000)).append(stray)


def test_posted_nights_count_voided_nights_but_not_other_categories() -> None:
    """A night charged in the category counts even once voided (a comped night is not re-posted)."""
    account = folio(
        charge("r1", 12_000, category=ChargeCategory.ROOM, night=TODAY),
        charge("r2", 12_000, category=ChargeCategory.ROOM, night=TOMORROW),
        charge("s1", 1_200, category=ChargeCategory.SERVICE_CHARGE, night=TODAY),
        charge("m1", 500, category=ChargeCategory.ROOM),
    )
    account = void(account, "r2")
    assert account.posted_nights(ChargeCategory.ROOM) == {TODAY, TOMORROW}
    assert account.posted_nights(ChargeCategory.SERVICE_CHARGE) == {TODAY}
    assert account.posted_nights(ChargeCategory.ACCOMMODATION_TAX) == set()


def test_settle_a_balanced_folio_without_override() -> None:
    """A zero balance settles with no manager involved."""
    settled = folio(charge("c1", 1_000), payment("p1", 1_000)).settle(Rounding.FLOOR, None)
    assert (settled.status, settled.override) == (FolioStatus.SETTLED, None)


@pytest.mark.parametrize("owed", [1_000, -1_000])
def test_settle_with_money_owed_either_way_needs_an_override(owed: int) -> None:
    """Money owed by the guest or to the guest blocks check-out, naming the balance."""
    account = folio(charge("c1", 5_000), payment("p1", 5_000 - owed))
    with pytest.raises(FolioNotBalanced, match=f"balance is {owed} yen") as caught:
        account.settle(Rounding.FLOOR, None)
    assert caught.value.facts == {"balance": owed}


def test_settle_with_override_keeps_it_on_record() -> None:
    """A manager's override with a reason settles an unbalanced folio and is kept."""
    settled = folio(charge("c1", 5_000)).settle(Rounding.FLOOR, MANAGER)
    assert (settled.status, settled.override) == (FolioStatus.SETTLED, MANAGER)


@pytest.mark.parametrize("lines", [(), (charge("c1", 5_000),)], ids=["balanced", "owed"])
def test_override_without_a_reason_is_refused(lines: tuple[FolioLine, ...]) -> None:
    """An override must say why, whatever the balance."""
    with pytest.raises(ManagerOverrideRequired) as caught:
        folio(*lines).settle(Rounding.FLOOR, ManagerOverride("mgr-1", "  "))
    assert caught.value.facts == {"field": "reason"}


@pytest.mark.parametrize(
    "line",
    [charge("c9", 100), payment("p9", 100), adjustment("a9", -100)],
    ids=["charge", "payment", "adjustment"],
)
def test_settled_folio_refuses_every_new_line(line: FolioLine) -> None:
    """After check-out nothing more is posted: a new folio is needed."""
    settled = folio(charge("c1", 100), payment("p1", 100)).settle(Rounding.FLOOR, None)
    with pytest.raises(FolioClosed) as caught:
        settled.append(line)
    assert caught.value.facts == {"folio": "folio-1"}


def test_settled_folio_refuses_a_void() -> None:
    """Voids are lines too: a settled folio takes none."""
    settled = folio(charge("c1", 100)).settle(Rounding.FLOOR, MANAGER)
    with pytest.raises(FolioClosed):
        void(settled, "c1")


@pytest.mark.parametrize(
    ("line", "field"),
    [
        (charge("c1", 0), "amount"),
        (charge("c1", -100), "amount"),
        (payment("p1", 0), "amount"),
        (adjustment("a1", 0), "amount"),
        (
            FolioLine("p1", LineKind.PAYMENT, "cash", "x", 100, TODAY, TaxClass.STANDARD),
            "tax_class",
        ),
        (
            FolioLine("p1", LineKind.PAYMENT, "card", "x", 100, TODAY, TaxClass.REDUCED),
            "tax_class",
        ),
    ],
    ids=["zero charge", "negative charge", "zero payment", "zero adjustment", "taxed", "reduced"],
)
def test_invalid_amounts_are_refused(line: FolioLine, field: str) -> None:
    """Charges are positive, payments and adjustments non-zero, payments untaxed."""
    with pytest.raises(InvalidInput) as caught:
        folio().append(line)
    assert caught.value.facts == {"field": field}


def test_append_returns_a_new_folio_and_leaves_the_old_one() -> None:
    """Folios are values: appending never edits the folio it was called on."""
    before = folio(charge("c1", 100))
    after = before.append(charge("c2", 200))
    assert (len(before.lines), len(after.lines)) == (1, 2)
