"""``/mcp`` responses bounded in time (http_api/mcp_streams.py), around an ASGI app the
test writes, whose client stops reading. End to end, over a real server and the MCP
SDK: tests/security/test_mcp_slow_client.py."""

import anyio
import pytest
from starlette.types import Message, Receive, Scope, Send

from http_api.chunks import RAW_CHUNKS
from http_api.mcp_streams import McpStreams
from maestro_mcp.protocol import MCP_SESSION_ID_HEADER
from tests.support.waiting import WAIT

pytestmark = pytest.mark.anyio

TIMEOUT = 0.05


class Connection:
    """The server's side of one client's connection: a client that reads, or that
    stopped reading (each send then waits until the connection is aborted)."""

    def __init__(self, *, reading: bool = True) -> None:
        self.reading = reading
        self.sent: list[Message] = []
        self.aborted = anyio.Event()

    async def send(self, message: Message) -> None:
        if not self.reading:
            await self.aborted.wait()  # as uvicorn's send: it returns once the client is gone
            return
        self.sent.append(message)

    async def receive(self) -> Message:
        await self.aborted.wait()
        return {"type": "http.disconnect"}

    # The RAW_CHUNKS writer's side of it.
    def write(self, data: bytes) -> None:
        raise AssertionError("nothing is written raw to an MCP response")

    def buffered(self) -> int:
        return 0

    def abort(self) -> None:
        self.aborted.set()


def scope(connection: Connection | None, method: str = "GET", session: str = "") -> Scope:
    headers = [(MCP_SESSION_ID_HEADER.lower().encode(), session.encode())] if session else []
    extensions = {RAW_CHUNKS: connection} if connection is not None else {}
    return {
        "type": "http",
        "method": method,
        "path": "/mcp",
        "headers": headers,
        "extensions": extensions,
    }


class Stream:
    """An app that starts a response, sends ``chunks`` parts of its body, then waits;
    ``all_started`` once it did so for ``requests`` requests."""

    def __init__(self, chunks: int = 3, requests: int = 1) -> None:
        self.chunks = chunks
        self.requests = requests
        self.all_started = anyio.Event()
        self.cancelled = False
        self.sent = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await send({"type": "http.response.start", "status": 200, "headers": []})
            for _ in range(self.chunks):
                await send({"type": "http.response.body", "body": b"x", "more_body": True})
                self.sent += 1
            self.requests -= 1
            if not self.requests:
                self.all_started.set()
            await anyio.sleep_forever()
        except anyio.get_cancelled_exc_class():
            self.cancelled = True
            raise


async def serve(endpoint: McpStreams, request: Scope, connection: Connection) -> None:
    with anyio.fail_after(WAIT):
        await endpoint(request, connection.receive, connection.send)


async def test_a_client_that_takes_nothing_within_the_timeout_is_dropped() -> None:
    app = Stream()
    endpoint = McpStreams(app, TIMEOUT)
    stalled = Connection(reading=False)
    await serve(endpoint, scope(stalled, "POST"), stalled)
    assert stalled.aborted.is_set()  # what it did not read is discarded
    assert app.cancelled
    assert app.sent == 3  # its sends after the drop returned, as to a client gone
    assert endpoint.drops == 1


async def test_a_sessions_standalone_stream_is_dropped_on_demand() -> None:
    app = Stream(requests=3)
    endpoint = McpStreams(app, WAIT)
    client, other, poster = Connection(), Connection(), Connection()
    assert not endpoint.drop("s1")  # none open
    async with anyio.create_task_group() as tasks:
        tasks.start_soon(serve, endpoint, scope(client, session="s1"), client)
        tasks.start_soon(serve, endpoint, scope(other, session="s2"), other)
        # A POST of the same session is not its standalone stream.
        tasks.start_soon(serve, endpoint, scope(poster, "POST", "s1"), poster)
        with anyio.fail_after(WAIT):
            await app.all_started.wait()
        assert endpoint.open_streams("s1") == endpoint.open_streams("s2") == 1
        assert endpoint.drop("s1")
        with anyio.fail_after(WAIT):
            await client.aborted.wait()
        assert not other.aborted.is_set()
        assert not poster.aborted.is_set()
        tasks.cancel_scope.cancel()
    assert endpoint.open_streams("s1") == endpoint.open_streams("s2") == 0


async def test_under_a_server_without_raw_chunks_the_request_is_cancelled() -> None:
    """The server closes the connection of a response left unfinished."""
    app = Stream()
    endpoint = McpStreams(app, TIMEOUT)
    stalled = Connection(reading=False)
    await serve(endpoint, scope(None), stalled)
    assert app.cancelled
    assert not stalled.aborted.is_set()
    assert endpoint.drops == 1


async def test_a_reading_client_is_served_as_it_was() -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"done"})

    endpoint = McpStreams(app, TIMEOUT)
    client = Connection()
    await serve(endpoint, scope(client, "POST"), client)
    assert [m["type"] for m in client.sent] == ["http.response.start", "http.response.body"]
    assert endpoint.drops == 0
