"""The load generator: N live clients (WebSocket or SSE), writes over REST, and the time
from sending each write to its event reaching every client."""

import asyncio
import contextlib
import time
from dataclasses import dataclass, field
from typing import Any

import httpx2 as httpx
from websockets.asyncio.client import connect

from .stats import summary
from .wire import HttpConnection, WsFeed, marker_of


@dataclass
class Reach:
    """When each write was sent, and when its event had reached every client."""

    clients: int
    sent: dict[str, float] = field(default_factory=dict)
    seen: dict[str, int] = field(default_factory=dict)
    reached: dict[str, float] = field(default_factory=dict)
    all_reached: asyncio.Event = field(default_factory=asyncio.Event)
    expected: int = 0
    waiting: dict[str, asyncio.Event] = field(default_factory=dict)

    async def reached_all(self, marker: str) -> None:
        if marker not in self.reached:
            await self.waiting.setdefault(marker, asyncio.Event()).wait()

    def arrive(self, raw: str) -> None:
        self.arrive_bytes(raw.encode())

    def arrive_bytes(self, raw: bytes) -> None:
        if (marker := marker_of(raw)) is not None:
            self._count(marker.decode())

    def _count(self, marker: str) -> None:
        count = self.seen.get(marker, 0) + 1
        self.seen[marker] = count
        if count == self.clients:
            self.reached[marker] = time.perf_counter()
            if marker in self.waiting:
                self.waiting[marker].set()
            if len(self.reached) == self.expected:
                self.all_reached.set()


async def ws_client(url: str, reach: Reach, ready: asyncio.Event, stop: asyncio.Event) -> None:
    host_port, _, path = url.removeprefix("ws://").partition("/")
    host, port = host_port.split(":")

    def on_message(payload: bytes) -> None:
        if b'"sync:ready"' in payload[:40]:
            ready.set()
        else:
            reach.arrive_bytes(payload)

    feed = await WsFeed.open(host, int(port), "/" + path, on_message)
    stopped = asyncio.ensure_future(stop.wait())
    closed = asyncio.ensure_future(feed.closed.wait())
    try:
        await asyncio.wait([stopped, closed], return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopped.cancel()
        closed.cancel()
        feed.close()


async def sse_client(http: httpx.AsyncClient, url: str, reach: Reach, ready: asyncio.Event) -> None:
    async with http.stream("GET", url, timeout=None) as response:
        async for line in response.aiter_lines():
            if not line.startswith("data:"):
                continue
            if '"sync:ready"' in line[:50]:
                ready.set()
            else:
                reach.arrive(line)


@dataclass
class PhaseResult:
    name: str
    writes: int
    seconds: float
    rest: dict[str, float]
    reach: dict[str, float]
    server_cpu: float  # server CPU seconds / wall seconds during the phase
    lost: int

    @property
    def writes_per_s(self) -> float:
        return self.writes / self.seconds


async def phase(
    base_url: str | list[str],
    *,
    name: str,
    project_id: str,
    clients: int,
    writes: int,
    in_flight: int,
    transport: str = "ws",
    update_ids: list[str] | None = None,
    cpu_seconds: Any = None,
) -> PhaseResult:
    """One measured phase: connect clients, send ``writes`` writes ``in_flight`` at a time.
    With several base URLs (instances of one database), clients and writers are spread
    over them in turn: a write reaches every client, on every instance."""
    bases = [base_url] if isinstance(base_url, str) else base_url
    reach = Reach(clients=clients, expected=writes)
    stop = asyncio.Event()
    readies = [asyncio.Event() for _ in range(clients)]
    limits = httpx.Limits(max_connections=in_flight + clients + 4)
    async with httpx.AsyncClient(limits=limits, timeout=60) as http:
        listeners = []
        for n, ready in enumerate(readies):
            base = bases[n % len(bases)]
            if transport == "ws":
                ws_url = base.replace("http://", "ws://") + f"/ws?projectId={project_id}"
                listeners.append(asyncio.create_task(ws_client(ws_url, reach, ready, stop)))
            else:
                sse_url = f"{base}/api/events?projectId={project_id}"
                listeners.append(asyncio.create_task(sse_client(http, sse_url, reach, ready)))
            if len(listeners) % 100 == 0:
                await asyncio.gather(*(r.wait() for r in readies[: len(listeners)]))
        await asyncio.wait_for(asyncio.gather(*(r.wait() for r in readies)), 120)

        rest_latencies: list[float] = []
        connections = []
        for n in range(in_flight):
            host, port = bases[n % len(bases)].removeprefix("http://").split(":")
            connections.append(await HttpConnection.open(host, int(port)))
        todo = iter(range(writes))

        async def writer(connection: HttpConnection) -> None:
            # Each connection keeps one write in flight: `in_flight` of them at once.
            for n in todo:
                marker = f"{name}-{n}"
                began = time.perf_counter()
                reach.sent[marker] = began
                if update_ids:
                    path = f"/api/tasks/{update_ids[n % len(update_ids)]}"
                    status, body = await connection.request("PATCH", path, {"title": f"m{marker}"})
                else:
                    task = {"projectId": project_id, "title": f"m{marker}"}
                    status, body = await connection.request("POST", "/api/tasks", task)
                rest_latencies.append(time.perf_counter() - began)
                assert status < 300, body

        cpu_before = cpu_seconds() if cpu_seconds else 0.0
        started = time.perf_counter()
        await asyncio.gather(*(writer(c) for c in connections))
        for connection in connections:
            connection.close()
        acknowledged = time.perf_counter()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(reach.all_reached.wait(), 60)
        finished = time.perf_counter()
        cpu = ((cpu_seconds() - cpu_before) / (finished - started)) if cpu_seconds else 0.0
        stop.set()
        for listener in listeners:
            listener.cancel()
        await asyncio.gather(*listeners, return_exceptions=True)

    reach_latencies = [reach.reached[m] - reach.sent[m] for m in reach.reached]
    return PhaseResult(
        name=name,
        writes=writes,
        seconds=acknowledged - started,
        rest=summary(rest_latencies),
        reach=summary(reach_latencies),
        server_cpu=cpu,
        lost=writes - len(reach.reached),
    )


async def make_project(base_url: str, tasks: int = 0) -> tuple[str, list[str]]:
    async with httpx.AsyncClient(base_url=base_url, timeout=60) as http:
        project = (await http.post("/api/projects", json={"name": f"bench {time.time()}"})).json()
        ids = []
        for n in range(tasks):
            body = {"projectId": project["id"], "title": f"seed {n}"}
            ids.append((await http.post("/api/tasks", json=body)).json()["id"])
        return project["id"], ids


async def replay_rate(base_url: str, since: int = 0) -> tuple[int, float]:
    """Connect with ``since`` and count events until sync:ready: (events, seconds)."""
    url = base_url.replace("http://", "ws://") + f"/ws?since={since}"
    count = 0
    began = time.perf_counter()
    async with connect(url, max_queue=None, max_size=None) as ws:
        async for raw in ws:
            if isinstance(raw, str) and '"sync:ready"' in raw[:40]:
                break
            count += 1
    return count, time.perf_counter() - began


async def idle_connections(base_url: str, count: int) -> list[Any]:
    url = base_url.replace("http://", "ws://") + "/ws"
    sockets = []
    for n in range(count):
        ws = await connect(url, max_queue=None, open_timeout=60)
        raw = await ws.recv()
        assert '"sync:ready"' in str(raw), raw
        sockets.append(ws)
        if n % 200 == 199:
            await asyncio.sleep(0)
    return sockets
