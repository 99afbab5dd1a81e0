"""Server-sent events from an EventHub: the banner's stream and the kitchen screen's."""

from __future__ import annotations

import asyncio
import json
import queue
from collections.abc import AsyncIterator

from fastapi import Request
from fastapi.responses import StreamingResponse

from yadori.sync.events import EventHub


def event_stream(request: Request, hub: EventHub, preamble: str = "") -> StreamingResponse:
    """Every event the hub publishes from now on, until the client goes away."""
    subscription = hub.subscribe()

    async def stream() -> AsyncIterator[str]:
        try:
            yield f"{preamble}: connected\n\n"
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
