"""Every error class mapped to an HTTP status and a stable code, answered as problem+json.

RFC 9457 problem details: ``type`` is a stable URI per code, ``title`` and ``detail`` are for
people, ``code`` is for programs, and the facts the error carries (the field, the room …) are
extra members. A test walks every error class and fails if one is missing here.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from yadori.auth import errors as a
from yadori.domain import errors as d
from yadori.domain import roomservice as rs
from yadori.domain.accommodation_tax import NoAccommodationTaxRule, UnknownMunicipality
from yadori.domain.guest_access import GuestAccessDenied, TooManyAttempts
from yadori.services.errors import ReplayFailed, ServiceError, StorageUnavailable
from yadori.sync.canonical import to_json

PROBLEM = "application/problem+json"
TYPE_BASE = "https://yadori.dev/problems/"

STATUS: dict[type[Exception], int] = {
    d.DomainError: 400,
    d.NotFound: 404,
    d.UnknownRoom: 404,
    d.UnknownRoomType: 404,
    d.UnknownReservation: 404,
    d.UnknownFolio: 404,
    d.UnknownFolioLine: 404,
    d.UnknownRatePlan: 404,
    d.UnknownStaff: 404,
    d.NoRateForNight: 422,
    UnknownMunicipality: 422,
    NoAccommodationTaxRule: 422,
    d.InvalidInput: 422,
    d.RegistryDataMissing: 422,
    ReplayFailed: 422,  # only ever a replay's result, never an API answer
    d.RuleViolation: 409,
    d.RoomNotAvailable: 409,
    d.RoomNotReady: 409,
    d.InvalidRoomTransition: 409,
    d.InvalidReservationTransition: 409,
    d.FolioNotBalanced: 409,
    d.FolioClosed: 409,
    d.VoidRefused: 409,
    d.ManagerOverrideRequired: 403,
    d.AlreadyExists: 409,
    d.BusinessDayClosed: 409,
    rs.UnknownMenuItem: 404,
    rs.UnknownOrder: 404,
    rs.ItemUnavailable: 409,
    rs.OutOfStock: 409,
    rs.InvalidOrderTransition: 409,
    rs.StayNotInHouse: 409,
    rs.MenuOwnedByCentral: 409,
    GuestAccessDenied: 401,
    TooManyAttempts: 429,
    a.AuthError: 401,
    a.Unauthenticated: 401,
    a.InvalidCredentials: 401,
    a.TokenMissing: 401,
    a.TokenMalformed: 401,
    a.TokenExpired: 401,
    a.TokenNotYetValid: 401,
    a.TokenSignatureInvalid: 401,
    a.TokenAlgorithmRefused: 401,
    a.UnknownKey: 401,
    a.KeyRevoked: 401,
    a.StaffInactive: 401,
    a.NodeUnauthenticated: 401,
    a.EnrolmentRefused: 401,
    a.AccountLocked: 423,
    a.Forbidden: 403,
    a.RoleForbidden: 403,
    a.WrongProperty: 403,
    a.OnlineOnly: 403,
    a.ActorRefused: 403,
    ServiceError: 500,
    StorageUnavailable: 503,
}
"""The HTTP status of each error class; ``code`` comes from the class itself."""


def status_of(exc: Exception) -> int:
    """The status of an error: its own class's entry (never a parent's guess)."""
    return STATUS[type(exc)]


def problem(status: int, code: str, title: str, detail: str, **extra: object) -> JSONResponse:
    """A problem+json response."""
    body = {"type": TYPE_BASE + code, "title": title, "status": status, "code": code}
    body["detail"] = detail
    body.update({k: to_json(v) for k, v in extra.items()})
    return JSONResponse(body, status_code=status, media_type=PROBLEM)


def _title(code: str) -> str:
    return code.replace("_", " ").capitalize()


async def _domain_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, d.DomainError)  # noqa: S101 - registered for DomainError only
    return problem(status_of(exc), exc.code, _title(exc.code), exc.message, **exc.facts)


async def _service_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ServiceError)  # noqa: S101 - registered for ServiceError only
    return problem(status_of(exc), exc.code, _title(exc.code), str(exc))


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)  # noqa: S101 - registered for it only
    errors = [
        {"field": ".".join(str(p) for p in e["loc"][1:]) or "body", "message": e["msg"]}
        for e in exc.errors()
    ]
    first = errors[0] if errors else {"field": "body", "message": "invalid request"}
    detail = f"{first['field']}: {first['message']}"
    return problem(422, "invalid_request", "Invalid request", detail, errors=errors)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)  # noqa: S101 - registered for it only
    code = {404: "no_such_endpoint", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
    return problem(exc.status_code, code, _title(code), str(exc.detail))


def install(app: FastAPI) -> None:
    """Answer every known error as problem+json."""
    app.add_exception_handler(d.DomainError, _domain_error)
    app.add_exception_handler(ServiceError, _service_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
