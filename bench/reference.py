"""References measured in the same run, so results read as ratios, not absolutes."""

import asyncio
import sqlite3
import time
from pathlib import Path

from websockets.asyncio.client import connect

from .load import Reach, ws_client
from .stats import summary


def sqlite_commits(path: Path, commits: int, synchronous: str = "NORMAL") -> float:
    """Commits per second of the smallest durable write: one row per BEGIN IMMEDIATE/COMMIT."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(f"PRAGMA synchronous={synchronous}")
    conn.execute("CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, v TEXT)")
    began = time.perf_counter()
    for n in range(commits):
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("INSERT INTO t (v) VALUES (?)", (f"row {n}",))
        conn.execute("COMMIT")
    elapsed = time.perf_counter() - began
    conn.close()
    return commits / elapsed


async def bare_broadcast(url: str, clients: int, writes: int, in_flight: int) -> dict[str, float]:
    """Send-to-every-client latency through the bare relay (bench.broadcast_server)."""
    reach = Reach(clients=clients, expected=writes)
    stop = asyncio.Event()
    readies = [asyncio.Event() for _ in range(clients)]
    listeners = [asyncio.create_task(ws_client(url, reach, r, stop)) for r in readies]
    await asyncio.wait_for(asyncio.gather(*(r.wait() for r in readies)), 120)
    gate = asyncio.Semaphore(in_flight)
    async with connect(url, max_queue=None) as writer:
        await writer.recv()  # its own sync:ready
        began = time.perf_counter()

        async def write(n: int) -> None:
            marker = f"ref-{n}"
            async with gate:
                reach.sent[marker] = time.perf_counter()
                await writer.send('{"title":"m' + marker + '"}')
                await reach.reached_all(marker)  # in flight until everyone has it

        await asyncio.wait_for(asyncio.gather(*(write(n) for n in range(writes))), 120)
        elapsed = time.perf_counter() - began
    stop.set()
    for listener in listeners:
        listener.cancel()
    await asyncio.gather(*listeners, return_exceptions=True)
    result = summary([reach.reached[m] - reach.sent[m] for m in reach.reached])
    result["per_s"] = writes / elapsed
    return result
