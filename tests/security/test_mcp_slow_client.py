"""Rule: an MCP client that stops reading holds up no other client's notifications, and
is cut off with bounded memory (issue #13, "Bounded resources").

A client that reads nothing of its notification stream (a 2025-era client's standalone
``GET /mcp`` stream, a 2026 client's ``subscriptions/listen`` stream) fills its
socket's buffers; from then on a send to it waits. The notifier once awaited that send,
and every MCP client stopped hearing of changes. Now each client waits alone: the
others hear of every change, and the one that stopped reading is cut off (its stream
ended, which it may reconnect; its connection reset, so that the kernel lets go of what
it held for it too), holding at most its bounded queue meanwhile.

A real server (uvicorn on loopback) serves a raw client that never reads, with a small
receive buffer, next to the SDK's client over HTTP. The server's connections get a
small send buffer (``SEND_BUFFER``): by default Linux grows it to 4 MiB, and the stalled
client would take some 25,000 notifications before holding anything up (about 20 s of
writes here; the same path, only longer).
"""

import json
import socket
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, closing, contextmanager
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlsplit

import anyio
import httpx2 as httpx
import pytest
from anyio.streams.memory import MemoryObjectReceiveStream
from mcp import Client
from mcp.client.session import IncomingMessage
from mcp.shared.exceptions import MCPDeprecationWarning
from mcp.types import ResourceUpdatedNotification

from http_api import Settings
from http_api.mcp_streams import McpStreams
from maestro_mcp.mcp_server.outbox import CutOffReason, Outboxes
from maestro_mcp.protocol import MCP_SESSION_ID_HEADER
from tests.support.mcp import MCP_ACCEPT, call, initialize_request
from tests.support.servers import LiveServer, live_server
from tests.support.waiting import WAIT, wait_for

pytestmark = pytest.mark.anyio

SEND_BUFFER = 16 * 1024  # each server connection's (Linux doubles it)
RECEIVE_BUFFER = 4096  # the stalled client's
# The stalled client follows this many tasks; a round of writes changes some of them
# (a group, or all) twice.
TASKS = 200
GROUPS = 4
MAX_ROUNDS = 40  # the stalled client is cut off after a few; this many is a failure
LEGACY = "2025-11-25"
MODERN = "2026-07-28"
PROTOCOL_VERSION_HEADER = "MCP-Protocol-Version"


# --- what the server holds --------------------------------------------------------------


@dataclass
class Seen:
    """The server's outboxes (each 2025-era client's queue of notifications) and its
    ``/mcp`` endpoint, caught as the MCP server is built."""

    outboxes: list[Outboxes] = field(default_factory=list)
    endpoints: list[McpStreams] = field(default_factory=list)

    @property
    def outbox_set(self) -> Outboxes:
        [outboxes] = self.outboxes
        return outboxes

    @property
    def endpoint(self) -> McpStreams:
        [endpoint] = self.endpoints
        return endpoint

    def cut_offs(self, reason: CutOffReason) -> int:
        """How many times a client was cut off for ``reason``."""
        return sum(box.cut_offs[reason] for box in self.outbox_set.outboxes())

    def assert_bounded(self, settings: Settings) -> None:
        """Every client's queue within its bound, whatever the client reads."""
        for box in self.outbox_set.outboxes():
            assert len(box.pending) <= settings.mcp_max_queue


@pytest.fixture
def seen(monkeypatch: pytest.MonkeyPatch) -> Seen:
    caught = Seen()

    def catching(cls: Any, into: list[Any]) -> None:
        init = cls.__init__

        def recording(self: Any, *args: Any, **kwargs: Any) -> None:
            init(self, *args, **kwargs)
            into.append(self)

        monkeypatch.setattr(cls, "__init__", recording)

    catching(Outboxes, caught.outboxes)
    catching(McpStreams, caught.endpoints)
    return caught


@contextmanager
def serving(settings: Settings, **changes: Any) -> Iterator[LiveServer]:
    with live_server(replace(settings, **changes), send_buffer=SEND_BUFFER) as server:
        yield server


async def wait_until(predicate: Callable[[], bool], what: str) -> None:
    """``wait_for`` off the event loop, which the SDK client's tasks share."""
    await anyio.to_thread.run_sync(lambda: wait_for(predicate, what=what))


# --- a client that reads nothing ----------------------------------------------------------


def stalled_request(base_url: str, head: str, body: bytes = b"") -> socket.socket:
    """A connection with a small receive buffer that sends one request, reads the
    response's status line and headers, and nothing after them."""
    parts = urlsplit(base_url)
    assert parts.hostname is not None
    assert parts.port is not None
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER)
    sock.settimeout(WAIT)
    sock.connect((parts.hostname, parts.port))
    host = f"Host: {parts.hostname}:{parts.port}\r\n"
    sock.sendall(head.replace("\r\n", "\r\n" + host, 1).encode() + b"\r\n" + body)
    received = b""
    while b"\r\n\r\n" not in received:
        chunk = sock.recv(1)
        assert chunk, "the server closed the connection before answering"
        received += chunk
    assert received.startswith(b"HTTP/1.1 200 "), received
    assert b"text/event-stream" in received.lower(), received
    return sock


def ended_by_server(sock: socket.socket) -> str:
    """How the server ended the connection, read until it did: ``reset`` (what the
    client had not read discarded), ``closed`` (after all it was sent), or ``open``
    if it did not within ``WAIT``."""
    sock.settimeout(WAIT)
    try:
        while sock.recv(65536):
            pass
    except ConnectionResetError:
        return "reset"
    except TimeoutError:
        return "open"
    return "closed"


def open_legacy_session(base_url: str, uris: list[str]) -> str:
    """A 2025-era MCP session (its id) subscribed to ``uris``."""
    with httpx.Client(base_url=base_url, timeout=WAIT) as http:
        opened = http.post("/mcp", headers=MCP_ACCEPT, json=initialize_request("stalled", LEGACY))
        session_id = opened.headers[MCP_SESSION_ID_HEADER]
        headers = {
            **MCP_ACCEPT,
            MCP_SESSION_ID_HEADER: session_id,
            PROTOCOL_VERSION_HEADER: LEGACY,
        }
        initialized = {"jsonrpc": "2.0", "method": "notifications/initialized"}
        assert http.post("/mcp", headers=headers, json=initialized).status_code == 202
        for number, uri in enumerate(uris, 2):
            request = {
                "jsonrpc": "2.0",
                "id": number,
                "method": "resources/subscribe",
                "params": {"uri": uri},
            }
            answer = http.post("/mcp", headers=headers, json=request)
            assert answer.status_code == 200, answer.text
    return session_id


def stalled_standalone_stream(base_url: str, session_id: str) -> socket.socket:
    """The session's standalone GET stream, which nobody reads."""
    return stalled_request(
        base_url,
        f"GET /mcp HTTP/1.1\r\nAccept: text/event-stream\r\n"
        f"{MCP_SESSION_ID_HEADER}: {session_id}\r\n{PROTOCOL_VERSION_HEADER}: {LEGACY}\r\n",
    )


def stalled_listen_stream(base_url: str, uris: list[str]) -> socket.socket:
    """A 2026 ``subscriptions/listen`` stream following ``uris``, which nobody reads."""
    body = json.dumps(
        {
            "jsonrpc": "2.0",
            "id": "listen-stalled",
            "method": "subscriptions/listen",
            "params": {
                "notifications": {"resourceSubscriptions": uris},
                "_meta": {
                    "io.modelcontextprotocol/protocolVersion": MODERN,
                    "io.modelcontextprotocol/clientInfo": {"name": "stalled", "version": "0"},
                    "io.modelcontextprotocol/clientCapabilities": {},
                },
            },
        }
    ).encode()
    return stalled_request(
        base_url,
        f"POST /mcp HTTP/1.1\r\nAccept: {MCP_ACCEPT['Accept']}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        f"{PROTOCOL_VERSION_HEADER}: {MODERN}\r\nMcp-Method: subscriptions/listen\r\n",
        body,
    )


# --- a client that reads ----------------------------------------------------------------


@asynccontextmanager
async def follower(
    server: LiveServer, era: str, uri: str
) -> AsyncIterator[tuple[Client, MemoryObjectReceiveStream[str]]]:
    """The SDK's client over HTTP in ``era`` (``2025``: ``resources/subscribe``;
    ``2026``: ``subscriptions/listen``), following ``uri``; and the URIs of the
    notifications it gets, as they come."""
    send, heard = anyio.create_memory_object_stream[str](1000)

    async def on_message(message: IncomingMessage) -> None:
        if isinstance(message, ResourceUpdatedNotification):
            send.send_nowait(str(message.params.uri))

    mode = "legacy" if era == "2025" else "auto"
    url = server.base_url + "/mcp"
    async with send, heard, Client(url, mode=mode, message_handler=on_message) as client:
        if era == "2025":
            with pytest.warns(MCPDeprecationWarning):  # the 2025-era call, deprecated in the SDK
                await client.subscribe_resource(uri)
            yield client, heard
            return
        async with (
            client.listen(resource_subscriptions=[uri]) as events,
            anyio.create_task_group() as tasks,
        ):

            async def forward() -> None:
                async for event in events:
                    send.send_nowait(str(getattr(event, "uri", "")))

            tasks.start_soon(forward)
            yield client, heard
            tasks.cancel_scope.cancel()


# --- the writes ---------------------------------------------------------------------------


@dataclass
class Board:
    """A project with ``TASKS`` tasks for the stalled client to follow, and one more
    (``mine``) that the reading client follows."""

    project_id: str
    task_ids: list[str]
    mine: str

    @property
    def task_uris(self) -> list[str]:
        return [task_uri(task_id) for task_id in self.task_ids]

    @property
    def mine_uri(self) -> str:
        return task_uri(self.mine)


def task_uri(task_id: str) -> str:
    return f"maestro://tasks/{task_id}"


def new_project(server: LiveServer) -> tuple[str, str]:
    """A new project and its first task (ids)."""
    project = server.http.post("/api/projects", json={"name": "flood"}).json()
    mine = server.http.post("/api/tasks", json={"projectId": project["id"], "title": "mine"})
    return project["id"], mine.json()["id"]


async def new_board(server: LiveServer, client: Client, project_id: str, mine: str) -> Board:
    task_ids: list[str] = []
    while len(task_ids) < TASKS:
        drafts = [{"title": f"t{len(task_ids) + i}"} for i in range(100)]
        created = await call(client, "create_tasks", project=project_id, tasks=drafts)
        task_ids += [task["id"] for task in created["tasks"]]
    return Board(project_id, task_ids, mine)


def write_round(server: LiveServer, board: Board, number: int, grouped: bool) -> None:
    """One round of writes: the followed tasks (``grouped``: the round's group of them,
    a quarter, in turn) twice each (linked to a session, then unlinked as it is
    deleted), then ``mine`` once."""
    http = server.http
    task_ids = board.task_ids
    if grouped:
        size = len(task_ids) // GROUPS
        start = number % GROUPS * size
        task_ids = task_ids[start : start + size]
    made = http.post(
        "/api/sessions",
        json={"projectId": board.project_id, "name": f"round {number}", "taskIds": task_ids},
    )
    assert made.status_code == 201, made.text
    assert http.delete(f"/api/sessions/{made.json()['id']}").status_code == 200
    renamed = http.patch(f"/api/tasks/{board.mine}", json={"title": f"round {number}"})
    assert renamed.status_code == 200


async def rounds_until(
    server: LiveServer,
    board: Board,
    heard: MemoryObjectReceiveStream[str],
    done: Callable[[], bool],
    each_round: Callable[[], None] = lambda: None,
    *,
    grouped: bool = False,
) -> int:
    """Rounds of writes until ``done()``, each heard of by the reading client before the
    next; the number of rounds it took."""
    for number in range(1, MAX_ROUNDS + 1):
        await anyio.to_thread.run_sync(write_round, server, board, number, grouped)
        with anyio.fail_after(WAIT):
            assert await heard.receive() == board.mine_uri, f"round {number} unheard"
        each_round()
        if done():
            return number
    raise AssertionError(f"not done after {MAX_ROUNDS} rounds of writes")


# --- the rule -----------------------------------------------------------------------------


@pytest.mark.parametrize("era", ["2025", "2026"])
async def test_a_client_that_stops_reading_holds_up_no_one_and_is_cut_off(
    settings: Settings, seen: Seen, era: str
) -> None:
    """A 2025-era client reads nothing of its notification stream: its socket's buffers
    fill, then its queue (bounded), and it is cut off, its stream ended by the server;
    meanwhile and after, the reading client (of either era) hears of every change.

    Its queue holds each URI once: each round changes another quarter of what it
    follows, so that a stalled client's queue grows round after round, past a bound
    that each round's writes alone stay under."""
    limited = replace(settings, mcp_max_queue=TASKS // GROUPS * 2)
    with serving(limited) as server:
        project_id, mine = new_project(server)
        async with follower(server, era, task_uri(mine)) as (client, heard):
            board = await new_board(server, client, project_id, mine)
            session_id = open_legacy_session(server.base_url, board.task_uris)
            with closing(stalled_standalone_stream(server.base_url, session_id)) as stalled:
                assert seen.endpoint.open_streams(session_id) == 1

                rounds = await rounds_until(
                    server,
                    board,
                    heard,
                    lambda: seen.cut_offs(CutOffReason.FULL) > 0,
                    lambda: seen.assert_bounded(limited),
                    grouped=True,
                )
                # Its queue grew only once its socket's buffers were full.
                assert rounds > GROUPS
                await wait_until(
                    lambda: seen.endpoint.open_streams(session_id) == 0, "its stream ended"
                )
                assert await anyio.to_thread.run_sync(ended_by_server, stalled) == "reset"

            # Its session lives on, with nowhere to send to: what comes for it is let go.
            await rounds_until(
                server,
                board,
                heard,
                lambda: True,
                lambda: seen.assert_bounded(limited),
                grouped=True,
            )


async def test_a_client_that_takes_nothing_within_the_send_timeout_is_cut_off_and_may_reconnect(
    settings: Settings, seen: Seen
) -> None:
    """With room in its queue, a client that takes nothing for ``send_timeout`` is cut
    off all the same; its subscriptions stay, and a stream it opens again (reading, this
    time) hears of the next change."""
    with serving(settings, send_timeout=1.0) as server:
        project_id, mine = new_project(server)
        async with follower(server, "2025", task_uri(mine)) as (client, heard):
            board = await new_board(server, client, project_id, mine)
            session_id = open_legacy_session(server.base_url, board.task_uris)
            with closing(stalled_standalone_stream(server.base_url, session_id)) as stalled:
                await rounds_until(
                    server, board, heard, lambda: seen.endpoint.open_streams(session_id) == 0
                )
                assert await anyio.to_thread.run_sync(ended_by_server, stalled) == "reset"
            assert seen.cut_offs(CutOffReason.FULL) == 0  # the timeout cut it off, not its queue

            with closing(await anyio.to_thread.run_sync(reconnect, server, session_id)) as back:
                await anyio.to_thread.run_sync(write_round, server, board, 0, False)
                with anyio.fail_after(WAIT):
                    assert await heard.receive() == board.mine_uri
                assert (await anyio.to_thread.run_sync(back.next_uri)) in board.task_uris


async def test_a_2026_listener_that_stops_reading_holds_up_no_one_and_is_dropped(
    settings: Settings, seen: Seen
) -> None:
    """The 2026 way to follow resources, ``subscriptions/listen``: the SDK hands a listen
    stream its events without waiting (and ends one whose backlog is full), and the
    server drops the connection of one that takes nothing for ``send_timeout``."""
    with serving(settings, send_timeout=1.0) as server:
        project_id, mine = new_project(server)
        async with follower(server, "2025", task_uri(mine)) as (client, heard):
            board = await new_board(server, client, project_id, mine)
            with closing(stalled_listen_stream(server.base_url, board.task_uris)) as stalled:
                await rounds_until(server, board, heard, lambda: seen.endpoint.drops > 0)
                assert await anyio.to_thread.run_sync(ended_by_server, stalled) == "reset"


@dataclass
class Reading:
    """A session's standalone stream, read as it comes."""

    response: httpx.Response
    lines: Iterator[str]
    http: httpx.Client

    def next_uri(self) -> str:
        for line in self.lines:
            if line.startswith("data:"):
                message = json.loads(line.removeprefix("data:"))
                if message.get("method") == "notifications/resources/updated":
                    return str(message["params"]["uri"])
        raise AssertionError("the stream ended")

    def close(self) -> None:
        self.response.close()
        self.http.close()


def reconnect(server: LiveServer, session_id: str) -> Reading:
    """The session's standalone stream, opened again (the SDK's client does so itself)."""
    http = httpx.Client(base_url=server.base_url, timeout=WAIT)
    headers = {
        "Accept": "text/event-stream",
        MCP_SESSION_ID_HEADER: session_id,
        PROTOCOL_VERSION_HEADER: LEGACY,
    }
    request = http.build_request("GET", "/mcp", headers=headers)
    response = http.send(request, stream=True)
    assert response.status_code == 200, response.read()
    return Reading(response, response.iter_lines(), http)
