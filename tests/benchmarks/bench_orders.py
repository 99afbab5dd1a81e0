"""Room-service orders at the edge over HTTP (R-PERF-5: the source asks 50 orders a minute).

A hotel of 100 in-house stays, each with a guest token, and a menu of four items (one counted),
on a real SQLite file with the production settings, served by a real `yadori edge` process.
Orders come through the guest API, as the page sends them: a client-made id, lines with the
prices the page showed. Two figures: the most orders a second eight concurrent clients get
through (closed loop), and the latency of orders sent at a steady 100 a second (open loop,
timed from when each order was due, so a slow answer delays the ones behind it honestly).
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import time
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from bench_checkin import _wait
from results import Metric, median, percentile

from yadori.bootstrap import NodeConfig, bootstrap
from yadori.domain.guest_access import new_token, token_hash
from yadori.domain.ids import new_id
from yadori.domain.registry import RegistryEntry
from yadori.services import commands as c
from yadori.sync.mutation import Actor

STAYS = 100
TODAY = date(2026, 12, 1)
ACTOR = Actor("bench", "bench")
GUEST = RegistryEntry("佐藤 太郎", "東京都中央区日本橋1-1", "090-0000-0000")
CLIENTS = 8
CLOSED_ORDERS = 2_000
RATE = 100  # orders a second, open loop
OPEN_SECONDS = 20


def build(db_url: str) -> tuple[list[str], list[tuple[str, int]]]:
    """The hotel, its menu and stays with tokens; returns (tokens, [(item id, price)])."""
    node = bootstrap(NodeConfig("edge", "bench", "B", db_url))
    pid, std, plan, cat = new_id(), new_id(), new_id(), new_id()
    run = lambda cmd: node.bus.execute(pid, cmd, ACTOR).result  # noqa: E731
    run(
        c.CreateProperty(
            property_id=pid, code="BNCH", name_ja="ベンチ", name_en="Bench", business_date=TODAY
        )
    )
    run(
        c.CreateRoomType(
            room_type_id=std, code="STD", name_ja="標準", name_en="Std", max_occupancy=2
        )
    )
    rooms = [new_id() for _ in range(STAYS)]
    for i, room in enumerate(rooms):
        run(c.CreateRoom(room_id=room, number=f"{1000 + i}", room_type_id=std, floor=i // 50))
    run(
        c.CreateRatePlan(
            rate_plan_id=plan,
            code="BAR",
            name_ja="基本",
            name_en="Base",
            prices=(c.Price(std, 13_200),),
        )
    )
    run(c.SaveMenuCategory(category_id=cat, code="ALL", name_ja="料理", name_en="Dishes"))
    items = []
    for code, price, rate, counted in (
        ("CURRY", 1_800, "0", True),
        ("CLUB", 2_200, "0.10", False),
        ("TEA", 600, "0", False),
        ("BEER", 900, "0", False),
    ):
        item = new_id()
        run(
            c.SaveMenuItem(
                item_id=item,
                category_id=cat,
                code=code,
                name_ja=code,
                name_en=code,
                price=price,
                service_charge_rate=Decimal(rate),
                track_stock=counted,
            )
        )
        items.append((item, price))
    run(c.AdjustStock(move_id=new_id(), item_id=items[0][0], delta=100_000))
    tokens = []
    for room in rooms:
        rid = new_id()
        run(
            c.CreateReservation(
                reservation_id=rid,
                folio_id=new_id(),
                guest_name="Sato Taro",
                arrival=TODAY,
                departure=TODAY + timedelta(days=2),
                adults=1,
                room_type_id=std,
                rate_plan_id=plan,
            )
        )
        run(c.CheckIn(reservation_id=rid, room_id=room, guests=(GUEST,)))
        token = new_token()
        run(c.IssueGuestToken(token_id=new_id(), reservation_id=rid, token_hash=token_hash(token)))
        tokens.append(token)
    node.close()
    return tokens, items


def _order(items: list[tuple[str, int]], n: int) -> dict[str, object]:
    picked = [items[n % 4], items[(n + 1) % 4]]
    return {
        "id": new_id(),
        "client_id": f"bench-{n % CLIENTS}",
        "lines": [{"item_id": i, "quantity": 1 + n % 2, "unit_price": p} for i, p in picked],
    }


class Connection:
    """One keep-alive HTTP/1.1 connection speaking just enough of the protocol: the load
    generator must cost little CPU, since it shares the machine with the edge it measures."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, port: int) -> Connection:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return cls(reader, writer)

    async def post(self, path: str, body: bytes, token: str) -> int:
        head = (
            f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"Authorization: Bearer {token}\r\nContent-Length: {len(body)}\r\n\r\n"
        )
        self.writer.write(head.encode() + body)
        status_line = await self.reader.readline()
        length = 0
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode().partition(":")
            if name.lower() == "content-length":
                length = int(value)
        await self.reader.readexactly(length)
        return int(status_line.split()[1])

    def close(self) -> None:
        self.writer.close()


class Load:
    """Posts orders as the guests' pages would, over keep-alive connections."""

    def __init__(self, port: int, tokens: list[str], items: list[tuple[str, int]]) -> None:
        self.port, self.tokens, self.items = port, tokens, items
        self.failures = 0

    async def _post(self, conn: Connection, n: int) -> None:
        body = json.dumps(_order(self.items, n)).encode()
        token = self.tokens[n % len(self.tokens)]
        if await conn.post("/guest/v1/BNCH/orders", body, token) != 201:
            self.failures += 1

    async def closed(self, count: int) -> float:
        """Orders a second with CLIENTS connections sending back to back."""
        conns = [await Connection.open(self.port) for _ in range(CLIENTS)]
        numbers = iter(range(count))

        async def client(conn: Connection) -> None:
            for n in numbers:
                await self._post(conn, n)

        started = time.perf_counter()
        await asyncio.gather(*(client(c) for c in conns))
        elapsed = time.perf_counter() - started
        for conn in conns:
            conn.close()
        return count / elapsed

    async def open_loop(self, rate: int, seconds: int) -> list[float]:
        """Milliseconds per order, from when it was due, at a steady rate."""
        free: asyncio.Queue[Connection] = asyncio.Queue()
        for _ in range(32):
            free.put_nowait(await Connection.open(self.port))
        samples: list[float] = []
        loop = asyncio.get_running_loop()
        start = loop.time() + 0.2

        async def one(n: int, due: float) -> None:
            conn = await free.get()
            await self._post(conn, n)
            samples.append((loop.time() - due) * 1000)
            free.put_nowait(conn)

        tasks = []
        for n in range(rate * seconds):
            due = start + n / rate
            await asyncio.sleep(max(0.0, due - loop.time()))
            tasks.append(asyncio.create_task(one(n, due)))
        await asyncio.gather(*tasks)
        while not free.empty():
            free.get_nowait().close()
        return samples


def measure(workdir: Path) -> tuple[float, list[float], int]:
    """Start an edge process on the built hotel and load it; (orders/s, latencies, failures)."""
    db_url = f"sqlite:///{workdir / 'orders.db'}"
    tokens, items = build(db_url)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {
        **os.environ,
        "YADORI_DB_URL": db_url,
        "YADORI_PORT": str(port),
        "YADORI_NODE_ID": "bench",
        "YADORI_NODE_PREFIX": "B",
        "YADORI_LOG_LEVEL": "warning",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "yadori.cli", "edge"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait(f"http://127.0.0.1:{port}")
        load = Load(port, tokens, items)
        asyncio.run(load.closed(200))  # warm up
        throughput = asyncio.run(load.closed(CLOSED_ORDERS))
        latencies = asyncio.run(load.open_loop(RATE, OPEN_SECONDS))
        return throughput, latencies, load.failures
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def run(workdir: Path) -> list[Metric]:
    """Measure and return the metrics (targets from issue 5)."""
    throughput, latencies, failures = measure(workdir)
    if failures:
        raise RuntimeError(f"{failures} orders were refused during the benchmark")
    return [
        Metric(
            "room-service orders/s, HTTP, 8 clients",
            throughput,
            "orders/s",
            100,
            "higher",
            "R-PERF-5",
        ),
        Metric(
            "order p50 at 100 orders/s, HTTP", median(latencies), "ms", 100, "lower", "R-PERF-5"
        ),
        Metric(
            "order p99 at 100 orders/s, HTTP",
            percentile(latencies, 99),
            "ms",
            100,
            "lower",
            "R-PERF-5",
        ),
    ]


if __name__ == "__main__":
    import tempfile

    with tempfile.TemporaryDirectory(prefix="yadori-bench-") as tmp:
        for metric in run(Path(tmp)):
            print(f"{metric.metric}: {metric.value:.2f} {metric.unit} (target {metric.target:g})")
