"""The edge's HTTP transport against real sockets.

A call stuck in a black hole can be aborted; a heartbeat waits as long as it is told, and says
when it timed out; a twin's calls outlive the other's abort; clients share one TLS context.
"""

from __future__ import annotations

import contextlib
import http.server
import json
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpcore2
import pytest

from yadori.sync import http_transport
from yadori.sync.errors import LinkDown, SyncRefused, TimedOut
from yadori.sync.http_transport import HttpTransport


@contextlib.contextmanager
def black_hole() -> Iterator[tuple[str, list[socket.socket]]]:
    """A server that accepts connections and reads requests but never answers."""
    server = socket.create_server(("127.0.0.1", 0))
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.1)
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                conn, _ = server.accept()
                held.append(conn)

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.getsockname()[1]}", held
    finally:
        stop.set()
        thread.join()
        for conn in held:
            conn.close()
        server.close()


def test_abort_fails_a_call_blocked_in_a_black_hole_at_once() -> None:
    """A pull waiting for an answer that never comes fails when the link is declared down.

    Closing the HTTP client does not do it (the blocked read keeps its socket until its 10 s
    timeout); the transport shuts its sockets down, so the sync thread is free to recover.
    """
    with black_hole() as (url, held):
        transport = HttpTransport(url, timeout=10.0, token=lambda: "a-node-token")
        failed: list[BaseException] = []
        returned = threading.Event()

        def pull() -> None:
            try:
                transport.pull({"origin": "edge1"})
            except LinkDown as exc:
                failed.append(exc)
            returned.set()

        thread = threading.Thread(target=pull, daemon=True)
        thread.start()
        deadline = time.monotonic() + 5
        while not held:  # connected: the socket is the transport's to shut down
            assert time.monotonic() < deadline, "the pull never connected"
            time.sleep(0.01)
        time.sleep(0.1)  # the request is sent and its read is blocked
        assert not returned.is_set()
        transport.abort()
        assert returned.wait(5.0), "the blocked call did not return after abort()"
        assert failed, "the aborted call must fail with LinkDown"
        with pytest.raises(LinkDown):  # the new client works as usual: here, a read timeout
            transport.heartbeat("edge1")
        transport.close()


@contextlib.contextmanager
def slow_heartbeats() -> Iterator[tuple[str, list[float]]]:
    """An HTTP server whose heartbeat answers after ``delay[0]`` seconds (changeable)."""
    delay = [0.0]

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as central's

        def do_GET(self) -> None:
            time.sleep(delay[0])
            body = json.dumps({"time_ms": int(time.time() * 1000)}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            with contextlib.suppress(OSError):  # the client may have given up already
                self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            """Quiet."""

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", delay
    finally:
        server.shutdown()
        server.server_close()


def test_a_heartbeat_waits_as_long_as_it_is_told() -> None:
    """The monitor names each beat's wait (decision 0045); without one, the 0.4 s default.

    An answer that takes 0.8 s comes back to a beat told to wait 2 s, and fails one told to
    wait 0.3 s, or one told nothing.
    """
    with slow_heartbeats() as (url, delay):
        transport = HttpTransport(url, token=lambda: "a-node-token")
        try:
            assert "time_ms" in transport.heartbeat("edge1")
            delay[0] = 0.8
            assert "time_ms" in transport.heartbeat("edge1", 2.0)
            with pytest.raises(TimedOut):
                transport.heartbeat("edge1", 0.3)
            with pytest.raises(TimedOut):
                transport.heartbeat("edge1")
        finally:
            transport.close()


def test_only_a_call_left_unanswered_counts_as_timed_out() -> None:
    """The monitor asks a timed-out beat again, patiently; a refused connection is just down."""
    with socket.create_server(("127.0.0.1", 0)) as unused:
        port = unused.getsockname()[1]
    # nothing listens there now
    transport = HttpTransport(f"http://127.0.0.1:{port}", token=lambda: "a-node-token")
    try:
        with pytest.raises(LinkDown) as refused:
            transport.heartbeat("edge1", 1.0)
        assert not isinstance(refused.value, TimedOut)
    finally:
        transport.close()


def test_a_twin_s_call_outlives_an_abort_of_the_original() -> None:
    """The monitor's patient beat runs on a twin: declaring the link down leaves it waiting."""
    with slow_heartbeats() as (url, delay):
        transport = HttpTransport(url, token=lambda: "a-node-token")
        twin = transport.twin()
        delay[0] = 0.5
        answered: list[dict[str, object]] = []
        thread = threading.Thread(target=lambda: answered.append(twin.heartbeat("edge1", 2.0)))
        try:
            thread.start()
            time.sleep(0.2)  # the twin's request is in flight
            transport.abort()
            thread.join(5)
            assert answered, "the twin's beat failed with the original's abort"
            assert "time_ms" in answered[0]
        finally:
            twin.close()
            transport.close()


def test_clients_share_one_tls_context(monkeypatch: pytest.MonkeyPatch) -> None:
    """Going offline rebuilds the client; it no longer reads the CA bundle each time.

    Each context cost about 20 ms of CPU, two per client: 40 ms on every offline transition,
    spent before the offline event was published.
    """
    made: list[object] = []
    real = http_transport.httpcore2.default_ssl_context

    def counting(*args: Any, **kwargs: Any) -> Any:
        made.append(real(*args, **kwargs))
        return made[-1]

    monkeypatch.setattr(http_transport.httpcore2, "default_ssl_context", counting)
    http_transport._tls.cache_clear()
    try:
        transports = [HttpTransport("http://127.0.0.1:9") for _ in range(3)]
        for transport in transports:
            transport.abort()
            transport.close()
    finally:
        http_transport._tls.cache_clear()
    assert len(made) == 1


def test_a_heartbeat_without_a_node_token_is_refused_before_it_is_sent() -> None:
    """An edge never enrolled has no key: central would answer its beat and test nothing, so the
    transport refuses it as central refuses the other calls (no request is made: nothing listens
    at port 9, which would be ``LinkDown``)."""
    transport = HttpTransport("http://127.0.0.1:9")
    try:
        with pytest.raises(SyncRefused, match="yadori edge enroll") as refused:
            transport.heartbeat("edge1", 1.0)
        assert refused.value.code == "node_unauthenticated"
    finally:
        transport.close()


@pytest.mark.parametrize("how", ["abort", "close"])
def test_a_connection_made_once_the_client_is_closed_is_closed_not_left_open(how: str) -> None:
    """A call assigned a new connection just before the link is declared down (``abort``) or
    the node stops (``close``) connects just after: the closed pool no longer holds that
    connection, so nothing would ever close its socket (found as a ResourceWarning in a CI
    run). The old client's backend refuses it and closes it: central sees it closed at once."""
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        transport = HttpTransport(f"http://127.0.0.1:{port}", token=lambda: "a-node-token")
        backend = transport._sockets  # the one the call in flight connects through
        if how == "abort":
            transport.abort()
        transport.close()
        with pytest.raises(httpcore2.ConnectError, match="closed"):
            backend.connect_tcp("127.0.0.1", port, timeout=2)
        server.settimeout(2)
        conn, _ = server.accept()
        with conn:
            conn.settimeout(2)
            assert conn.recv(1) == b""  # closed by the edge, not left open
