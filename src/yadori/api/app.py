"""The FastAPI application, the same for an edge and for central."""

from __future__ import annotations

from fastapi import FastAPI

from yadori import __version__
from yadori.api import problems
from yadori.api.deps import NodeParts
from yadori.api.routes import auth, folios, reservations, rooms, sync, system


def create_app(parts: NodeParts) -> FastAPI:
    """An app serving the node's parts; the caller owns their lifetime."""
    app = FastAPI(
        title=f"Yadori {parts.config.role}",
        version=__version__,
        description="Offline-first hotel system: front desk (PMS) API.",
    )
    app.state.yadori = parts
    problems.install(app)
    for module in (system, auth, rooms, reservations, folios, sync):
        app.include_router(module.router)
    return app
