"""Sync endpoints: central's push, pull and heartbeat; the edge's status, events and tickets."""

from __future__ import annotations

import asyncio
import json
import queue
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.concurrency import run_in_threadpool

from yadori.api.deps import Bus, CurrentActor, Parts, PropertyId, SyncServer
from yadori.api.problems import problem
from yadori.api.schemas import ResolveTicketIn, TicketOut
from yadori.domain.conflicts import ConflictTicket, TicketStatus
from yadori.domain.errors import NotFound
from yadori.services.commands import ResolveTicket
from yadori.sync.protocol import CRC_HEADER, BatchCorrupt

router = APIRouter(tags=["sync"])


def _server(parts: Parts) -> SyncServer:
    server = parts.sync_server
    if server is None:
        raise NotFound("this node is not central: sync endpoints live at central")
    return server


@router.post("/sync/v1/push")
async def push(request: Request, parts: Parts) -> JSONResponse:
    """Apply an edge's batch once (central); a damaged batch is refused whole, to be resent."""
    server = _server(parts)
    body = await request.body()
    try:
        crc = int(request.headers.get(CRC_HEADER, ""))
    except ValueError:
        return problem(422, "batch_corrupt", "Batch corrupt", f"the {CRC_HEADER} header is missing")
    try:
        answer = await run_in_threadpool(server.push, body, crc)
    except BatchCorrupt as exc:
        return problem(422, "batch_corrupt", "Batch corrupt", str(exc))
    return JSONResponse(answer)


@router.get("/sync/v1/pull")
async def pull(
    parts: Parts,
    origin: Annotated[str, Query(max_length=64)],
    property_: Annotated[str, Query(alias="property", max_length=36)],
    since: Annotated[int, Query(ge=0)] = 0,
    results_after: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=5_000)] = 2_000,
) -> JSONResponse:
    """Aggregates changed since ``since`` and the origin's results since ``results_after``."""
    server = _server(parts)
    answer = await run_in_threadpool(server.pull, origin, property_, since, results_after, limit)
    return JSONResponse(answer)


@router.get("/sync/v1/heartbeat")
async def heartbeat(parts: Parts) -> JSONResponse:
    """Central's time and HLC; the edge measures the round trip and the clock skew."""
    return JSONResponse(_server(parts).heartbeat())


@router.get("/sync/status")
async def status(parts: Parts) -> JSONResponse:
    """The edge's sync state: link, queue per lane, last push and pull, skew, tickets."""
    if parts.sync_status is None:
        raise NotFound("no sync on this node: set YADORI_CENTRAL_URL on an edge")
    return JSONResponse(await run_in_threadpool(parts.sync_status))


@router.get("/events")
async def events(request: Request, parts: Parts) -> StreamingResponse:
    """Server-sent events: every link transition, queue change and alert, for the banner."""
    hub = parts.events
    subscription = hub.subscribe()

    async def stream() -> AsyncIterator[str]:
        try:
            yield ": connected\n\n"
            while not await request.is_disconnected():
                try:
                    event = subscription.get_nowait()
                except queue.Empty:
                    await asyncio.sleep(0.1)
                    continue
                data = json.dumps(event["data"], ensure_ascii=False)
                yield f"event: {event['event']}\ndata: {data}\n\n"
        finally:
            hub.unsubscribe(subscription)

    return StreamingResponse(stream(), media_type="text/event-stream")


@router.get("/api/v1/properties/{code}/tickets")
async def list_tickets(
    bus: Bus, pid: PropertyId, status_: Annotated[TicketStatus | None, Query(alias="status")] = None
) -> list[TicketOut]:
    """Conflict tickets, oldest first (``status=open`` for the ones to work on)."""
    return [TicketOut.of(t) for t in bus.read(pid, lambda uow: uow.tickets.list(status_))]


@router.post("/api/v1/properties/{code}/tickets/{ticket_id}/resolve")
async def resolve_ticket(
    bus: Bus, pid: PropertyId, actor: CurrentActor, ticket_id: str, body: ResolveTicketIn
) -> TicketOut:
    """Close a ticket with what was done (a command: it syncs like any other)."""
    cmd = ResolveTicket(ticket_id=ticket_id, resolution=body.resolution)
    return TicketOut.of(bus.execute(pid, cmd, actor).value(ConflictTicket))
