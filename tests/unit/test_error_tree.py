"""The domain's error tree: every error has its own stable snake_case code, none shared."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
from types import ModuleType

import pytest

import yadori.auth
import yadori.domain
import yadori.services
import yadori.sync
from yadori.auth.errors import AuthError
from yadori.domain import errors
from yadori.domain.errors import DomainError, InvalidInput, NotFound, RuleViolation

SNAKE_CASE = re.compile(r"[a-z][a-z0-9]*(_[a-z0-9]+)*")


def import_all(package: ModuleType) -> None:
    """Import every module of a package so that every error class is defined."""
    for info in pkgutil.walk_packages(package.__path__, f"{package.__name__}."):
        importlib.import_module(info.name)


def all_errors() -> list[type[DomainError]]:
    """DomainError and every subclass, wherever it is defined, found recursively."""
    for package in (yadori.domain, yadori.services, yadori.sync, yadori.auth):
        import_all(package)
    found: list[type[DomainError]] = []
    pending: list[type[DomainError]] = [DomainError]
    while pending:
        cls = pending.pop()
        found.append(cls)
        pending.extend(cls.__subclasses__())
    return sorted(set(found), key=lambda cls: f"{cls.__module__}.{cls.__qualname__}")


ERRORS = all_errors()


def test_the_walk_finds_errors_outside_errors_py() -> None:
    """Errors defined by other domain modules (accommodation tax) are part of the tree."""
    modules = {cls.__module__ for cls in ERRORS}
    assert "yadori.domain.accommodation_tax" in modules
    assert {"UnknownMunicipality", "NoAccommodationTaxRule"} <= {c.__name__ for c in ERRORS}


@pytest.mark.parametrize("cls", ERRORS, ids=lambda cls: cls.__name__)
def test_every_error_declares_its_own_snake_case_code(cls: type[DomainError]) -> None:
    """A code is set on the class itself, never inherited, and is snake_case."""
    assert "code" in vars(cls), f"{cls.__name__} inherits its code"
    assert SNAKE_CASE.fullmatch(cls.code), cls.code


def test_codes_are_unique_across_the_tree() -> None:
    """No two errors share a code, so the API and CLI can tell them apart."""
    by_code: dict[str, list[str]] = {}
    for cls in ERRORS:
        by_code.setdefault(cls.code, []).append(cls.__name__)
    assert {code: names for code, names in by_code.items() if len(names) > 1} == {}


@pytest.mark.parametrize("cls", ERRORS, ids=lambda cls: cls.__name__)
def test_every_error_sits_under_one_of_the_four_branches(cls: type[DomainError]) -> None:
    """Below the roots, each error is a not-found, an invalid input, a rule violation, or an
    authentication error (``yadori.auth.errors``)."""
    if cls not in (DomainError, NotFound, InvalidInput, RuleViolation):
        assert issubclass(cls, NotFound | InvalidInput | RuleViolation | AuthError)


def test_tree_in_the_docstring_names_every_error_of_errors_py() -> None:
    """The drawn tree at the top of errors.py is kept true."""
    defined = {
        name
        for name, obj in vars(errors).items()
        if inspect.isclass(obj) and issubclass(obj, DomainError)
    }
    drawn = set(re.findall(r"\b[A-Z][A-Za-z]+\b", errors.__doc__ or ""))
    assert defined - drawn == set()


def test_error_keeps_its_message_and_facts() -> None:
    """str() is the message for staff; facts are kept for the API's problem body."""
    error = errors.RoomNotReady("room 101 is dirty (VD)", room="101")
    assert str(error) == error.message == "room 101 is dirty (VD)"
    assert error.facts == {"room": "101"}
    assert error.code == "room_not_ready"
