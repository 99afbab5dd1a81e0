"""Staff login, staff administration, the login audit log, and edge enrolment tokens.

Login is the one property route without a token. Staff creation, status changes and PIN
changes are central's (staff are owned there): at central they run as commands; at an edge an
online token's request is passed on to central, and an offline token or a cut link is refused
with ``online_only``, saying what to do.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Request, status
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from yadori.api.deps import Auth, Bearer, Bus, Claims, Parts, PropertyId, PublicPropertyId, Trust
from yadori.api.schemas import (
    EnrolmentTokenIn,
    LoginIn,
    PinChangeIn,
    StaffIn,
    StaffStatusIn,
)
from yadori.auth import errors as e
from yadori.auth.pins import PinHasher
from yadori.auth.roles import Role, Scope
from yadori.auth.tokens import StaffClaims
from yadori.domain.ids import new_id
from yadori.domain.staff import Staff, StaffStatus
from yadori.services.auth import needs
from yadori.services.commands import ChangePin, CreateStaff, SetStaffStatus
from yadori.sync.canonical import JSON
from yadori.sync.errors import SyncError
from yadori.sync.mutation import Actor

router = APIRouter(prefix="/api/v1/properties/{code}", tags=["auth"])


@router.post("/auth/login")
async def login(auth: Auth, pid: PublicPropertyId, body: LoginIn) -> dict[str, object]:
    """Log in with a staff code and PIN: a bearer token (online from central, else offline)."""
    done = await run_in_threadpool(auth.login, pid, body.staff_code, body.pin)
    return {"token": done.token, "token_type": "bearer", **_claims(done.claims)}


@router.get("/auth/me")
async def me(claims: Claims) -> dict[str, object]:
    """What the caller's token says."""
    return _claims(claims)


@router.get("/staff")
async def list_staff(bus: Bus, pid: PropertyId) -> list[dict[str, object]]:
    """The property's staff (never their PIN hashes)."""
    return [_staff(m) for m in bus.read(pid, lambda uow: uow.staff.all())]


@router.get("/auth/attempts")
async def attempts(
    bus: Bus,
    pid: PropertyId,
    claims: Claims,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[dict[str, object]]:
    """The login audit log, newest first (managers and admins)."""
    needs(claims, Scope.AUDIT)
    rows = bus.read(pid, lambda uow: uow.staff.attempts(limit))
    return [
        {k: v.isoformat() if hasattr(v, "isoformat") else v for k, v in r.items()} for r in rows
    ]


@router.post("/staff", status_code=status.HTTP_201_CREATED, response_model=None)
async def create_staff(
    request: Request, parts: Parts, bus: Bus, pid: PropertyId, claims: Claims, token: Bearer,
    body: StaffIn,
) -> dict[str, object] | JSONResponse:  # fmt: skip
    """Add a staff member (admin, online only: staff are owned by central)."""
    needs(claims, Scope.STAFF_ADMIN)
    if parts.config.role != "central":
        return _relay(parts, request, body.model_dump(), token)
    pin_hash = await run_in_threadpool(_hasher(parts).hash, body.pin)
    cmd = CreateStaff(
        staff_id=new_id(), code=body.code, full_name=body.name, role=Role(body.role).value,
        pin_hash=pin_hash,
    )  # fmt: skip
    return _staff(bus.execute(pid, cmd, _actor(claims)).value(Staff))


@router.post("/staff/{staff_id}/status", response_model=None)
async def set_staff_status(
    request: Request, parts: Parts, bus: Bus, pid: PropertyId, claims: Claims, token: Bearer,
    staff_id: str, body: StaffStatusIn,
) -> dict[str, object] | JSONResponse:  # fmt: skip
    """Disable, re-enable or delete a staff member (admin, online only)."""
    needs(claims, Scope.STAFF_ADMIN)
    if parts.config.role != "central":
        return _relay(parts, request, body.model_dump(), token)
    cmd = SetStaffStatus(staff_id=staff_id[:36], status=StaffStatus(body.status))
    return _staff(bus.execute(pid, cmd, _actor(claims)).value(Staff))


@router.post("/auth/pin", response_model=None)
async def change_pin(
    request: Request, parts: Parts, bus: Bus, pid: PropertyId, claims: Claims, token: Bearer,
    body: PinChangeIn,
) -> dict[str, object] | JSONResponse:  # fmt: skip
    """Change one's own PIN (online only): the current PIN is checked first."""
    needs(claims, Scope.PIN_CHANGE)
    if parts.config.role != "central":
        return _relay(parts, request, body.model_dump(), token)
    hasher = _hasher(parts)
    member = bus.read(pid, lambda uow: uow.staff.get(claims.staff_id))
    if not await run_in_threadpool(hasher.verify, member.pin_hash, body.current_pin):
        raise e.InvalidCredentials("the current PIN is wrong / 現在のPINが違います")
    new_hash = await run_in_threadpool(hasher.hash, body.new_pin)
    cmd = ChangePin(staff_id=claims.staff_id, pin_hash=new_hash)
    return _staff(bus.execute(pid, cmd, _actor(claims)).value(Staff))


@router.post("/admin/enrolment-tokens", status_code=status.HTTP_201_CREATED)
async def enrolment_token(
    parts: Parts, trust: Trust, pid: PropertyId, claims: Claims, body: EnrolmentTokenIn
) -> dict[str, object]:
    """A single-use, expiring token for `yadori edge enroll` (admin, at central)."""
    needs(claims, Scope.STAFF_ADMIN)
    _central_only(parts)
    ttl = timedelta(minutes=body.ttl_minutes)
    token, expires = trust.issue_enrolment(body.node_id, (pid,), claims.staff_id, ttl)
    return {"token": token, "node_id": body.node_id, "expires_at": expires.isoformat()}


@router.get("/admin/keys")
async def node_keys(parts: Parts, trust: Trust, claims: Claims) -> JSONResponse:
    """Every node key and its status (admin)."""
    needs(claims, Scope.STAFF_ADMIN)
    return JSONResponse(trust.key_list())


@router.post("/admin/keys/{kid}/revoke")
async def revoke_key(parts: Parts, trust: Trust, claims: Claims, kid: str) -> dict[str, object]:
    """Withdraw all trust from a node key (a lost or compromised edge; admin, at central)."""
    needs(claims, Scope.STAFF_ADMIN)
    _central_only(parts)
    if not trust.revoke(kid[:80]):
        raise e.UnknownKey(f"no key {kid[:80]}", kid=kid[:80])
    return {"kid": kid, "status": "revoked"}


def _relay(parts: Parts, request: Request, body: dict[str, JSON], token: str) -> JSONResponse:
    transport = parts.transport
    if transport is None:
        raise _offline("this edge has no link to central configured")
    try:
        code, answer = transport.relay("POST", request.url.path, body, token)
    except SyncError as exc:
        raise _offline("the link to central is down") from exc
    return JSONResponse(answer, status_code=code, media_type=_media(code))


def _offline(why: str) -> e.OnlineOnly:
    return e.OnlineOnly(
        f"{why}: PIN changes and staff administration need central. Retry when the banner shows"
        " online. / 本部との回線が必要です。オンライン復旧後に再試行してください"
    )


def _media(code: int) -> str:
    return "application/problem+json" if code >= 400 else "application/json"


def _central_only(parts: Parts) -> None:
    if parts.config.role != "central":
        raise e.OnlineOnly("enrolment and keys are managed at central / 本部で操作してください")


def _hasher(parts: Parts) -> PinHasher:
    auth = parts.auth
    hasher = auth.hasher if auth is not None else None
    if hasher is None:
        raise e.NodeUnauthenticated("this node has no PIN pepper")
    return hasher


def _actor(claims: StaffClaims) -> Actor:
    return Actor(claims.staff_id, claims.token_id)


def _claims(claims: StaffClaims) -> dict[str, object]:
    return {
        "token_id": claims.token_id,
        "staff_id": claims.staff_id,
        "property_id": claims.property_id,
        "role": claims.role.value,
        "scopes": sorted(s.value for s in claims.scopes),
        "offline": claims.offline,
        "issuer": claims.issuer,
        "kid": claims.kid,
        "expires_at": claims.expires_at.isoformat(),
    }


def _staff(member: Staff) -> dict[str, object]:
    return {
        "id": member.id,
        "code": member.code,
        "name": member.name,
        "role": member.role,
        "status": member.status.value,
    }
