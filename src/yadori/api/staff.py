"""The one place where room-service staff routes are authorised.

Every kitchen and staff room-service route depends on :data:`RoomServiceStaff`. Until staff
login (issue 4) is merged it takes the actor from the ``X-Staff-Id`` / ``X-Token-Id`` headers,
like the rest of the API; wiring it to the staff JWT (and a kitchen scope) is a change of this
one function. Guest routes never use it, and never look at a staff credential.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header

from yadori.sync.mutation import Actor


async def require_room_service_staff(
    x_staff_id: Annotated[str, Header(max_length=64)] = "anonymous",
    x_token_id: Annotated[str, Header(max_length=64)] = "none",  # noqa: S107 - an id, not a secret
) -> Actor:
    """The member of staff behind a kitchen or room-service staff request."""
    return Actor(x_staff_id, x_token_id)


RoomServiceStaff = Annotated[Actor, Depends(require_room_service_staff)]
