"""A TCP fault proxy for drills and tests: pass, delay, cut, hang or corrupt the link.

It stands between an edge and central (the edge's YADORI_CENTRAL_URL points at it) and runs in
a background thread with its own asyncio loop. ``cut`` closes every open connection and refuses
new ones (a WAN down); ``hang`` accepts and holds connections without answering (a black hole);
``delay`` adds latency per chunk; ``corrupt`` flips one byte in the next ``n`` client→server
chunks of a push (so the CRC check must catch it); ``pass`` restores the link.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Coroutine
from dataclasses import dataclass


@dataclass
class Faults:
    """The proxy's current behaviour."""

    mode: str = "pass"  # pass | cut | hang | delay
    delay: float = 0.0
    corrupt_next: int = 0
    cut_after_bytes: int = 0  # cut a connection once this many bytes went upstream (0: never)


class FaultProxy:
    """A TCP proxy on 127.0.0.1 with switchable faults."""

    def __init__(self, upstream_host: str, upstream_port: int, listen_port: int = 0) -> None:
        self.upstream = (upstream_host, upstream_port)
        self.faults = Faults()
        self.port = listen_port
        self._loop = asyncio.new_event_loop()
        self._server: asyncio.base_events.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="fault-proxy", daemon=True)
        self.bytes_up = 0
        self.connections = 0

    @property
    def url(self) -> str:
        """The address to give the edge as central's URL."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> FaultProxy:
        """Start listening; returns once the port is bound."""
        self._thread.start()
        self._ready.wait(5)
        return self

    def stop(self) -> None:
        """Close everything and stop the loop."""
        self._call(self._shutdown())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)

    def set(self, mode: str, *, delay: float = 0.0) -> None:
        """Switch the link: ``pass``, ``cut`` (also drops open connections), ``hang``, ``delay``."""
        self.faults.mode, self.faults.delay = mode, delay
        if mode in ("cut", "hang"):
            self._call(self._drop_all())

    def corrupt(self, chunks: int = 1) -> None:
        """Flip a byte in each of the next ``chunks`` large client→server chunks."""
        self.faults.corrupt_next = chunks

    def cut_mid_stream(self, after_bytes: int) -> None:
        """Cut the next connection that sends more than ``after_bytes`` upstream."""
        self.faults.cut_after_bytes = after_bytes

    # --- the loop --------------------------------------------------------------------------

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._server = self._loop.run_until_complete(
            asyncio.start_server(self._client, "127.0.0.1", self.port)
        )
        self.port = self._server.sockets[0].getsockname()[1]
        self._ready.set()
        self._loop.run_forever()
        self._loop.close()

    def _call(self, coro: Coroutine[object, object, None]) -> None:
        if not self._loop.is_running():
            coro.close()
            return
        future = asyncio.run_coroutine_threadsafe(coro, self._loop)
        with contextlib.suppress(TimeoutError, OSError):
            future.result(timeout=5)

    async def _shutdown(self) -> None:
        if self._server is not None:
            self._server.close()
        await self._drop_all()

    async def _drop_all(self) -> None:
        for writer in list(self._writers):
            writer.close()
        self._writers.clear()

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        if self.faults.mode == "cut":
            writer.close()
            return
        self._writers.add(writer)
        if self.faults.mode == "hang":
            await reader.read()  # hold it open, answer nothing, until the client gives up
            writer.close()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.upstream)
        except OSError:
            writer.close()
            return
        self._writers.add(up_writer)
        await asyncio.gather(
            self._pipe(reader, up_writer, upstream=True),
            self._pipe(up_reader, writer, upstream=False),
            return_exceptions=True,
        )
        for w in (writer, up_writer):
            w.close()
            self._writers.discard(w)

    async def _pipe(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *, upstream: bool
    ) -> None:
        sent = 0
        request = _Requests()  # where the bodies are, so only a push's body is ever corrupted
        while True:
            chunk = await reader.read(65_536)
            if not chunk or self.faults.mode in ("cut", "hang"):
                break
            if self.faults.mode == "delay" and self.faults.delay:
                await asyncio.sleep(self.faults.delay)
            if upstream:
                chunk = request.feed(chunk, self.faults)
                sent += len(chunk)
                self.bytes_up += len(chunk)
                limit = self.faults.cut_after_bytes
                if limit and sent > limit:
                    self.faults.cut_after_bytes = 0
                    writer.write(chunk[: max(0, limit - (sent - len(chunk)))])
                    break
            writer.write(chunk)
            await writer.drain()
        writer.close()


class _Requests:
    """Follows the HTTP requests on one client connection to find their bodies."""

    def __init__(self) -> None:
        self.body_left = 0
        self.is_push = False

    def feed(self, chunk: bytes, faults: Faults) -> bytes:
        """Pass a chunk on, flipping one byte of a push's body if a corruption is pending."""
        data, pos = bytearray(chunk), 0
        while pos < len(data):
            if self.body_left == 0:
                end = data.find(b"\r\n\r\n", pos)
                if end < 0:
                    break  # headers split across chunks: leave this chunk alone
                head = bytes(data[pos:end]).lower()
                self.is_push = head.startswith(b"post /sync/v1/push")
                self.body_left = _content_length(head)
                pos = end + 4
                continue
            take = min(self.body_left, len(data) - pos)
            if self.is_push and faults.corrupt_next and take > 16:
                faults.corrupt_next -= 1
                data[pos + take // 2] ^= 0xFF
            pos += take
            self.body_left -= take
        return bytes(data)


def _content_length(head: bytes) -> int:
    for line in head.split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip() == b"content-length":
            return int(value.strip() or b"0")
    return 0
