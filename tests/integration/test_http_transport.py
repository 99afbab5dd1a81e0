"""The edge's HTTP transport against real sockets: a call stuck in a black hole can be aborted."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator

import pytest

from yadori.sync.errors import LinkDown
from yadori.sync.http_transport import HttpTransport


@contextlib.contextmanager
def black_hole() -> Iterator[str]:
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
        yield f"http://127.0.0.1:{server.getsockname()[1]}"
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
    with black_hole() as url:
        transport = HttpTransport(url, timeout=10.0)
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
        time.sleep(0.3)  # the request is sent and its read is blocked
        assert not returned.is_set()
        transport.abort()
        assert returned.wait(5.0), "the blocked call did not return after abort()"
        assert failed, "the aborted call must fail with LinkDown"
        with pytest.raises(LinkDown):  # the new client works as usual: here, a read timeout
            transport.heartbeat("edge1")
        transport.close()
