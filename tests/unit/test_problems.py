"""Every error class has an HTTP status and a stable code; none slips through unmapped."""

from __future__ import annotations

import importlib
import pkgutil

import pytest

import yadori.domain
from yadori.api.problems import STATUS
from yadori.domain.errors import DomainError
from yadori.services.errors import ServiceError


def _all_subclasses(root: type[Exception]) -> set[type[Exception]]:
    for module in pkgutil.walk_packages(yadori.domain.__path__, "yadori.domain."):
        importlib.import_module(module.name)
    found: set[type[Exception]] = set()
    stack = [root]
    while stack:
        cls = stack.pop()
        found.add(cls)
        stack.extend(cls.__subclasses__())
    return found


@pytest.mark.parametrize("root", [DomainError, ServiceError])
def test_every_error_class_is_mapped(root: type[Exception]) -> None:
    """A new error class without an entry in api/problems.py fails here."""
    unmapped = sorted(c.__qualname__ for c in _all_subclasses(root) if c not in STATUS)
    assert unmapped == []


def test_codes_are_stable_and_unique() -> None:
    """Each class has its own snake_case code (clients switch on it)."""
    classes = _all_subclasses(DomainError) | _all_subclasses(ServiceError)
    codes = [c.code for c in classes]  # type: ignore[attr-defined]
    assert len(codes) == len(set(codes))
    assert all(code.replace("_", "").isalpha() and code.islower() for code in codes)


def test_statuses_are_client_or_server_errors() -> None:
    """Domain errors are 4xx (the request was wrong now); service errors are 5xx."""
    for cls, status in STATUS.items():
        expected = range(500, 600) if issubclass(cls, ServiceError) else range(400, 500)
        assert status in expected, cls
