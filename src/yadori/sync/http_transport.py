"""The edge's HTTP client to central: push, pull and heartbeat, with errors translated."""

from __future__ import annotations

import contextlib
import functools
import socket
import ssl
import threading
import weakref
from collections.abc import Callable, Iterable, Mapping

import httpcore2
import httpx2

from yadori.auth.errors import NodeUnauthenticated
from yadori.sync import canonical
from yadori.sync.canonical import JSON
from yadori.sync.connectivity import Timing
from yadori.sync.errors import BatchRefused, LinkDown, SyncRefused, TimedOut
from yadori.sync.protocol import CONTENT_TYPE, CRC_HEADER

PUSH = "/sync/v1/push"
PULL = "/sync/v1/pull"
REPUBLISH = "/sync/v1/republish"
HEARTBEAT = "/sync/v1/heartbeat"
LOGIN = "/sync/v1/login"
KEYS = "/sync/v1/keys"
ENROL = "/sync/v1/enrol"
ROTATE = "/sync/v1/keys/rotate"
REFUSALS = frozenset({401, 403, 423})


# httpcore's type of a socket option (not exported by name)
SocketOption = (
    tuple[int, int, int] | tuple[int, int, bytes | bytearray] | tuple[int, int, None, int]
)


class _Sockets(httpcore2.NetworkBackend):
    """The standard socket backend, remembering its sockets so that they can be shut down."""

    def __init__(self) -> None:
        self._inner = httpcore2.SyncBackend()
        self._open: weakref.WeakSet[socket.socket] = weakref.WeakSet()
        self._lock = threading.Lock()
        self._refusing = False

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[SocketOption] | None = None,
    ) -> httpcore2.NetworkStream:
        """Connect as the standard backend does, and remember the socket.

        Once the client is closed or aborted, a connection made meanwhile (a call that was
        assigned a new connection just before, and connects just after) is closed and refused:
        the closed pool no longer holds it, so nothing would ever close its socket.
        """
        stream = self._inner.connect_tcp(host, port, timeout, local_address, socket_options)
        sock = stream.get_extra_info("socket")
        with self._lock:
            refusing = self._refusing
            if not refusing and isinstance(sock, socket.socket):
                self._open.add(sock)
        if refusing:
            stream.close()
            raise httpcore2.ConnectError("the client was closed (the link declared down)")
        return stream

    def refuse(self) -> None:
        """Make no new connection from now on (the client is being closed)."""
        with self._lock:
            self._refusing = True

    def shut_down(self) -> None:
        """Shut every socket down: a read blocked in another thread returns at once.

        Closing a client does not do that: a socket in use by a request is only closed when
        the request ends, which in a black hole is its read timeout.
        """
        with self._lock:
            self._refusing = True
            sockets = list(self._open)
        for sock in sockets:
            with contextlib.suppress(OSError):  # already closed
                sock.shutdown(socket.SHUT_RDWR)


@functools.cache
def _tls() -> ssl.SSLContext:
    """One TLS context for every client in the process.

    Building one reads the CA bundle: about 20 ms of CPU, twice per client before, and a client
    is rebuilt each time the link goes offline (``abort``).
    """
    return httpx2.create_ssl_context()


class _Transport(httpx2.HTTPTransport):
    """httpx's transport on the remembering backend (the pool is httpx's own, rebuilt)."""

    def __init__(self, backend: _Sockets) -> None:
        super().__init__(verify=_tls())
        self._pool = httpcore2.ConnectionPool(
            ssl_context=_tls(),
            max_connections=10,
            max_keepalive_connections=5,
            keepalive_expiry=5.0,
            network_backend=backend,
        )


class HttpTransport:
    """Talks to central over one keep-alive HTTP client."""

    def __init__(
        self,
        base_url: str,
        *,
        timeout: float = 10.0,
        heartbeat_timeout: float = Timing().heartbeat_allowance,
        login_timeout: float = 3.0,
        token: Callable[[], str | None] = lambda: None,
    ) -> None:
        self._base_url = base_url
        self._timeout = timeout
        self._client, self._sockets = self._connect()
        self._heartbeat_timeout = heartbeat_timeout  # when the caller names none
        self._login_timeout = login_timeout
        self._token = token

    def _connect(self) -> tuple[httpx2.Client, _Sockets]:
        sockets = _Sockets()
        client = httpx2.Client(
            base_url=self._base_url, timeout=self._timeout, transport=_Transport(sockets)
        )
        return client, sockets

    def twin(self) -> HttpTransport:
        """Another client to the same central, with the same credentials.

        Its connections are its own: ``abort`` on one leaves the other's calls alone.
        """
        return HttpTransport(
            self._base_url,
            timeout=self._timeout,
            heartbeat_timeout=self._heartbeat_timeout,
            login_timeout=self._login_timeout,
            token=self._token,
        )

    def close(self) -> None:
        """Close the connections; a call in flight may end, none connects anew."""
        self._sockets.refuse()
        self._client.close()

    def abort(self) -> None:
        """The link is down: fail every call in flight now, instead of at its timeout."""
        old, old_sockets = self._client, self._sockets
        self._client, self._sockets = self._connect()
        old_sockets.shut_down()
        old.close()

    def push(self, body: bytes, crc: int) -> dict[str, JSON]:
        """Send a compressed batch; central's answer (results per mutation)."""
        headers = {"Content-Type": CONTENT_TYPE, CRC_HEADER: str(crc)}
        return self._call("POST", PUSH, content=body, headers=headers)

    def push_pulling(self, body: bytes, crc: int, params: dict[str, str | int]) -> dict[str, JSON]:
        """Send a push's last batch and ask, in the same call, for the pull page that follows.

        ``params`` are a pull's (its property, cursors and limit); central answers as to a push,
        with the page under ``page`` (an older central leaves it out: then pull as usual).
        """
        headers = {"Content-Type": CONTENT_TYPE, CRC_HEADER: str(crc)}
        pull = {k: v for k, v in params.items() if k != "origin"}  # the caller's own, always
        return self._call("POST", PUSH, content=body, headers=headers, params=pull)

    def pull(self, params: dict[str, str | int]) -> dict[str, JSON]:
        """Ask for changes since a cursor and results of this edge's mutations."""
        return self._call("GET", PULL, params=params)

    def republish(self, property_id: str, keys: list[str]) -> dict[str, JSON]:
        """Ask central to publish these aggregates again (what set-aside mutations touched)."""
        body: dict[str, JSON] = {"property_id": property_id, "aggregates": list(keys)}
        return self._call("POST", REPUBLISH, json=body)

    def heartbeat(self, origin: str, timeout: float | None = None) -> dict[str, JSON]:
        """A quick call that also tests this edge's credentials (its node token).

        An edge without a key (never enrolled) is refused here, as central refuses its other
        calls: a beat without a token would be answered and test nothing.

        ``timeout`` applies to each step of the call (connecting, sending, each read), as httpx
        times out: the monitor sets it from the link's round trip (decision 0045).
        """
        if not self._token():  # central would answer anyone: nothing tested, nothing syncs
            code = NodeUnauthenticated.code
            raise SyncRefused(
                f"GET {HEARTBEAT}: {code}: this edge has no key central knows: run `yadori edge "
                "enroll` with a token from central, then restart the edge / 未登録のエッジです",
                code,
            )
        wait = self._heartbeat_timeout if timeout is None else timeout
        return self._call("GET", HEARTBEAT, params={"origin": origin}, timeout=wait)

    def keys(self, timeout: float | None = None) -> dict[str, JSON]:
        """Central's key list, with the revoked ones (``timeout``: at most a step, as above)."""
        return self._call("GET", KEYS, timeout=timeout)

    def login(self, property_id: str, staff_code: str, pin: str) -> dict[str, JSON]:
        """Ask central to log a staff member in: ``{"token": …}`` or ``{"problem": …}``."""
        body = {"property_id": property_id, "staff_code": staff_code, "pin": pin}
        return self._call("POST", LOGIN, json=body, timeout=self._login_timeout, refusals=True)

    def enrol(self, token: str, node_id: str, public_pem: str) -> dict[str, JSON]:
        """Register this edge's public key with a one-time token (no node token yet)."""
        body = {"token": token, "node_id": node_id, "public_key": public_pem}
        return self._call("POST", ENROL, json=body, refusals=True)

    def rotate(self, public_pem: str) -> dict[str, JSON]:
        """Register a new key, signed in with the current one (which central then retires)."""
        return self._call("POST", ROTATE, json={"public_key": public_pem})

    def relay(
        self, method: str, path: str, body: dict[str, JSON], bearer: str
    ) -> tuple[int, dict[str, JSON]]:
        """Pass a staff member's online-only request on to central, with their own token."""
        try:
            response = self._client.request(
                method,
                path,
                json=body,
                headers={"Authorization": f"Bearer {bearer}"},
                timeout=self._login_timeout,
            )
            answer = response.json()
        except (httpx2.HTTPError, ValueError) as exc:
            raise LinkDown(f"{method} {path}: {type(exc).__name__}: {exc}") from exc
        if response.status_code >= 500 or not isinstance(answer, dict):
            raise LinkDown(f"{method} {path}: central answered {response.status_code}")
        return response.status_code, answer

    def _call(
        self,
        method: str,
        path: str,
        *,
        content: bytes | None = None,
        headers: dict[str, str] | None = None,
        params: dict[str, str | int] | None = None,
        timeout: float | None = None,
        json: Mapping[str, JSON] | None = None,
        refusals: bool = False,
    ) -> dict[str, JSON]:
        headers = dict(headers or {})
        token = self._token()
        if token:
            headers["Authorization"] = f"Bearer {token}"
        try:
            response = self._client.request(
                method,
                path,
                content=content,
                json=json,
                headers=headers,
                params=params,
                timeout=timeout if timeout is not None else self._timeout,
            )
        except httpx2.TimeoutException as exc:
            raise TimedOut(f"{method} {path}: {type(exc).__name__}: {exc}") from exc
        except httpx2.HTTPError as exc:  # connect errors, broken connections
            raise LinkDown(f"{method} {path}: {type(exc).__name__}: {exc}") from exc
        if response.status_code >= 500:
            raise LinkDown(f"{method} {path}: central answered {response.status_code}")
        try:
            answer = canonical.decode(response.content)
        except ValueError as exc:  # orjson's JSONDecodeError is a ValueError
            raise LinkDown(f"{method} {path}: an answer that is not JSON") from exc
        if not isinstance(answer, dict):
            raise LinkDown(f"{method} {path}: an answer that is not a JSON object")
        if refusals and response.status_code in REFUSALS:
            return {"problem": answer}
        if response.status_code >= 400:
            if answer.get("code") == "batch_corrupt":
                raise BatchRefused(str(answer.get("detail")))
            code = str(answer.get("code"))
            raise SyncRefused(f"{method} {path}: {code}: {answer.get('detail')}", code)
        return answer
