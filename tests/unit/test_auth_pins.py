"""PIN hashing: argon2id with the agreed cost, keyed by a pepper, one cost for every answer."""

from __future__ import annotations

import time

import pytest

from yadori.auth.pins import MEMORY_KIB, TIME_COST, PinHasher, check_pin_format
from yadori.domain.errors import InvalidInput

PEPPER = b"p" * 32


@pytest.fixture(scope="module")
def hasher() -> PinHasher:
    """One hasher (making it hashes a dummy PIN)."""
    return PinHasher(PEPPER)


def test_hash_is_argon2id_with_the_agreed_cost(hasher: PinHasher) -> None:
    """t=2, m=19 MiB, p=1, and a salt of its own each time."""
    first, second = hasher.hash("123456"), hasher.hash("123456")
    assert first.startswith(f"$argon2id$v=19$m={MEMORY_KIB},t={TIME_COST},p=1$")
    assert first != second
    assert hasher.verify(first, "123456")
    assert hasher.verify(second, "123456")


def test_wrong_pin_and_missing_hash_fail(hasher: PinHasher) -> None:
    """A wrong PIN, no stored hash, or a damaged hash never verifies."""
    stored = hasher.hash("4321")
    assert not hasher.verify(stored, "4322")
    assert not hasher.verify(None, "4321")
    assert not hasher.verify("not-a-hash", "4321")
    assert not hasher.verify(stored, "4321" + "0" * 100)


def test_the_pepper_is_part_of_the_hash(hasher: PinHasher) -> None:
    """The same PIN under another pepper does not verify: a database alone is not enough."""
    stored = hasher.hash("998877")
    assert not PinHasher(b"q" * 32).verify(stored, "998877")


@pytest.mark.parametrize("pin", ["123", "123456789", "12a4", "", "１２３４", "1234 ", "' OR 1=1"])
def test_pin_format(pin: str) -> None:
    """4 to 8 ASCII digits, nothing else (full-width digits too are refused)."""
    with pytest.raises(InvalidInput):
        check_pin_format(pin)


def test_short_pepper_is_refused() -> None:
    """A pepper shorter than 16 bytes is a configuration error."""
    with pytest.raises(ValueError, match="pepper"):
        PinHasher(b"short")


def test_failure_costs_one_verification_like_success(hasher: PinHasher) -> None:
    """Unknown staff (no hash) costs about what a right PIN costs: argon2 runs either way."""
    stored = hasher.hash("2468")

    def median(pin: str, hashed: str | None) -> float:
        times = []
        for _ in range(5):
            started = time.perf_counter()
            hasher.verify(hashed, pin)
            times.append(time.perf_counter() - started)
        return sorted(times)[2]

    ok, unknown = median("2468", stored), median("2468", None)
    assert 0.5 < unknown / ok < 2.0
