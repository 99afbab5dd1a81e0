"""Logging in for tests: staff with known PINs, tokens, enrolled edges, node tokens.

Tests reach the API as staff would: a staff member exists (created at central, or at an edge
provisioned as if enrolled), logs in with code and PIN, and sends the bearer token.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from yadori.auth import keys
from yadori.auth.keys import NodeKey
from yadori.auth.roles import Role, Scope
from yadori.auth.tokens import issue_node
from yadori.bootstrap import Yadori
from yadori.domain.ids import new_id
from yadori.domain.staff import Session, Staff
from yadori.services.commands import CreateStaff
from yadori.sync.mutation import Actor

PIN = "246810"
SETUP_ACTOR = Actor("setup", "setup")


def provision_edge_keys(key_dir: Path, node_id: str) -> NodeKey:
    """Give an edge a key pair and a pepper as enrolment would (for edges with no central)."""
    key = keys.load_or_create(key_dir, node_id)
    keys.load_or_create_pepper(key_dir)
    return key


def add_staff(node: Yadori, property_id: str, role: Role = Role.ADMIN, code: str = "") -> Staff:
    """A staff member with the test PIN, created at this node (central, or a provisioned edge)."""
    assert node.auth is not None
    assert node.auth.hasher is not None, "node has no PIN pepper"
    cmd = CreateStaff(
        staff_id=new_id(),
        code=code or f"{role.value[:4].upper()}{new_id()[-6:]}",
        full_name=f"Test {role.value}",
        role=role.value,
        pin_hash=node.auth.hasher.hash(PIN),
    )
    return node.bus.execute(property_id, cmd, SETUP_ACTOR).value(Staff)


def token_for(node: Yadori, property_id: str, role: Role = Role.ADMIN) -> str:
    """A bearer token of a new staff member of that role, logged in at this node."""
    member = add_staff(node, property_id, role)
    assert node.auth is not None
    return node.auth.login_here(property_id, member.code, PIN, node=node.config.node_id).token


def bearer(token: str) -> dict[str, str]:
    """The Authorization header of a token."""
    return {"Authorization": f"Bearer {token}"}


def trust_actor(node: Yadori, property_id: str, actor: Actor, role: Role = Role.ADMIN) -> None:
    """Record at central that it issued ``actor``'s token (as an online login would have).

    Lets tests that run commands under a fixed test actor at edges push them: central's actor
    check finds the session. Valid from 2000 to 2100 so any test clock falls inside.
    """
    assert node.node_key is not None
    session = Session(
        token_id=actor.token_id,
        staff_id=actor.staff_id,
        kid=node.node_key.kid,
        role=role.value,
        scopes=tuple(sorted(s.value for s in Scope)),
        offline=False,
        issued_at=datetime(2000, 1, 1, tzinfo=UTC),
        expires_at=datetime(2100, 1, 1, tzinfo=UTC),
    )
    node.bus.in_unit(property_id, lambda uow: uow.staff.add_session(session))


def node_headers(central: Yadori, node_id: str, properties: tuple[str, ...]) -> dict[str, str]:
    """Enrol a key for ``node_id`` straight into central's trust; a node token's header."""
    assert central.trust is not None
    key = keys.generate(node_id)
    token, _ = central.trust.issue_enrolment(node_id, properties, "test", timedelta(hours=1))
    central.trust.enrol(token, node_id, key.public_pem())
    return bearer(issue_node(key, datetime.now(UTC)))
