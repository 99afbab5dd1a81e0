"""The one place where room-service staff routes are authorised.

Every kitchen and staff room-service route takes its actor from here: a staff token for the
property of the URL whose role carries the ``room_service`` scope (the menu and the price policy,
changed at central, need ``setup``). The kitchen screen's event stream may carry its token in the
``access_token`` query parameter, since a browser's EventSource cannot send headers. Guest
routes never use this module, and never look at a staff credential.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Query

from yadori.api.deps import Auth, PublicPropertyId, scoped_actor
from yadori.auth import errors as e
from yadori.auth.roles import Scope
from yadori.services.auth import needs
from yadori.sync.mutation import Actor

RoomServiceStaff = Annotated[Actor, Depends(scoped_actor(Scope.ROOM_SERVICE))]
"""A member of staff who takes orders, runs the kitchen, counts stock or makes guest links."""
MenuStaff = Annotated[Actor, Depends(scoped_actor(Scope.SETUP))]
"""A manager (or admin) who changes the menu or the price policy (at central)."""


def _stream_actor(
    auth: Auth,
    pid: PublicPropertyId,
    authorization: Annotated[str | None, Header(max_length=4200)] = None,
    access_token: Annotated[str | None, Query(max_length=4200)] = None,
) -> Actor:
    scheme, _, bearer = (authorization or "").partition(" ")
    token = bearer.strip() if scheme.lower() == "bearer" else (access_token or "").strip()
    if not token:
        raise e.TokenMissing("log in first / ログインしてください")
    claims = auth.verify_any(token)
    auth.authorise(claims, pid)
    needs(claims, Scope.ROOM_SERVICE)
    return Actor(claims.staff_id, claims.token_id)


StreamStaff = Annotated[Actor, Depends(_stream_actor)]
"""RoomServiceStaff for the event stream, whose token may come in the query string."""
