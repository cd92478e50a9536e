"""A subscriber worker of the fan-out benchmark: one process holding a share of the
live clients, so that the load generator spreads over the cores the server does not
use and is never what is measured (bench/fanout.py starts them, one per core).

    python -m bench.subscribers    # then speaks JSON lines: commands on stdin, answers on stdout

Its clients are the lean protocol-callback readers of bench/wire.py (``WsFeed``,
``SseFeed``): no coroutine and no JSON parsing per message. A client counts an event
by finding its write's marker (``"title":"m<marker>"``) in the raw bytes.

Commands, one JSON object a line; each is answered with one line, in order:

- ``{"op": "connect", "urls": [...], "count": N}``: open N clients, spread over the URLs
  in turn (``ws://…`` for WebSocket, ``http://…`` for SSE), a few hundred at a time,
  each ready once it got ``sync:ready``. Answer ``{"ready": N}``.
- ``{"op": "phase"}``: start a measured phase (forget earlier markers, note this
  process's CPU time). Answer ``{"started": true}``. Then, for each marker, once the last
  of this worker's clients has it, a line ``{"marker": M, "at": T}`` (T: CLOCK_MONOTONIC).
- ``{"op": "end"}``: answer ``{"cpu": s, "wall": s, "closed": n, "event_bytes": b}``:
  this process's CPU seconds (user + system) and wall seconds since ``phase``, how many
  clients the server closed, and the size of the last event payload seen.
- ``{"op": "close"}``: close every client. Answer ``{"closed": n}``.

The process exits when its stdin closes. It raises its own RLIMIT_NOFILE soft limit to
the hard one: 10,000 clients need 10,000 descriptors.
"""

import argparse
import asyncio
import json
import os
import resource
import sys
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from .wire import SseFeed, WsFeed

MARK = b'"title":"m'  # the same marker as bench/load.py's
READY = b'"sync:ready"'
OPENING = 200  # clients opening at once: the server's accept queue and handshakes keep up
CONNECT_TIMEOUT = 30.0  # seconds for one client's handshake and sync:ready

Feed = WsFeed | SseFeed


class Tally:
    """Per marker, how many of this worker's clients have it; the time the last one did.
    ``time.perf_counter`` is CLOCK_MONOTONIC on Linux: one clock for every process on
    the machine, so the coordinator compares these times with its own send times."""

    def __init__(self, report: Callable[[bytes, float], None]) -> None:
        self.report = report
        self.clients = 0
        self.seen: dict[bytes, int] = {}
        self.event_bytes = 0

    def message(self, payload: bytes) -> None:
        start = payload.find(MARK, 0, 400)
        if start < 0:
            return
        start += len(MARK)
        marker = payload[start : payload.index(b'"', start)]
        count = self.seen.get(marker, 0) + 1
        self.seen[marker] = count
        if count == self.clients:
            self.report(marker, time.perf_counter())
            self.event_bytes = len(payload)
            del self.seen[marker]


def say(answer: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(answer) + "\n")
    sys.stdout.flush()


def report_marker(marker: bytes, at: float) -> None:
    say({"marker": marker.decode(), "at": at})


async def open_client(url: str, tally: Tally) -> Feed:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    kind: type[WsFeed] | type[SseFeed] = WsFeed if parts.scheme == "ws" else SseFeed
    ready = asyncio.get_running_loop().create_future()

    def first(payload: bytes) -> None:
        if READY in payload[:60]:
            if not ready.done():
                ready.set_result(None)
        else:
            tally.message(payload)

    feed = await kind.open(host, port, path, first)
    closed = asyncio.ensure_future(feed.closed.wait())
    try:
        await asyncio.wait([ready, closed], return_when=asyncio.FIRST_COMPLETED)
        if not ready.done():
            raise ConnectionError(f"{url}: closed before sync:ready")
    except BaseException:
        feed.close()  # a client that is not counted must not count events either
        raise
    finally:
        closed.cancel()
    feed.on_message = tally.message  # from here on, the one callback
    return feed


async def connect(urls: list[str], count: int, tally: Tally, feeds: list[Feed]) -> None:
    gate = asyncio.Semaphore(OPENING)

    async def one(n: int) -> None:
        url = urls[n % len(urls)]
        async with gate:
            try:
                feed = await asyncio.wait_for(open_client(url, tally), CONNECT_TIMEOUT)
            except TimeoutError:
                raise ConnectionError(
                    f"{url}: no sync:ready within {CONNECT_TIMEOUT:g} s"
                ) from None
            feeds.append(feed)
            tally.clients += 1

    opening = [asyncio.ensure_future(one(n)) for n in range(count)]
    try:
        await asyncio.gather(*opening)
    except BaseException:
        # None may open later, into the next phase: they would count as its clients.
        for task in opening:
            task.cancel()
        await asyncio.gather(*opening, return_exceptions=True)
        raise


async def serve() -> None:
    loop = asyncio.get_running_loop()
    stdin = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(stdin), sys.stdin)
    tally = Tally(report_marker)
    feeds: list[Feed] = []
    cpu_at = wall_at = 0.0
    while line := await stdin.readline():
        command = json.loads(line)
        op = command["op"]
        if op == "connect":
            try:
                await connect(command["urls"], command["count"], tally, feeds)
            except (OSError, ConnectionError, TimeoutError) as exc:
                say({"error": f"{type(exc).__name__}: {exc}", "ready": tally.clients})
            else:
                say({"ready": tally.clients})
        elif op == "phase":
            tally.seen.clear()
            cpu_at, wall_at = cpu_seconds(), time.perf_counter()
            say({"started": True})
        elif op == "end":
            say(
                {
                    "cpu": cpu_seconds() - cpu_at,
                    "wall": time.perf_counter() - wall_at,
                    "closed": sum(feed.closed.is_set() for feed in feeds),
                    "event_bytes": tally.event_bytes,
                }
            )
        elif op == "close":
            for feed in feeds:
                feed.close()
            say({"closed": len(feeds)})
            feeds.clear()
            tally.clients = 0
        else:
            say({"error": f"unknown op {op!r}"})


def cpu_seconds() -> float:
    times = os.times()
    return times.user + times.system


def raise_descriptor_limit() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def main() -> None:
    argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    ).parse_args()  # no options: --help says how it is driven
    raise_descriptor_limit()
    try:
        import uvloop
    except ImportError:
        asyncio.run(serve())
    else:
        uvloop.run(serve())


if __name__ == "__main__":
    main()
