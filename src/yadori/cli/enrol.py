"""Edge enrolment and key rotation, and central's admin commands for trust and staff.

``yadori edge enroll --central URL --token T`` makes the edge's key pair in its key directory,
registers the public half with central against the one-time token, and keeps what central
answers: the PIN pepper (beside the key), the key list (in the database) and the properties.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from yadori.auth import keys
from yadori.auth.roles import Role
from yadori.bootstrap import Yadori
from yadori.domain.ids import new_id
from yadori.domain.staff import Staff
from yadori.services.commands import CreateStaff
from yadori.services.trust import keys_from_json
from yadori.storage.engine import make_engine
from yadori.storage.migrate import upgrade
from yadori.storage.trust import SqlTrust
from yadori.sync.http_transport import HttpTransport
from yadori.sync.mutation import Actor

ENROLMENT_FILE = "enrolment.json"
ADMIN_ACTOR = Actor("console", "console")  # the operator at central's machine


class EnrolmentFailed(Exception):
    """Central refused the enrolment (the message says why)."""


@dataclass(frozen=True, slots=True)
class Enrolment:
    """What an enrolled edge keeps about its enrolment."""

    central_url: str
    kid: str
    properties: tuple[str, ...]


def enroll(node_id: str, key_dir: Path, db_url: str, central_url: str, token: str) -> Enrolment:
    """Enrol this edge with central; its key, pepper and key list are stored."""
    key = keys.generate(node_id)
    transport = HttpTransport(central_url)
    try:
        answer = transport.enrol(token, node_id, key.public_pem())
    finally:
        transport.close()
    problem = answer.get("problem")
    if isinstance(problem, dict):
        raise EnrolmentFailed(f"{problem.get('code')}: {problem.get('detail')}")
    if answer.get("kid") != key.kid:
        raise EnrolmentFailed("central registered another key id than this edge's")
    keys.save(key_dir, key)
    keys.save_pepper(key_dir, bytes.fromhex(str(answer["pepper"])))
    props = answer.get("properties")
    enrolment = Enrolment(
        central_url, key.kid, tuple(str(p) for p in props) if isinstance(props, list) else ()
    )
    _save_enrolment(key_dir, enrolment)
    _store_keys(db_url, answer.get("keys"))
    return enrolment


def rotate(node: Yadori, key_dir: Path) -> str:
    """Make a new key, register it with central (signed in with the old), keep it; its kid."""
    if node.transport is None or node.node_key is None:
        raise EnrolmentFailed("this edge is not enrolled with a central")
    key = keys.generate(node.config.node_id)
    answer = node.transport.rotate(key.public_pem())
    if answer.get("kid") != key.kid:
        raise EnrolmentFailed(f"central did not take the new key: {answer}")
    keys.save(key_dir, key)
    _store_keys(node.config.db_url, answer.get("keys"))
    return key.kid


def load_enrolment(key_dir: Path) -> Enrolment | None:
    """The edge's enrolment, or None when it has not enrolled."""
    path = key_dir / ENROLMENT_FILE
    if not path.exists():
        return None
    data = json.loads(path.read_text())
    return Enrolment(data["central_url"], data["kid"], tuple(data["properties"]))


def enrolment_token(
    db_url: str, node_id: str, properties: tuple[str, ...], ttl: timedelta
) -> tuple[str, datetime]:
    """A one-time enrolment token made at central's console."""
    engine = make_engine(db_url)
    try:
        upgrade(engine)
        return SqlTrust(engine, lambda: datetime.now(UTC)).issue_enrolment(
            node_id, properties, "console", ttl
        )
    finally:
        engine.dispose()


def add_staff(  # noqa: PLR0917 - the staff member's fields
    node: Yadori, property_id: str, code: str, name: str, role: Role, pin: str
) -> Staff:
    """Create a staff member at central (the first admin of a property, the demo's staff)."""
    auth = node.auth
    if auth is None or auth.hasher is None or node.config.role != "central":
        raise EnrolmentFailed("staff are created at central")
    cmd = CreateStaff(
        staff_id=new_id(),
        code=code,
        full_name=name,
        role=role.value,
        pin_hash=auth.hasher.hash(pin),
    )
    return node.bus.execute(property_id, cmd, ADMIN_ACTOR).value(Staff)


def _save_enrolment(key_dir: Path, enrolment: Enrolment) -> None:
    data = {
        "central_url": enrolment.central_url,
        "kid": enrolment.kid,
        "properties": list(enrolment.properties),
    }
    (key_dir / ENROLMENT_FILE).write_text(json.dumps(data, indent=2))


def _store_keys(db_url: str, items: object) -> None:
    engine = make_engine(db_url)
    try:
        upgrade(engine)
        if isinstance(items, list):
            SqlTrust(engine, lambda: datetime.now(UTC)).replace_keys(keys_from_json(items))
    finally:
        engine.dispose()
