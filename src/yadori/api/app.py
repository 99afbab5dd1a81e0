"""The FastAPI application, the same for an edge and for central."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from yadori import __version__
from yadori.api import problems
from yadori.api.deps import NodeParts
from yadori.api.routes import (
    auth,
    folios,
    guest,
    reservations,
    rooms,
    roomservice,
    sync,
    system,
)

WEB = Path(__file__).resolve().parent.parent / "web"


def create_app(parts: NodeParts) -> FastAPI:
    """An app serving the node's parts; the caller owns their lifetime."""
    app = FastAPI(
        title=f"Yadori {parts.config.role}",
        version=__version__,
        description="Offline-first hotel system: front desk (PMS) API.",
    )
    app.state.yadori = parts
    problems.install(app)
    for module in (system, auth, rooms, reservations, folios, sync, roomservice, guest):
        app.include_router(module.router)
    # The room-service page and the kitchen screen: static files, no build step, no CDN.
    app.mount("/guest", StaticFiles(directory=WEB / "guest", html=True), name="guest-page")
    app.mount("/kitchen", StaticFiles(directory=WEB / "kitchen", html=True), name="kitchen")
    return app
