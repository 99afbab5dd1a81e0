"""Sync endpoints: central's push, pull and heartbeat; the edge's status, events and tickets."""

from __future__ import annotations

import contextlib
import gzip
from typing import Annotated

import orjson
from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from starlette.concurrency import run_in_threadpool

from yadori.api.deps import (
    AnyStaff,
    Auth,
    Bus,
    Caller,
    Parts,
    PropertyId,
    SyncServer,
    TicketsActor,
    Trust,
)
from yadori.api.problems import problem
from yadori.api.schemas import (
    EdgeLoginIn,
    EnrolIn,
    RepublishIn,
    ResolveTicketIn,
    RotateIn,
    TicketOut,
)
from yadori.api.sse import event_stream
from yadori.auth.errors import NodeUnauthenticated, WrongProperty
from yadori.domain.conflicts import ConflictTicket, TicketStatus
from yadori.domain.errors import NotFound
from yadori.services.commands import ResolveTicket
from yadori.sync.protocol import (
    CRC_HEADER,
    MAX_BATCH_BYTES,
    MAX_BODY_BYTES,
    BatchCorrupt,
    BatchTooLarge,
    PageAsk,
)

router = APIRouter(tags=["sync"])


def _server(parts: Parts) -> SyncServer:
    server = parts.sync_server
    if server is None:
        raise NotFound("this node is not central: sync endpoints live at central")
    return server


@router.post("/sync/v1/push")
async def push(
    request: Request,
    parts: Parts,
    caller: Caller,
    property_: Annotated[str | None, Query(alias="property", max_length=36)] = None,
    since: Annotated[int, Query(ge=0)] = 0,
    results_after: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=5_000)] = 2_000,
) -> Response:
    """Apply an edge's batch once (central); a damaged batch is refused whole, to be resent.

    With ``property`` (the pull's parameters), the answer also carries the first page a pull
    of that property would get right after this push (``page``): the edge's last batch asks
    for it, and saves a round trip (decision 0049). Without it (another property, a failed
    read), the edge pulls as usual.
    """
    server = _server(parts)
    node, properties = caller[0].node_id, caller[1]
    page = None if property_ is None else PageAsk(property_, since, results_after, limit)
    body = await _bounded_body(request, MAX_BODY_BYTES)
    if body is None:
        return _too_large(f"the batch's body is more than {MAX_BODY_BYTES} bytes")
    try:
        crc = int(request.headers.get(CRC_HEADER, ""))
    except ValueError:
        return problem(422, "batch_corrupt", "Batch corrupt", f"the {CRC_HEADER} header is missing")
    packed = _gzip_accepted(request)
    try:
        answer = await run_in_threadpool(
            lambda: _packed(orjson.dumps(server.push(body, crc, node, properties, page)), packed)
        )
    except BatchCorrupt as exc:
        return problem(422, "batch_corrupt", "Batch corrupt", str(exc))
    except BatchTooLarge as exc:
        return _too_large(str(exc))
    return _answer(answer)


async def _bounded_body(request: Request, limit: int) -> bytes | None:
    """The request's body, or None once it is longer than ``limit`` (read no further)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        return None
    chunks: list[bytes] = []
    size = 0
    async with contextlib.aclosing(request.stream()) as stream:
        async for chunk in stream:
            size += len(chunk)
            if size > limit:
                return None
            chunks.append(chunk)
    return b"".join(chunks)


def _too_large(detail: str) -> Response:
    return problem(
        413,
        "batch_too_large",
        "Batch too large",
        f"{detail}: a batch may carry {MAX_BATCH_BYTES} bytes uncompressed; an edge sends a "
        "longer queue in more batches",
        limit=MAX_BATCH_BYTES,
    )


@router.get("/sync/v1/pull")
async def pull(
    request: Request,
    parts: Parts,
    caller: Caller,
    origin: Annotated[str, Query(max_length=64)],
    property_: Annotated[str, Query(alias="property", max_length=36)],
    since: Annotated[int, Query(ge=0)] = 0,
    results_after: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=5_000)] = 2_000,
) -> Response:
    """Aggregates changed since ``since`` and the origin's results since ``results_after``."""
    server = _server(parts)
    if origin != caller[0].node_id:
        raise NodeUnauthenticated(f"node {caller[0].node_id} asked for the results of {origin}")
    if property_ not in caller[1]:
        raise WrongProperty("this edge is not enrolled for that property")
    # Encoded (and compressed) in the worker thread with orjson: a page carries megabytes of
    # documents, which the standard library's encoder would write on the event loop.
    packed = _gzip_accepted(request)
    answer = await run_in_threadpool(
        lambda: _packed(
            orjson.dumps(server.pull(origin, property_, since, results_after, limit)), packed
        )
    )
    return _answer(answer)


@router.post("/sync/v1/republish")
async def republish(parts: Parts, caller: Caller, body: RepublishIn) -> JSONResponse:
    """Mark aggregates of the edge's property to be published again by the next pull (0064).

    An edge asks for what mutations it set aside touched (damaged on its disk, or too large to
    send): central never had them, and the edge takes central's state of those aggregates back.
    """
    server = _server(parts)
    if body.property_id not in caller[1]:
        raise WrongProperty("this edge is not enrolled for that property")
    marked = await run_in_threadpool(
        server.republish, caller[0].node_id, body.property_id, body.aggregates
    )
    return JSONResponse({"marked": marked})


# A push's and a pull's answers are compressed for an edge that accepts it (httpx does): a
# recovery of 20,000 mutations pulls 11.3 MB of JSON and gets 2.6 MB of results back, 1.4 MB
# and 0.45 MB with gzip at level 1, which costs central about 50 ms of CPU in all. Smaller ones
# are not worth a gzip header.
GZIP_FROM = 1_400
GZIP_LEVEL = 1


def _gzip_accepted(request: Request) -> bool:
    """Whether the request's Accept-Encoding takes gzip (``gzip;q=0`` refuses it)."""
    for coding in request.headers.get("accept-encoding", "").lower().split(","):
        name, _, params = coding.partition(";")
        if name.strip() == "gzip":
            quality = params.replace(" ", "").removeprefix("q=")
            try:
                return not params.strip() or float(quality) > 0
            except ValueError:
                return True  # an odd parameter: gzip was named
    return False


def _packed(body: bytes, gzip_accepted: bool) -> tuple[bytes, bool]:
    if not gzip_accepted or len(body) < GZIP_FROM:
        return body, False
    return gzip.compress(body, compresslevel=GZIP_LEVEL, mtime=0), True


def _answer(packed: tuple[bytes, bool]) -> Response:
    body, gzipped = packed
    headers = {"Vary": "Accept-Encoding"}
    if gzipped:
        headers["Content-Encoding"] = "gzip"
    return Response(body, media_type="application/json", headers=headers)


@router.get("/sync/v1/heartbeat")
async def heartbeat(
    parts: Parts,
    trust: Trust,
    authorization: Annotated[str | None, Header(max_length=4200)] = None,
) -> JSONResponse:
    """Central's time, HLC and key list CRC; the edge measures the round trip and the skew.

    Open to anyone (a liveness probe); when a node token comes with it, it is checked, so the
    heartbeat also tests the edge's credentials (401 when they no longer hold).
    """
    answer = _server(parts).heartbeat()
    if authorization:
        scheme, _, token = authorization.partition(" ")
        claims, _ = trust.authenticate_node(token.strip() if scheme.lower() == "bearer" else "")
        answer["node"] = claims.node_id
    answer["keys_crc"] = trust.keys_crc()
    return JSONResponse(answer)


@router.get("/sync/v1/keys")
async def keys(parts: Parts, trust: Trust, caller: Caller) -> JSONResponse:
    """Every node key with its status: the revocation list edges pull."""
    _server(parts)
    return JSONResponse({"keys": trust.key_list(), "keys_crc": trust.keys_crc()})


@router.post("/sync/v1/enrol")
async def enrol(parts: Parts, trust: Trust, body: EnrolIn) -> JSONResponse:
    """Register an edge's public key against a one-time enrolment token made by an admin."""
    _server(parts)
    answer = await run_in_threadpool(trust.enrol, body.token, body.node_id, body.public_key)
    return JSONResponse(answer)


@router.post("/sync/v1/keys/rotate")
async def rotate(parts: Parts, trust: Trust, caller: Caller, body: RotateIn) -> JSONResponse:
    """Trust the calling edge's new key and retire the one it signed this call with."""
    _server(parts)
    return JSONResponse(await run_in_threadpool(trust.rotate, caller[0], body.public_key))


@router.post("/sync/v1/login")
async def edge_login(parts: Parts, auth: Auth, caller: Caller, body: EdgeLoginIn) -> JSONResponse:
    """Log a staff member in for an edge that is online: central checks the PIN and signs."""
    _server(parts)
    if body.property_id not in caller[1]:
        raise WrongProperty("this edge is not enrolled for that property")
    login = await run_in_threadpool(
        auth.login_here, body.property_id, body.staff_code, body.pin, node=caller[0].node_id
    )
    return JSONResponse({"token": login.token})


@router.get("/sync/status")
async def status(parts: Parts, staff: AnyStaff) -> JSONResponse:
    """The edge's sync state: link, queue per lane, last push and pull, skew, tickets."""
    if parts.sync_status is None:
        raise NotFound("no sync on this node: set YADORI_CENTRAL_URL on an edge")
    return JSONResponse(await run_in_threadpool(parts.sync_status))


@router.get("/events")
async def events(request: Request, parts: Parts, staff: AnyStaff) -> StreamingResponse:
    """Server-sent events: every link transition, queue change and alert, for the banner."""
    return event_stream(request, parts.events)


@router.get("/api/v1/properties/{code}/tickets")
async def list_tickets(
    bus: Bus, pid: PropertyId, status_: Annotated[TicketStatus | None, Query(alias="status")] = None
) -> list[TicketOut]:
    """Conflict tickets, oldest first (``status=open`` for the ones to work on)."""
    return [TicketOut.of(t) for t in bus.read(pid, lambda uow: uow.tickets.list(status_))]


@router.post("/api/v1/properties/{code}/tickets/{ticket_id}/resolve")
async def resolve_ticket(
    bus: Bus, pid: PropertyId, actor: TicketsActor, ticket_id: str, body: ResolveTicketIn
) -> TicketOut:
    """Close a ticket with what was done (a command: it syncs like any other)."""
    cmd = ResolveTicket(ticket_id=ticket_id, resolution=body.resolution)
    return TicketOut.of(bus.execute(pid, cmd, actor).value(ConflictTicket))
