"""The attack battery: every way in that must be refused, over real HTTP, each with its code.

One world for the module: a `yadori central` process on PostgreSQL with two hotels and their
staff, a fault proxy in front of it, and an enrolled `yadori edge` process behind the proxy
(cut to make it offline). Tokens are forged with the real keys read from the key files, as an
attacker who stole a file would. Each test uses staff of its own, so the order does not matter.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx2
import jwt
import psycopg
import pytest
import sqlalchemy as sa

from support.auth import PIN, add_staff
from support.hotel import TODAY, Hotel, build_hotel
from support.nodes import (
    CentralProcess,
    central_process,
    enrol_key,
    free_port,
    node_bearer,
    proxy_to,
    wait_healthy,
)
from yadori.auth import keys
from yadori.auth.keys import NodeKey
from yadori.auth.roles import Role, Scope
from yadori.bootstrap import NodeConfig, bootstrap
from yadori.cli.enrol import enroll, enrolment_token
from yadori.cli.fault_proxy import FaultProxy
from yadori.domain.ids import new_id
from yadori.domain.staff import Staff
from yadori.services import commands as c
from yadori.storage.engine import make_engine
from yadori.storage.tables import folio_lines, login_attempts, sync_applied
from yadori.sync.mutation import Actor, Priority, make_mutation
from yadori.sync.protocol import CRC_HEADER, Batch, BatchItem, encode_batch

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

PG_ADMIN = os.environ.get("YADORI_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
OFFLINE_TOKEN_SECONDS = 12  # the edge's offline tokens, short so one can expire in a test
ROLES = (Role.ADMIN, Role.FRONT_DESK, Role.HOUSEKEEPING, Role.KITCHEN, Role.MANAGER)


@dataclass
class World:
    """Central, proxy and the edge process, with the hotels' staff."""

    central: CentralProcess
    proxy: FaultProxy
    db_url: str
    tmp: Path
    hotel: Hotel
    code: str
    other_code: str
    other_pid: str
    staff: dict[str, Staff]
    edge_port: int
    edge_env: dict[str, str]
    edge_proc: subprocess.Popen[bytes] | None = None
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def edge(self) -> str:
        """The edge's address."""
        return f"http://127.0.0.1:{self.edge_port}"

    @property
    def pid(self) -> str:
        """The hotel's property id."""
        return self.hotel.property_id

    @property
    def edge_key(self) -> NodeKey:
        """The edge's private key, read from its key file."""
        key = keys.load(self.tmp / "keys" / "edge1", "edge1")
        assert key is not None
        return key

    def start_edge(self) -> None:
        """Start (or restart) the edge process."""
        with (self.tmp / "edge1.log").open("ab") as log:
            self.edge_proc = subprocess.Popen(
                [sys.executable, "-m", "yadori.cli", "edge"],
                env=self.edge_env,
                stdout=log,
                stderr=log,
            )
        wait_healthy(self.edge, self.edge_proc)

    def stop_edge(self) -> None:
        """SIGKILL the edge process (a power cut)."""
        assert self.edge_proc is not None
        self.edge_proc.kill()
        self.edge_proc.wait(timeout=10)

    def url(self, base: str, path: str = "", code: str = "") -> str:
        """A property URL at a node."""
        return f"{base}/api/v1/properties/{code or self.code}{path}"

    def login(self, base: str, staff_code: str, pin: str = PIN, code: str = "") -> httpx2.Response:
        """POST a login."""
        return httpx2.post(
            self.url(base, "/auth/login", code), json={"staff_code": staff_code, "pin": pin}
        )

    def token(self, base: str, role_or_key: str, code: str = "") -> str:
        """A token of one of the staff, logged in at ``base``."""
        answer = self.login(base, self.staff[role_or_key].code, code=code)
        assert answer.status_code == 200, answer.text
        token: str = answer.json()["token"]
        return token

    def new_staff(self, role: Role = Role.FRONT_DESK) -> Staff:
        """A staff member made at central and pulled by the edge."""
        node = _central_node(self)
        try:
            member = add_staff(node, self.pid, role)
        finally:
            node.close()
        self.wait_for_staff(member.code)
        return member

    def wait_for_staff(self, staff_code: str) -> None:
        """Until the edge has pulled that staff member (the link must be up)."""
        admin = _bearer(self.token(self.central.url, "admin"))
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            codes = [
                s["code"] for s in httpx2.get(self.url(self.edge, "/staff"), headers=admin).json()
            ]
            if staff_code in codes:
                return
            time.sleep(0.1)
        raise AssertionError(f"the edge never pulled {staff_code}")

    def link(self) -> str:
        """The edge's link state."""
        admin = _bearer(self.token(self.central.url, "admin"))
        status: str = httpx2.get(f"{self.edge}/sync/status", headers=admin).json()["link"]
        return status

    @contextmanager
    def offline(self) -> Iterator[None]:
        """Cut the WAN until the edge says offline; heal it and wait for online afterwards."""
        admin = _bearer(self.token(self.central.url, "admin"))
        self.proxy.set("cut")
        _until(lambda: _link(self.edge, admin) == "offline", "offline")
        try:
            yield
        finally:
            self.proxy.set("pass")
            _until(lambda: _link(self.edge, admin) == "online", "online")
            _until(lambda: _synced(self.edge, admin), "synced")


def _link(edge: str, headers: dict[str, str]) -> str:
    return str(httpx2.get(f"{edge}/sync/status", headers=headers).json()["link"])


def _synced(edge: str, headers: dict[str, str]) -> bool:
    status = httpx2.get(f"{edge}/sync/status", headers=headers).json()
    return bool(status["link"] == "online" and status["pending"] == 0)


def _until(done: Any, what: str, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if done():
            return
        time.sleep(0.05)
    raise AssertionError(f"the edge never became {what}")


def _central_node(world: World) -> Any:
    return bootstrap(
        NodeConfig(
            "central",
            "central",
            "C",
            world.db_url,
            migrate=False,
            key_dir=str(world.central.key_dir),
        )
    )


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
def world(pg_template: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """The module's world (see the module's docstring)."""
    tmp = tmp_path_factory.mktemp("attacks")
    name = f"yadori_atk_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{pg_template}"')  # type: ignore[arg-type]
    db_url = PG_ADMIN.rpartition("/")[0] + f"/{name}"
    node = bootstrap(
        NodeConfig("central", "central", "C", db_url, key_dir=str(tmp / "central-keys"))
    )
    hotel, other = build_hotel(node), build_hotel(node)
    staff = {role.value: add_staff(node, hotel.property_id, role) for role in ROLES}
    staff["other_admin"] = add_staff(node, other.property_id, Role.ADMIN)
    codes = node.directory.codes_by_id()
    node.close()
    try:
        with central_process(db_url, tmp) as central, proxy_to(central) as proxy:
            token, _ = enrolment_token(db_url, "edge1", (hotel.property_id,), timedelta(hours=1))
            enroll(
                "edge1", tmp / "keys" / "edge1", f"sqlite:///{tmp / 'edge1.db'}", proxy.url, token
            )
            port = free_port()
            env = {
                **os.environ,
                "YADORI_DATA_DIR": str(tmp),
                "YADORI_NODE_ID": "edge1",
                "YADORI_DB_URL": f"sqlite:///{tmp / 'edge1.db'}",
                "YADORI_PORT": str(port),
                "YADORI_HEARTBEAT_SECONDS": "0.2",
                "YADORI_BACKOFF_CAP_SECONDS": "0.3",
                "YADORI_HEIGHTENED_SECONDS": "1",
                "YADORI_OFFLINE_TOKEN_HOURS": str(OFFLINE_TOKEN_SECONDS / 3600),
                "YADORI_LOG_LEVEL": "warning",
                "PYTHONPATH": os.pathsep.join(sys.path),
            }
            made = World(
                central, proxy, db_url, tmp, hotel, codes[hotel.property_id],
                codes[other.property_id], other.property_id, staff, port, env,
            )  # fmt: skip
            made.start_edge()
            try:
                made.wait_for_staff(staff["admin"].code)
                yield made
            finally:
                if made.edge_proc is not None and made.edge_proc.poll() is None:
                    made.edge_proc.terminate()
                    made.edge_proc.wait(timeout=10)
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')  # type: ignore[arg-type]


# --- forging tokens as an attacker would ------------------------------------------------


def _b64(obj: object) -> str:
    raw = json.dumps(obj).encode() if not isinstance(obj, bytes) else obj
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _claims(world: World, member: Staff, **over: object) -> dict[str, object]:
    now = int(time.time())
    claims: dict[str, object] = {
        "sub": member.id,
        "jti": new_id(),
        "iss": "edge1",
        "aud": "yadori-staff",
        "iat": now,
        "nbf": now,
        "exp": now + 3600,
        "pid": world.pid,
        "role": member.role,
        "scope": sorted(s.value for s in Scope),
        "offline": True,
    }
    claims.update(over)
    return claims


def _signed(key: NodeKey, claims: dict[str, object], kid: str | None = None) -> str:
    return jwt.encode(claims, key.private, "EdDSA", headers={"kid": kid or key.kid})


def _refused(response: httpx2.Response, status: int, code: str) -> None:
    assert response.headers["content-type"].startswith("application/problem+json"), response.text
    assert (response.status_code, response.json()["code"]) == (status, code), response.text


def _code(response: httpx2.Response) -> str:
    """A problem's code ("" for an answer that is not a problem)."""
    body = response.json()
    return str(body.get("code", "")) if isinstance(body, dict) else ""


def _rooms(world: World, token: str, base: str = "") -> httpx2.Response:
    return httpx2.get(world.url(base or world.edge, "/rooms"), headers=_bearer(token))


# --- 1–10: tokens ---------------------------------------------------------------------------


def test_01_no_token(world: World) -> None:
    """A request without a token is refused: 401 token_missing."""
    _refused(httpx2.get(world.url(world.edge, "/rooms")), 401, "token_missing")
    _refused(httpx2.get(world.url(world.central.url, "/rooms")), 401, "token_missing")


def test_02_not_bearer(world: World) -> None:
    """Basic auth, or a scheme with no token: 401 token_malformed."""
    for header in ("Basic YWRtaW46YWRtaW4=", "Bearer", "token"):
        answer = httpx2.get(world.url(world.edge, "/rooms"), headers={"Authorization": header})
        _refused(answer, 401, "token_malformed")


def test_03_garbage_and_oversized_token(world: World) -> None:
    """Not a JWT: 401 token_malformed; a 5,000-byte header: refused before any parsing."""
    _refused(_rooms(world, "abc.def.ghi"), 401, "token_malformed")
    answer = httpx2.get(world.url(world.edge, "/rooms"), headers=_bearer("x" * 5000))
    _refused(answer, 422, "invalid_request")


def test_04_expired(world: World) -> None:
    """A token whose exp has passed: 401 token_expired."""
    past = int(time.time()) - 3600
    token = _signed(
        world.edge_key, _claims(world, world.staff["admin"], iat=past - 60, nbf=past - 60, exp=past)
    )
    _refused(_rooms(world, token), 401, "token_expired")


def test_05_not_yet_valid(world: World) -> None:
    """A token issued an hour from now: 401 token_not_yet_valid."""
    later = int(time.time()) + 3600
    token = _signed(
        world.edge_key, _claims(world, world.staff["admin"], iat=later, nbf=later, exp=later + 60)
    )
    _refused(_rooms(world, token), 401, "token_not_yet_valid")


def test_06_tampered_payload(world: World) -> None:
    """A real housekeeping token with its role changed to admin: 401 token_signature_invalid."""
    real = world.token(world.edge, "housekeeping")
    head, body, sig = real.split(".")
    claims = json.loads(base64.urlsafe_b64decode(body + "=="))
    claims["role"], claims["scope"] = "admin", sorted(s.value for s in Scope)
    _refused(_rooms(world, f"{head}.{_b64(claims)}.{sig}"), 401, "token_signature_invalid")


def test_07_wrong_signature(world: World) -> None:
    """Signed with another key under the edge's kid: 401 token_signature_invalid."""
    other = keys.generate("edge1")
    token = _signed(other, _claims(world, world.staff["admin"]), kid=world.edge_key.kid)
    _refused(_rooms(world, token), 401, "token_signature_invalid")


def test_08_alg_none(world: World) -> None:
    """An unsigned token (alg none): 401 token_algorithm_refused."""
    head = _b64({"alg": "none", "typ": "JWT", "kid": world.edge_key.kid})
    token = f"{head}.{_b64(_claims(world, world.staff['admin']))}."
    _refused(_rooms(world, token), 401, "token_algorithm_refused")


def test_09_hs256_with_the_public_key(world: World) -> None:
    """HS256 keyed with the edge's public PEM (key confusion): 401 token_algorithm_refused."""
    head = _b64({"alg": "HS256", "typ": "JWT", "kid": world.edge_key.kid})
    body = _b64(_claims(world, world.staff["admin"]))
    secret = world.edge_key.public_pem().encode()
    sig = hmac.new(secret, f"{head}.{body}".encode(), hashlib.sha256).digest()
    _refused(_rooms(world, f"{head}.{body}.{_b64(sig)}"), 401, "token_algorithm_refused")


def test_10_unknown_kid(world: World) -> None:
    """Signed by a key nobody enrolled: 401 unknown_key, at the edge and at central."""
    stranger = keys.generate("rogue")
    token = _signed(stranger, _claims(world, world.staff["admin"]))
    _refused(_rooms(world, token), 401, "unknown_key")
    _refused(_rooms(world, token, world.central.url), 401, "unknown_key")


# --- 11–17: keys, properties, staff, roles ------------------------------------------------


def test_11_revoked_edge_key(world: World) -> None:
    """A revoked edge key: its tokens get 401 key_revoked, its sync calls node_unauthenticated,
    and the edge learns the revocation list through its heartbeat."""
    stolen = enrol_key(world.central, "edge9", (world.pid,))
    token = _signed(stolen, _claims(world, world.staff["admin"], iss="edge9"))
    assert _rooms(world, token, world.central.url).status_code == 200
    admin = _bearer(world.token(world.central.url, "admin"))
    revoked = httpx2.post(
        world.url(world.central.url, f"/admin/keys/{stolen.kid}/revoke"), headers=admin
    )
    assert revoked.status_code == 200, revoked.text
    _refused(_rooms(world, token, world.central.url), 401, "key_revoked")
    beat = httpx2.get(f"{world.central.url}/sync/v1/heartbeat", headers=node_bearer(stolen))
    _refused(beat, 401, "node_unauthenticated")
    _until(lambda: _code(_rooms(world, token)) == "key_revoked", "aware of the revocation")


def test_12_token_of_another_property(world: World) -> None:
    """A valid token of the other hotel on this hotel's URL: 403 wrong_property."""
    token = world.token(world.central.url, "other_admin", code=world.other_code)
    _refused(_rooms(world, token, world.central.url), 403, "wrong_property")
    _refused(_rooms(world, token), 403, "wrong_property")


def test_13_disabled_and_deleted_staff(world: World) -> None:
    """Tokens of a staff member disabled (or deleted) since: 401 staff_inactive, and no login."""
    admin = _bearer(world.token(world.central.url, "admin"))
    for status in ("disabled", "deleted"):
        member = world.new_staff()
        token = world.login(world.central.url, member.code).json()["token"]
        assert _rooms(world, token, world.central.url).status_code == 200
        changed = httpx2.post(
            world.url(world.central.url, f"/staff/{member.id}/status"),
            json={"status": status},
            headers=admin,
        )
        assert changed.status_code == 200, changed.text
        _refused(_rooms(world, token, world.central.url), 401, "staff_inactive")
        _refused(world.login(world.central.url, member.code), 401, "invalid_credentials")
        _until(lambda t=token: _rooms(world, t).status_code == 401, "aware of the status")
        _refused(_rooms(world, token), 401, "staff_inactive")


def test_14_role_escalation(world: World) -> None:
    """Housekeeping takes a payment, kitchen checks a guest in: 403 role_forbidden."""
    hk, kitchen = world.token(world.edge, "housekeeping"), world.token(world.edge, "kitchen")
    folio = "01000000-0000-7000-8000-000000000000"
    pay = httpx2.post(
        world.url(world.edge, f"/folios/{folio}/payments"),
        json={"method": "cash", "amount": 1000},
        headers=_bearer(hk),
    )
    _refused(pay, 403, "role_forbidden")
    check_in = httpx2.post(
        world.url(world.edge, f"/reservations/{folio}/check-in"),
        json={"room_id": world.hotel.rooms["101"], "guests": []},
        headers=_bearer(kitchen),
    )
    _refused(check_in, 403, "role_forbidden")
    audit = httpx2.get(world.url(world.edge, "/auth/attempts"), headers=_bearer(hk))
    _refused(audit, 403, "role_forbidden")


def test_15_offline_token_for_online_only_actions(world: World) -> None:
    """With an offline token: PIN change and staff creation are 403 online_only, saying why."""
    with world.offline():
        answer = world.login(world.edge, world.staff["admin"].code)
        assert answer.json()["offline"] is True
        token = _bearer(answer.json()["token"])
        pin = httpx2.post(
            world.url(world.edge, "/auth/pin"),
            json={"current_pin": PIN, "new_pin": "135790"},
            headers=token,
        )
        _refused(pin, 403, "online_only")
        assert "オンライン" in pin.json()["detail"]
        staff = httpx2.post(
            world.url(world.edge, "/staff"),
            json={"code": "NEW1", "name": "x", "role": "front_desk", "pin": "1234"},
            headers=token,
        )
        _refused(staff, 403, "online_only")


def test_16_online_only_with_an_online_token_but_the_link_down(world: World) -> None:
    """An online token whose edge has lost the link: staff creation is 403 online_only."""
    token = _bearer(world.token(world.edge, "admin"))
    with world.offline():
        staff = httpx2.post(
            world.url(world.edge, "/staff"),
            json={"code": "NEW2", "name": "x", "role": "front_desk", "pin": "1234"},
            headers=token,
        )
        _refused(staff, 403, "online_only")
    answers: list[httpx2.Response] = []

    def relayed() -> bool:
        answers.append(
            httpx2.post(
                world.url(world.edge, "/staff"),
                json={"code": "NEW3", "name": "Relayed", "role": "kitchen", "pin": "1234"},
                headers=token,
            )
        )
        # a heartbeat a loaded machine delays is a short outage of its own: refused as
        # online_only, nothing was made, so asking again is safe
        return answers[-1].status_code != 403

    _until(relayed, "online for the relay")
    assert answers[-1].status_code == 201, answers[-1].text  # online: passed on to central


def test_17_node_token_as_staff_token_and_back(world: World) -> None:
    """The edge's node token is no staff token (401 token_malformed), nor a staff token a node
    token (401 node_unauthenticated on push)."""
    node = node_bearer(world.edge_key)
    _refused(
        httpx2.get(world.url(world.central.url, "/rooms"), headers=node), 401, "token_malformed"
    )
    staff = _bearer(world.token(world.central.url, "admin"))
    push = httpx2.post(f"{world.central.url}/sync/v1/push", content=b"x", headers=staff)
    _refused(push, 401, "node_unauthenticated")
    _refused(
        httpx2.post(f"{world.central.url}/sync/v1/push", content=b"x"), 401, "node_unauthenticated"
    )


# --- 18–24: PINs, input, enrolment ----------------------------------------------------------


def test_18_pin_brute_force_locks_after_five(world: World) -> None:
    """Offline at the edge: five wrong PINs, then even the right one is 423 account_locked;
    the attempts reach central's audit log once the link is back."""
    victim = world.new_staff()
    with world.offline():
        for n in range(5):
            _refused(world.login(world.edge, victim.code, f"00000{n}"), 401, "invalid_credentials")
        locked = world.login(world.edge, victim.code)
        _refused(locked, 423, "account_locked")
        assert locked.json()["retry_after"] > 800
    engine = make_engine(world.db_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                sa.select(login_attempts.c.outcome, login_attempts.c.node).where(
                    login_attempts.c.staff_id == victim.id
                )
            ).all()
    finally:
        engine.dispose()
    assert sorted(r.outcome for r in rows) == ["bad_pin"] * 5 + ["locked"]
    assert {r.node for r in rows} == {"edge1"}
    _refused(world.login(world.central.url, victim.code), 423, "account_locked")


def test_19_lockout_survives_an_edge_restart(world: World) -> None:
    """Locked offline, the edge SIGKILLed and started again, still offline: still locked."""
    victim = world.new_staff()
    with world.offline():
        for n in range(5):
            world.login(world.edge, victim.code, f"11111{n}")
        world.stop_edge()
        world.start_edge()
        _refused(world.login(world.edge, victim.code), 423, "account_locked")


def test_20_sql_injection_in_staff_code_and_pin(world: World) -> None:
    """Injection in the code is 422 invalid_request; in the PIN it is just a wrong PIN."""
    for base in (world.edge, world.central.url):
        _refused(world.login(base, "' OR '1'='1"), 422, "invalid_request")
        _refused(world.login(base, "x'; DROP TABLE staff;--"), 422, "invalid_request")
        _refused(
            world.login(base, world.staff["kitchen"].code, "' OR 1=1--"), 401, "invalid_credentials"
        )
    assert world.login(world.edge, world.staff["kitchen"].code).status_code == 200


def test_21_oversized_input(world: World) -> None:
    """A 10 kB staff code or PIN, or an unknown field: 422 invalid_request."""
    _refused(world.login(world.edge, "A" * 10_000), 422, "invalid_request")
    _refused(world.login(world.edge, "FD01", "1" * 10_000), 422, "invalid_request")
    extra = httpx2.post(
        world.url(world.edge, "/auth/login"),
        json={"staff_code": "FD01", "pin": "1234", "role": "admin"},
    )
    _refused(extra, 422, "invalid_request")


def test_22_replayed_expired_or_misdirected_enrolment_token(world: World) -> None:
    """An enrolment token works once, for its node, before it expires: else 401
    enrolment_refused."""

    def enrol(token: str, node: str) -> httpx2.Response:
        body = {"token": token, "node_id": node, "public_key": keys.generate(node).public_pem()}
        return httpx2.post(f"{world.central.url}/sync/v1/enrol", json=body)

    token, _ = enrolment_token(world.db_url, "edge5", (world.pid,), timedelta(minutes=5))
    _refused(enrol(token, "edge6"), 401, "enrolment_refused")
    assert enrol(token, "edge5").status_code == 200
    _refused(enrol(token, "edge5"), 401, "enrolment_refused")
    stale, _ = enrolment_token(world.db_url, "edge7", (world.pid,), timedelta(seconds=-1))
    _refused(enrol(stale, "edge7"), 401, "enrolment_refused")
    _refused(enrol("made-up", "edge7"), 401, "enrolment_refused")


def test_23_unknown_staff_code_answers_like_a_wrong_pin_in_the_same_time(world: World) -> None:
    """An unknown code is 401 invalid_credentials, like a wrong PIN, and costs the edge about
    the CPU a successful login costs (argon2 runs either way; skipping it for an unknown code
    makes 9 of them cost about 0.04 s against 0.27 s).

    Measured in the edge process's CPU seconds, not wall time, which a loaded machine changes.
    """
    _refused(world.login(world.edge, "NOBODY"), 401, "invalid_credentials")

    edge = world.edge_proc
    assert edge is not None

    def cpu_of(staff_code: str) -> float:
        """CPU seconds the edge process spends on 9 logins: load on the machine does not change
        them, as it changes wall time."""
        before = _cpu_seconds(edge.pid)
        for _ in range(9):
            world.login(world.edge, staff_code)
        return _cpu_seconds(edge.pid) - before

    with world.offline():
        known, unknown = cpu_of(world.staff["manager"].code), cpu_of("NOBODY2")
    assert 0.5 < unknown / known < 2.0, (known, unknown)


def _cpu_seconds(pid: int) -> float:
    """User and system CPU seconds of a process, from /proc (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def test_24_edge_cannot_push_or_pull_as_another_node_or_property(world: World) -> None:
    """A batch of another origin, or one carrying another origin's mutation: 401
    node_unauthenticated; another property: 403 wrong_property (push and pull)."""
    node = node_bearer(world.edge_key)
    mutation = _mutation("edge2", Actor("x", "y"), world)
    body, crc = encode_batch(Batch("edge2", 1, 0, (BatchItem(world.pid, mutation, ()),)))
    push = httpx2.post(
        f"{world.central.url}/sync/v1/push", content=body, headers={CRC_HEADER: str(crc), **node}
    )
    _refused(push, 401, "node_unauthenticated")
    # its own batch carrying another node's mutation: central would record it under that
    # node's (origin, seq), and answer that node's own mutation of that seq as taken
    mutation = _mutation("edge2", Actor("x", "y"), world)
    body, crc = encode_batch(Batch("edge1", 98, 0, (BatchItem(world.pid, mutation, ()),)))
    push = httpx2.post(
        f"{world.central.url}/sync/v1/push", content=body, headers={CRC_HEADER: str(crc), **node}
    )
    _refused(push, 401, "node_unauthenticated")
    mutation = _mutation("edge1", Actor("x", "y"), world)
    body, crc = encode_batch(Batch("edge1", 99, 0, (BatchItem(world.other_pid, mutation, ()),)))
    push = httpx2.post(
        f"{world.central.url}/sync/v1/push", content=body, headers={CRC_HEADER: str(crc), **node}
    )
    _refused(push, 403, "wrong_property")
    pull = httpx2.get(
        f"{world.central.url}/sync/v1/pull",
        params={"origin": "edge1", "property": world.other_pid},
        headers=node,
    )
    _refused(pull, 403, "wrong_property")


# --- 25–27: pushed mutations judged by their actor -------------------------------------------


def _mutation(origin: str, actor: Actor, world: World, seq: int = 1, name: str = "") -> Any:
    command = c.SetRoomCondition(room_id=world.hotel.rooms["104"], condition=_dirty())
    if name == "post_payment":
        command = c.PostPayment(folio_id=new_id(), line_id=new_id(), method="cash", amount=1)  # type: ignore[assignment]
    return make_mutation(
        id=new_id(),
        origin=origin,
        seq=seq,
        hlc=f"{int(time.time() * 1000):015d}-000000-{origin}",
        name=command.name,
        args=command.args(),
        deps=(),
        priority=Priority.ROOM_STATUS,
        actor=actor,
    )


def _dirty() -> Any:
    from yadori.domain.rooms import Condition

    return Condition.DIRTY


def _push_one(world: World, key: NodeKey, mutation: Any) -> dict[str, Any]:
    item = BatchItem(world.pid, mutation, (f"room:{world.hotel.rooms['104']}",))
    body, crc = encode_batch(Batch(key.node_id, mutation.seq, 0, (item,)))
    answer = httpx2.post(
        f"{world.central.url}/sync/v1/push",
        content=body,
        headers={CRC_HEADER: str(crc), **node_bearer(key)},
    )
    assert answer.status_code == 200, answer.text
    result: dict[str, Any] = answer.json()["results"][0]
    return result


def test_25_forged_mutation_with_another_actors_token(world: World) -> None:
    """An enrolled node pushes a mutation claiming to be the manager under the housekeeper's
    token: recorded rejected, actor_refused; an unknown token id too."""
    pusher = enrol_key(world.central, "edge8", (world.pid,))
    hk = world.token(world.central.url, "housekeeping")
    hk_token_id = jwt.decode(hk, options={"verify_signature": False})["jti"]
    forged = _mutation("edge8", Actor(world.staff["manager"].id, hk_token_id), world, seq=1)
    result = _push_one(world, pusher, forged)
    assert result["result"] == "rejected"
    assert result["reason"].startswith("actor_refused"), result
    unknown = _mutation("edge8", Actor(world.staff["manager"].id, new_id()), world, seq=2)
    result = _push_one(world, pusher, unknown)
    assert (result["result"], result["reason"][:13]) == ("rejected", "actor_refused")


def test_26_pushed_mutation_beyond_the_tokens_role(world: World) -> None:
    """A housekeeper's real token on a pushed payment: rejected, actor_refused (role)."""
    pusher = enrol_key(world.central, "edge4", (world.pid,))
    hk = world.token(world.central.url, "housekeeping")
    claims = jwt.decode(hk, options={"verify_signature": False})
    payment = _mutation("edge4", Actor(claims["sub"], claims["jti"]), world, name="post_payment")
    result = _push_one(world, pusher, payment)
    assert result["result"] == "rejected"
    assert "role" in result["reason"], result


def test_27_mutation_under_an_offline_token_that_expired_still_syncs(world: World) -> None:
    """A charge made offline under an offline token that has expired by the time the link
    returns is applied at central, attributed to the staff member who made it."""
    desk = world.new_staff(Role.FRONT_DESK)
    admin = _bearer(world.token(world.edge, "admin"))
    folio = new_id()
    booked = httpx2.post(
        world.url(world.edge, "/reservations"),
        json={
            "folio_id": folio,
            "guest_name": "Offline Guest",
            "arrival": TODAY.isoformat(),
            "departure": (TODAY + timedelta(days=1)).isoformat(),
            "room_type_id": world.hotel.std,
            "rate_plan_id": world.hotel.plan,
        },
        headers=admin,
    )
    assert booked.status_code == 201, booked.text
    with world.offline():
        answer = world.login(world.edge, desk.code)
        assert answer.json()["offline"] is True
        token = answer.json()["token"]
        line = new_id()
        charged = httpx2.post(
            world.url(world.edge, f"/folios/{folio}/charges"),
            json={"line_id": line, "category": "minibar", "description": "offline", "amount": 500},
            headers=_bearer(token),
        )
        assert charged.status_code == 201, charged.text
        time.sleep(OFFLINE_TOKEN_SECONDS + 11)  # past the lifetime and the leeway
        _refused(_rooms(world, token), 401, "token_expired")
    engine = make_engine(world.db_url)
    try:
        with engine.connect() as conn:
            posted_by = conn.execute(
                sa.select(folio_lines.c.posted_by).where(folio_lines.c.id == line)
            ).scalar_one()
            rejected = conn.execute(
                sa.select(sa.func.count())
                .select_from(sync_applied)
                .where(sync_applied.c.origin == "edge1", sync_applied.c.result == "rejected")
            ).scalar_one()
    finally:
        engine.dispose()
    assert posted_by == desk.id
    assert rejected == 0


def test_28_heartbeat_tests_the_edges_credentials(world: World) -> None:
    """The heartbeat answers anyone, checks a node token when one comes, and refuses a bad one."""
    assert httpx2.get(f"{world.central.url}/sync/v1/heartbeat").status_code == 200
    ok = httpx2.get(f"{world.central.url}/sync/v1/heartbeat", headers=node_bearer(world.edge_key))
    assert ok.json()["node"] == "edge1"
    forged = node_bearer(keys.NodeKey(world.edge_key.kid, "edge1", keys.generate("x").private))
    _refused(
        httpx2.get(f"{world.central.url}/sync/v1/heartbeat", headers=forged),
        401,
        "node_unauthenticated",
    )


def test_29_wrong_pin_and_logins_are_in_the_audit_log(world: World) -> None:
    """Managers read the login audit log: successes and failures, online and offline."""
    manager = _bearer(world.token(world.central.url, "manager"))
    world.login(world.central.url, world.staff["kitchen"].code, "999999")
    rows = httpx2.get(world.url(world.central.url, "/auth/attempts"), headers=manager).json()
    outcomes = {r["outcome"] for r in rows}
    assert {"success", "bad_pin"} <= outcomes
    assert {r["offline"] for r in rows} >= {False}
