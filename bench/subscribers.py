"""A subscriber worker of the fan-out benchmark: one process holding a share of the
live clients, so that the load generator spreads over the cores the server does not
use and is never what is measured (bench/fanout.py starts them, one per core).

    python -m bench.subscribers    # then speaks JSON lines: commands on stdin, answers on stdout

Its clients are the lean protocol-callback readers of bench/wire.py (``WsFeed``,
``SseFeed``): no coroutine and no JSON parsing per message. A client counts an event
by finding its write's marker (``"title":"m<marker>"``) in the raw bytes; each client
counts a marker once (a duplicate delivery does not stand in for another client's),
and a client the server cut off is no longer waited for (the phase reports it apart).

Commands, one JSON object a line, each with an ``"id"``; each is answered with one
line carrying the same ``"id"``, in order (the coordinator drops an answer whose
question it gave up on):

- ``{"op": "connect", "urls": [...], "count": N, "seconds": S}``: open N clients, spread
  over the URLs in turn (``ws://…`` for WebSocket, ``http://…`` for SSE), a few hundred
  at a time, each ready once it got ``sync:ready``, all within S seconds (by
  default ``connect_seconds(N)``, as the coordinator gives; it waits that plus a
  margin, so the worker always answers first). Answer ``{"ready": N}``.
- ``{"op": "phase"}``: start a measured phase (forget earlier markers, note this
  process's CPU time). Answer ``{"started": true}``. Then, for each marker, once every
  live client of this worker has it, a line ``{"marker": M, "at": T}`` (T:
  CLOCK_MONOTONIC, when the last of them got it).
- ``{"op": "end"}``: answer ``{"cpu": s, "wall": s, "closed": n, "event_bytes": b}``:
  this process's CPU seconds (user + system) and wall seconds since ``phase``, how many
  clients the server closed, and the size of the last event payload seen.
- ``{"op": "close"}``: close every client. Answer ``{"closed": n}``.

The process exits when its stdin closes. It raises its own RLIMIT_NOFILE soft limit to
the hard one: 10,000 clients need 10,000 descriptors.
"""

import argparse
import asyncio
import functools
import json
import os
import resource
import sys
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from .wire import SseFeed, WsFeed, marker_of

READY = b'"sync:ready"'
OPENING = 200  # clients opening at once: the server's accept queue and handshakes keep up
CONNECT_TIMEOUT = 30.0  # seconds for one client's handshake and sync:ready
CONNECTS_PER_SECOND = 50  # the pace a worker's connect is given beyond one client's timeout

Feed = WsFeed | SseFeed


def connect_seconds(clients: int) -> float:
    """How long a worker's connect of ``clients`` may take: one client's timeout, plus
    time at a modest pace for the rest (they open ``OPENING`` at a time)."""
    return CONNECT_TIMEOUT + clients / CONNECTS_PER_SECOND


class Tally:
    """Per marker, which of this worker's live clients have it, and when the last one
    got it; reported once all have. A client counts once per marker (a duplicate
    delivery is not another client's), and a client that is gone (cut off by the
    server) is not waited for: its going may complete markers the others all have.
    ``time.perf_counter`` is CLOCK_MONOTONIC on Linux: one clock for every process on
    the machine, so the coordinator compares these times with its own send times."""

    def __init__(self, report: Callable[[bytes, float], None]) -> None:
        self.report = report
        self.live: set[int] = set()  # the clients counted
        self.seen: dict[bytes, tuple[set[int], float]] = {}  # who has it, when the last did
        self.reported: set[bytes] = set()  # this phase's markers every live client had
        self.event_bytes = 0
        self.next_client = 0  # never reused: a closed client's late news names no other

    @property
    def clients(self) -> int:
        return len(self.live)

    def phase(self) -> None:
        self.seen.clear()
        self.reported.clear()

    def join(self) -> int:
        """Count a new client; returns its number."""
        client = self.next_client
        self.next_client += 1
        self.live.add(client)
        return client

    def leave(self, client: int) -> None:
        """Stop waiting for ``client``; report the markers every remaining client has."""
        if client not in self.live:
            return
        self.live.discard(client)
        for marker, (have, at) in list(self.seen.items()):
            have.discard(client)
            if self.live <= have:
                self.done(marker, at)

    def message(self, client: int, payload: bytes) -> None:
        marker = marker_of(payload)
        if marker is None or marker in self.reported or client not in self.live:
            return
        at = time.perf_counter()
        entry = self.seen.get(marker)
        have: set[int] = set() if entry is None else entry[0]
        have.add(client)  # only live clients: ``have`` stays a subset of ``live``
        self.seen[marker] = (have, at)
        self.event_bytes = len(payload)
        if len(have) == len(self.live):
            self.done(marker, at)

    def done(self, marker: bytes, at: float) -> None:
        del self.seen[marker]
        self.reported.add(marker)
        self.report(marker, at)


def say(answer: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(answer) + "\n")
    sys.stdout.flush()


def report_marker(marker: bytes, at: float) -> None:
    say({"marker": marker.decode(), "at": at})


async def open_client(url: str) -> Feed:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    kind: type[WsFeed] | type[SseFeed] = WsFeed if parts.scheme == "ws" else SseFeed
    ready = asyncio.get_running_loop().create_future()

    def first(payload: bytes) -> None:
        # Until it is counted (``count_in``), a client's other messages count for nothing.
        if READY in payload[:60] and not ready.done():
            ready.set_result(None)

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
    return feed


def count_in(tally: Tally, feed: Feed) -> None:
    """From here on, ``feed``'s messages count in ``tally``, and its end stops the wait
    for it (a client closed before this is not counted at all)."""
    client = tally.join()
    feed.on_message = functools.partial(tally.message, client)
    feed.on_closed = functools.partial(tally.leave, client)
    if feed.closed.is_set():
        tally.leave(client)


async def connect(urls: list[str], count: int, tally: Tally, feeds: list[Feed]) -> None:
    gate = asyncio.Semaphore(OPENING)

    async def one(n: int) -> None:
        url = urls[n % len(urls)]
        async with gate:
            try:
                feed = await asyncio.wait_for(open_client(url), CONNECT_TIMEOUT)
            except TimeoutError:
                raise ConnectionError(
                    f"{url}: no sync:ready within {CONNECT_TIMEOUT:g} s"
                ) from None
            feeds.append(feed)
            count_in(tally, feed)

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
        answer: dict[str, Any]
        if op == "connect":
            seconds = command.get("seconds") or connect_seconds(command["count"])
            try:
                await asyncio.wait_for(
                    connect(command["urls"], command["count"], tally, feeds), seconds
                )
            except TimeoutError:
                answer = {
                    "error": f"{tally.clients:,} of {command['count']:,} clients ready "
                    f"within {seconds:g} s",
                    "ready": tally.clients,
                }
            except (OSError, ConnectionError) as exc:
                answer = {"error": f"{type(exc).__name__}: {exc}", "ready": tally.clients}
            else:
                answer = {"ready": tally.clients}
        elif op == "phase":
            tally.phase()
            cpu_at, wall_at = cpu_seconds(), time.perf_counter()
            answer = {"started": True}
        elif op == "end":
            answer = {
                "cpu": cpu_seconds() - cpu_at,
                "wall": time.perf_counter() - wall_at,
                "closed": sum(feed.closed.is_set() for feed in feeds),
                "event_bytes": tally.event_bytes,
            }
        elif op == "close":
            tally.live.clear()  # before closing: their ends are not waited-for clients leaving
            for feed in feeds:
                feed.close()
            answer = {"closed": len(feeds)}
            feeds.clear()
        else:
            answer = {"error": f"unknown op {op!r}"}
        say({**answer, "id": command.get("id")})


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
