"""Several ``maestro serve`` processes on one database, and the clients that prove they
behave as one server: a bounded load of REST writes, and feed clients that follow the log
across instances the way an application does.

The rules:

- Instances are real OS processes (``start_server_process``) bound to 127.0.0.1 on ports
  of their own choosing. ``start_instances`` starts several at the same moment (each in a
  thread: starting is mostly importing), and stops the ones that did start if one fails.
- Every load loop is bounded: it stops by itself after ``max_requests`` requests or
  ``duration`` seconds, whichever comes first, and each request has a client timeout, so
  a server that hangs is a recorded failure, never a hung test. ``stop()`` ends it sooner.
- A load loop records every outcome, never raises: acknowledged writes (201, with their
  ``X-Maestro-Seq``), refusals (503 with ``Retry-After``: the database is out of reach),
  failures (the transport failed: an instance killed under it; a proxy's 502/504) and
  anything else as unexpected (a 500 is a bug). Tests assert on those records.
- A ``FollowingFeed`` reconnects the way the protocol tells clients to: with its last seq
  (``since`` on WebSocket, ``Last-Event-ID`` on SSE) and the epoch of its last
  ``sync:ready``, to the next of its URLs. It keeps every event it received, in order,
  and never drops or reorders one, so a test sees any gap or duplicate. A ``sync:reset``
  is a failure here: these clients never ask for anything the log does not hold.
- Nothing waits for a fixed time: feeds wait for messages (bounded by ``WAIT``), tests
  for events with ``wait_for``.
"""

import contextlib
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlencode

import httpx2 as httpx
from websockets.exceptions import ConnectionClosed, InvalidHandshake

from maestro_mcp.protocol import (
    EPOCH_QUERY,
    LAST_EVENT_ID_HEADER,
    RETRY_AFTER_HEADER,
)

from .feeds import FeedClient, SseClient, WsClient
from .rest import seq_of
from .servers import ServerProcess, spawn_until_listening, start_server_process
from .waiting import WAIT

REQUEST_TIMEOUT = 20.0
"""A load request's client timeout: longer than any wait the server may impose on a write
(its pool waits 5 s for a connection, and a write may queue behind one batch that does),
so a request that runs into it means the server hung."""
RETRY_AFTER_CAP = 1.0
"""The longest a load loop honours a ``Retry-After`` for (the tests' outages are short)."""
GONE_BACKOFF = 0.02
"""What a load loop waits after its transport failed (an instance killed) before the next
request, so that it does not spin through its budget against a closed port."""


# --- instances ---------------------------------------------------------------------------


Pair = tuple[ServerProcess, ServerProcess]
"""Two instances on one database, A and B (the ``pair`` fixture)."""


def start_instances(database: str, count: int, *extra: str) -> list[ServerProcess]:
    """``count`` ``maestro serve`` processes on ``database``, started at the same moment;
    returns them once every one listens. If one fails to start, the others are stopped and
    the failure is raised."""
    with ThreadPoolExecutor(max_workers=count) as pool:
        futures = [pool.submit(start_server_process, database, *extra) for _ in range(count)]
    started = [f.result() for f in futures if f.exception() is None]
    for future in futures:
        failure = future.exception()
        if failure is not None:
            for instance in started:
                instance.stop()
            raise failure
    return started


class Instances:
    """The instances a test started; stops them all (``stop_all``) at its end."""

    def __init__(self) -> None:
        self.started: list[ServerProcess] = []

    def start(self, database: str, count: int, *extra: str) -> list[ServerProcess]:
        started = start_instances(database, count, *extra)
        self.started += started
        return started

    def start_with_clock_ahead(self, database: str, seconds: int) -> ServerProcess:
        """One instance whose host clock is ``seconds`` ahead of everyone else's (``time``
        patched in its process before Maestro is imported), as on a machine whose clock
        is wrong."""
        ahead = (
            "import time; "
            f"_ns, _s = time.time_ns, time.time; "
            f"time.time_ns = lambda: _ns() + {seconds} * 10**9; "
            f"time.time = lambda: _s() + {seconds}; "
            "from maestro_mcp.cli.main import main; main()"
        )
        command = [sys.executable, "-c", ahead, "serve", "--port", "0", "--db", database]
        started = spawn_until_listening(command)
        self.started.append(started)
        return started

    def stop_all(self) -> None:
        """SIGTERM to every one still running at once (they shut down side by side), then
        wait for each; SIGKILL for one that takes longer than ``WAIT``."""
        for instance in self.started:
            if instance.process.poll() is None:
                instance.process.terminate()
        for instance in self.started:
            try:
                instance.process.wait(WAIT)
            except subprocess.TimeoutExpired:
                instance.kill()
            instance.reader.join(WAIT)

    def tracebacks(self) -> list[str]:
        """The logs of instances that logged a traceback (an unhandled error: a bug)."""
        return [
            f"--- {i.base_url} (pid {i.pid}) ---\n" + "".join(i.log)
            for i in self.started
            if any("Traceback" in line for line in i.log)
        ]


# --- REST ------------------------------------------------------------------------------


def new_project(base_url: str, name: str = "instances") -> tuple[str, int]:
    """A new project made on the instance at ``base_url``: its id and the write's seq."""
    with httpx.Client(base_url=base_url, timeout=WAIT) as http:
        response = http.post("/api/projects", json={"name": name})
    assert response.status_code == 201, response.text
    return str(response.json()["id"]), seq_of(response)


def head_of(base_url: str) -> int:
    """The head of the log as the instance at ``base_url`` reads it now."""
    with httpx.Client(base_url=base_url, timeout=WAIT) as http:
        response = http.get("/api/projects")
    assert response.status_code == 200, response.text
    return seq_of(response)


def task_ids(base_url: str, project_id: str) -> set[str]:
    """The ids of every task of ``project_id``, read on the instance at ``base_url``."""
    with httpx.Client(base_url=base_url, timeout=WAIT) as http:
        response = http.get("/api/tasks", params={"projectId": project_id})
    assert response.status_code == 200, response.text
    return {task["id"] for task in response.json()}


# --- load ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Ack:
    """An acknowledged write: the task it created, its seq, the instance that answered."""

    task_id: str
    seq: int
    via: str
    at: float  # time.monotonic() of the answer


@dataclass(frozen=True)
class Refusal:
    """A 503: the write was not made, and the answer said when to retry."""

    via: str
    code: str
    retry_after: str | None
    at: float


@dataclass(frozen=True)
class Failure:
    """A request that got no answer from Maestro: the transport failed (an instance was
    killed under it), or a proxy answered 502/504 for it; whether it was made is unknown."""

    via: str
    what: str
    at: float


class LoadLoop:
    """Creates tasks in ``project_id`` over REST, one request at a time, taking ``targets``
    (base URLs) in turn, until ``max_requests`` were sent, ``duration`` seconds passed or
    ``stop()`` was called. See the module's rules for what it records."""

    def __init__(
        self,
        targets: Sequence[str],
        project_id: str,
        *,
        name: str,
        max_requests: int = 400,
        duration: float = 30.0,
        timeout: float = REQUEST_TIMEOUT,
    ) -> None:
        assert targets
        self.targets = list(targets)
        self.project_id = project_id
        self.name = name
        self.max_requests = max_requests
        self.duration = duration
        self.timeout = timeout
        self.acks: list[Ack] = []
        self.refusals: list[Refusal] = []
        self.failures: list[Failure] = []
        self.unexpected: list[str] = []
        self.slowest = 0.0  # seconds: the longest any request took to be answered
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"load-{name}", daemon=True)

    def start(self) -> "LoadLoop":
        self._thread.start()
        return self

    def stop(self) -> None:
        """Ask it to stop after the request in flight, and wait until it has."""
        self._stop.set()
        self.join()

    def join(self) -> None:
        """Wait for it to end by itself (it is bounded); fails if it outlives its bounds."""
        self._thread.join(self.duration + self.timeout + WAIT)
        assert not self._thread.is_alive(), f"load loop {self.name} did not stop"

    def acks_via(self, base_url: str, after: float = float("-inf")) -> list[Ack]:
        return [a for a in self.acks if a.via == base_url and a.at > after]

    def _run(self) -> None:
        deadline = time.monotonic() + self.duration
        clients = {
            url: httpx.Client(base_url=url, timeout=httpx.Timeout(self.timeout))
            for url in set(self.targets)
        }
        try:
            for n in range(self.max_requests):
                if self._stop.is_set() or time.monotonic() > deadline:
                    return
                via = self.targets[n % len(self.targets)]
                pause = self._one(clients[via], via, n)
                if pause:
                    self._stop.wait(pause)
        finally:
            for client in clients.values():
                client.close()

    def _one(self, http: httpx.Client, via: str, n: int) -> float:
        """Send one write and record its outcome; returns how long to pause after it."""
        body = {"projectId": self.project_id, "title": f"{self.name} {n}"}
        began = time.monotonic()
        try:
            response = http.post("/api/tasks", json=body)
        except httpx.TimeoutException as exc:
            self.failures.append(Failure(via, f"timeout: {exc!r}", time.monotonic()))
            self.unexpected.append(f"{via}: no answer within {self.timeout} s ({exc!r})")
            return 0.0
        except httpx.TransportError as exc:
            self.failures.append(Failure(via, repr(exc), time.monotonic()))
            return GONE_BACKOFF
        now = time.monotonic()
        self.slowest = max(self.slowest, now - began)
        if response.status_code == 201:
            self.acks.append(Ack(response.json()["id"], seq_of(response), via, now))
            return 0.0
        if response.status_code == 503:
            retry_after = response.headers.get(RETRY_AFTER_HEADER)
            code = _error_code(response)
            self.refusals.append(Refusal(via, code, retry_after, now))
            return min(float(retry_after or 0), RETRY_AFTER_CAP)
        if response.status_code in (502, 504) and not _from_maestro(response):
            self.failures.append(Failure(via, f"proxy {response.status_code}", now))
            return GONE_BACKOFF
        self.unexpected.append(f"{via}: {response.status_code} {response.text[:500]}")
        return 0.0


def _error_code(response: httpx.Response) -> str:
    with contextlib.suppress(ValueError, KeyError, TypeError):
        return str(response.json()["error"]["code"])
    return ""


def _from_maestro(response: httpx.Response) -> bool:
    """Whether an error answer is Maestro's (its JSON error shape), not a proxy's page."""
    return _error_code(response) != ""


@contextlib.contextmanager
def running(loops: Sequence[LoadLoop]) -> Iterator[list[LoadLoop]]:
    """Start ``loops``; on leaving, stop them (each is bounded anyway) and wait for them."""
    for loop in loops:
        loop.start()
    try:
        yield list(loops)
    finally:
        for loop in loops:
            loop.stop()


def all_acks(loops: Sequence[LoadLoop]) -> list[Ack]:
    return [ack for loop in loops for ack in loop.acks]


# --- feeds -----------------------------------------------------------------------------


class FeedReset(AssertionError):
    """The server sent ``sync:reset``: it could not resume the client by seq."""


class FollowingFeed:
    """A live-feed client (``kind`` "ws" or "sse") that follows the log across instances:
    it starts after seq ``since`` on ``urls[0]`` and, whenever its connection ends,
    resumes from the last seq it received on the next URL that answers (the same one if
    there is only one: a balancer). See the module's rules."""

    def __init__(
        self,
        kind: Literal["ws", "sse"],
        urls: Sequence[str],
        *,
        since: int,
        epoch: str | None = None,
    ) -> None:
        assert urls
        self.kind = kind
        self.urls = list(urls)
        self.start = since
        self.seq = since
        self.epoch = epoch
        self.events: list[dict[str, Any]] = []
        self.connections: list[str] = []  # the URL of each connection made, in order
        self.readies: list[dict[str, Any]] = []  # the data of each sync:ready
        self._at = 0
        self._client: FeedClient | None = None
        self._connect()

    @property
    def seqs(self) -> list[int]:
        return [int(e["seq"]) for e in self.events]

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def follow_until(self, seq: int, timeout: float = WAIT) -> None:
        """Receive (reconnecting when the connection ends) until it has every event up to
        ``seq``; fails if that takes longer than ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while self.seq < seq:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(
                    f"{self.kind} client stopped at seq {self.seq}, waiting for {seq} "
                    f"(connections: {self.connections})"
                )
            message = self._receive(left)
            if message is None:
                self._connect(deadline)
            else:
                self._apply(message)

    def follow_for(self, seconds: float) -> None:
        """Receive whatever arrives within ``seconds``: for a test that something does NOT
        happen, which can only be watched for a while."""
        end = time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0:
            assert self._client is not None
            try:
                message: dict[str, Any] | None = self._client.recv(timeout=left)
            except (TimeoutError, queue.Empty):
                return
            except ConnectionClosed:
                message = None
            if message is None or message.get("event") == "_closed":
                self._connect()
            else:
                self._apply(message)

    def _receive(self, timeout: float) -> dict[str, Any] | None:
        """The next message, or None when the connection ended."""
        assert self._client is not None
        try:
            message = self._client.recv(timeout=timeout)
        except ConnectionClosed:
            return None
        except (TimeoutError, queue.Empty):
            raise AssertionError(
                f"{self.kind} client received nothing for {timeout:.1f} s at seq {self.seq} "
                f"(connections: {self.connections})"
            ) from None
        return None if message.get("event") == "_closed" else message

    def _apply(self, message: dict[str, Any]) -> None:
        event = message.get("event")
        if event == "sync:ready":
            self.readies.append(message["data"])
            self.epoch = message["data"]["epoch"]
        elif event == "sync:reset":
            raise FeedReset(f"{self.kind} client at seq {self.seq} was reset: {message}")
        elif "seq" in message:
            event_id = message.pop("_id", None)
            if event_id is not None:
                assert event_id == str(message["seq"]), message
            self.events.append(message)
            self.seq = int(message["seq"])

    def _url(self, base: str) -> str:
        query: dict[str, str | int] = {}
        if self.kind == "ws":
            query["since"] = self.seq
        if self.epoch is not None:
            query[EPOCH_QUERY] = self.epoch
        path = base if self.kind == "ws" else base + "/api/events"
        return f"{path}?{urlencode(query)}" if query else path

    def _open(self, base: str) -> FeedClient:
        if self.kind == "ws":
            return WsClient(self._url(base))
        return SseClient(self._url(base), headers={LAST_EVENT_ID_HEADER: str(self.seq)})

    def _connect(self, deadline: float | None = None) -> None:
        """Connect to the current URL, else the next ones in turn, until one answers and
        its replay is read up to ``sync:ready``."""
        self.close()
        deadline = deadline if deadline is not None else time.monotonic() + WAIT
        problems: list[str] = []
        while time.monotonic() < deadline:
            base = self.urls[self._at % len(self.urls)]
            try:
                self._client = self._open(base)
            except (OSError, InvalidHandshake, httpx.HTTPError, AssertionError) as exc:
                problems.append(f"{base}: {exc!r}")
                self._at += 1
                time.sleep(GONE_BACKOFF)
                continue
            self.connections.append(base)
            while (message := self._receive(max(deadline - time.monotonic(), 0.1))) is not None:
                self._apply(message)
                if message.get("event") == "sync:ready":
                    return
            problems.append(f"{base}: closed during the replay")
        raise AssertionError(f"{self.kind} client could not reconnect: {problems[-5:]}")
