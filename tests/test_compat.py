"""Every library internal Maestro relies on (maestro_mcp/compat.py): present on the
installed versions, and a clear ``CompatError`` when an upgrade takes it away.

When one of the "is there" tests fails after an upgrade, the internal is gone or
changed: see the module docstring of maestro_mcp/compat.py for what to do.
"""

import asyncio
import importlib.metadata
import re
import signal
import sys
from collections.abc import Awaitable, Callable
from typing import Any, cast

import pytest
import uvicorn
from mcp.server import MCPServer
from mcp.server.connection import Connection
from mcp.server.lowlevel import Server
from mcp.server.session import ServerSession
from uvicorn.protocols.http import httptools_impl
from uvicorn.protocols.websockets import websockets_sansio_impl
from uvicorn.server import ServerState

from http_api.chunks import RAW_CHUNKS, ChunkWritingProtocol
from http_api.connections import MaestroHttpProtocol
from http_api.frames import RAW_FRAMES, FrameWritingProtocol
from http_api.server import MaestroServer
from maestro_mcp import compat
from maestro_mcp.compat import CompatError
from tests.support.transports import FakeTransport


def gone(library: str, what: str, used_for: str) -> str:
    """The pattern of the error for ``what`` gone from ``library``."""
    version = importlib.metadata.version(library)
    return re.escape(
        f"{library} {version} no longer has {what} (used {used_for}); see maestro_mcp/compat.py"
    )


# --- mcp: MCPServer._lowlevel_server ----------------------------------------------------


def test_an_mcp_server_has_its_lowlevel_server() -> None:
    lowlevel = compat.lowlevel_server(MCPServer("probe"))
    assert isinstance(lowlevel, Server)
    assert lowlevel.name == "probe"


def test_an_mcp_server_without_its_lowlevel_server_is_a_compat_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    server: MCPServer[Any] = MCPServer("probe")
    monkeypatch.delattr(server, "_lowlevel_server")
    expected = gone("mcp", "MCPServer._lowlevel_server", "to register resources/subscribe handlers")
    with pytest.raises(CompatError, match=expected):
        compat.lowlevel_server(server)


# --- mcp: ServerSession._connection -----------------------------------------------------


def _session() -> tuple[ServerSession, Connection]:
    # Built the way the SDK's ServerRunner builds one per request; neither channel is
    # used here, so stand-ins do for them.
    connection = Connection(cast(Any, None), protocol_version="2025-11-25")
    return ServerSession(cast(Any, None), connection), connection


def test_a_server_session_has_its_connection() -> None:
    session, connection = _session()
    assert compat.connection_of(session) is connection


def test_a_server_session_without_its_connection_is_a_compat_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    session, _ = _session()
    monkeypatch.delattr(session, "_connection")
    expected = gone(
        "mcp",
        "ServerSession._connection",
        "to send resources/updated to clients that called resources/subscribe",
    )
    with pytest.raises(CompatError, match=expected):
        compat.connection_of(session)


# --- uvicorn: Server._captured_signals --------------------------------------------------


def _uvicorn_server() -> uvicorn.Server:
    return uvicorn.Server(uvicorn.Config(_no_app, log_config=None))


async def _no_app(scope: Any, receive: Any, send: Any) -> None:
    raise AssertionError("never called")


def test_a_uvicorn_server_forgets_the_signals_it_caught() -> None:
    server = _uvicorn_server()
    # What uvicorn's handle_exit records for a SIGTERM. Not handle_exit itself:
    # sse_starlette (which the MCP SDK imports) patches it to end every SSE stream of
    # the process from then on.
    server._captured_signals.append(signal.SIGTERM)
    compat.forget_captured_signals(server)
    assert server._captured_signals == []  # else the next lines would SIGTERM pytest
    # Leaving capture_signals() now raises nothing, so the process exits normally.
    with server.capture_signals():
        pass


def test_a_uvicorn_server_without_captured_signals_is_a_compat_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    server = _uvicorn_server()
    monkeypatch.delattr(server, "_captured_signals")
    expected = gone(
        "uvicorn",
        "Server._captured_signals",
        "to exit with status 0 after a signal asked for a clean shutdown",
    )
    with pytest.raises(CompatError, match=expected):
        compat.forget_captured_signals(server)


# --- uvicorn: the methods Maestro overrides ---------------------------------------------

OVERRIDES = [
    (MaestroServer, ["startup", "shutdown", "capture_signals"]),
    (FrameWritingProtocol, ["handle_connect"]),
    (ChunkWritingProtocol, ["on_headers_complete"]),
    (MaestroHttpProtocol, ["on_message_begin", "on_headers_complete", "on_message_complete"]),
]


@pytest.mark.parametrize(("cls", "names"), OVERRIDES, ids=lambda v: getattr(v, "__name__", ""))
def test_each_overridden_method_is_one_uvicorn_calls(cls: type, names: list[str]) -> None:
    # (Also checked when the class is defined; this names what is relied on.)
    compat.overrides(**dict.fromkeys(names, "in a test"))(cls)


def test_an_override_of_a_method_uvicorn_dropped_is_a_compat_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delattr(uvicorn.Server, "capture_signals")
    expected = gone("uvicorn", "Server.capture_signals()", "overridden to exit cleanly")
    with pytest.raises(CompatError, match=expected):
        compat.overrides(capture_signals="to exit cleanly")(MaestroServer)


def test_an_override_of_an_override_checks_the_library_method(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # MaestroHttpProtocol overrides ChunkWritingProtocol's on_headers_complete, which
    # overrides uvicorn's: what must be there is uvicorn's.
    monkeypatch.delattr(httptools_impl.HttpToolsProtocol, "on_headers_complete")
    expected = gone("uvicorn", "HttpToolsProtocol.on_headers_complete()", "overridden to time")
    with pytest.raises(CompatError, match=expected):
        compat.overrides(on_headers_complete="to time")(MaestroHttpProtocol)


def test_an_override_the_class_does_not_define_is_a_programming_error() -> None:
    with pytest.raises(TypeError, match="does not define"):
        compat.overrides(run="for nothing")(MaestroServer)


# --- uvicorn: the sans-I/O WebSocket protocol -------------------------------------------

RAW_FRAMES_USE = "to write pre-built WebSocket frames to the socket (http_api/frames.py)"
SANSIO = "uvicorn.protocols.websockets.websockets_sansio_impl"


def test_the_sansio_websocket_protocol_is_the_frame_writers_base() -> None:
    assert FrameWritingProtocol.__mro__[1] is compat.sansio_websocket_protocol()


def test_a_sansio_websocket_protocol_gone_from_its_module_is_a_compat_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delattr(websockets_sansio_impl, "WebSocketsSansIOProtocol")
    expected = gone("uvicorn", f"{SANSIO}.WebSocketsSansIOProtocol", RAW_FRAMES_USE)
    with pytest.raises(CompatError, match=expected):
        compat.sansio_websocket_protocol()


def test_a_sansio_websocket_module_gone_is_a_compat_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, SANSIO, cast(Any, None))  # makes importing it fail
    monkeypatch.delattr(sys.modules["uvicorn.protocols.websockets"], "websockets_sansio_impl")
    with pytest.raises(CompatError, match=gone("uvicorn", f"module {SANSIO}", RAW_FRAMES_USE)):
        compat.sansio_websocket_protocol()


HANDSHAKE = (
    b"GET /ws HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
)
# Without the Connection and Sec-WebSocket-Key headers: refused with a 4xx.
BAD_HANDSHAKE = b"GET /ws HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\n\r\n"


def with_protocol(
    body: Callable[[FrameWritingProtocol, FakeTransport, list[dict[str, Any]]], Awaitable[None]],
) -> None:
    """Runs ``body`` with a real FrameWritingProtocol connected to a fake transport,
    in front of an app that records each scope it is called with and closes."""
    scopes: list[dict[str, Any]] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        scopes.append(scope)
        assert (await receive())["type"] == "websocket.connect"
        await send({"type": "websocket.close"})

    async def run() -> None:
        config = uvicorn.Config(app, log_config=None, ws=FrameWritingProtocol)
        config.load()
        protocol = FrameWritingProtocol(
            config, ServerState(), app_state={}, _loop=asyncio.get_running_loop()
        )
        transport = FakeTransport()
        protocol.connection_made(transport)
        await body(protocol, transport, scopes)
        await asyncio.gather(*protocol.tasks)

    asyncio.run(run())


def test_an_accepted_websocket_is_offered_raw_frames() -> None:
    async def body(
        protocol: FrameWritingProtocol, transport: FakeTransport, scopes: list[dict[str, Any]]
    ) -> None:
        protocol.data_received(HANDSHAKE)
        await asyncio.gather(*protocol.tasks)
        [scope] = scopes
        assert RAW_FRAMES in scope["extensions"]

    with_protocol(body)


def test_a_refused_websocket_is_not_offered_raw_frames() -> None:
    async def body(
        protocol: FrameWritingProtocol, transport: FakeTransport, scopes: list[dict[str, Any]]
    ) -> None:
        protocol.data_received(BAD_HANDSHAKE)
        assert transport.written.startswith(b"HTTP/1.1 4")
        assert compat.accepted_websocket_scope(protocol) is None
        assert scopes == []

    with_protocol(body)


@pytest.mark.parametrize(
    ("name", "meaning"),
    [
        ("transport", "the connection's asyncio transport"),
        ("close_sent", "whether a close frame was sent, after which nothing may be"),
        ("disconnected", "whether the client is gone"),
    ],
)
def test_a_websocket_protocol_without_the_state_frames_read_is_a_compat_error(
    monkeypatch: pytest.MonkeyPatch, name: str, meaning: str
) -> None:
    async def body(
        protocol: FrameWritingProtocol, transport: FakeTransport, scopes: list[dict[str, Any]]
    ) -> None:
        monkeypatch.delattr(protocol, name)
        expected = gone("uvicorn", f"WebSocketsSansIOProtocol.{name} ({meaning})", RAW_FRAMES_USE)
        # Refused before uvicorn handles the handshake: the app is never called.
        with pytest.raises(CompatError, match=expected):
            protocol.data_received(HANDSHAKE)
        assert scopes == []

    with_protocol(body)


def test_a_websocket_protocol_without_its_scope_is_a_compat_error() -> None:
    async def body(
        protocol: FrameWritingProtocol, transport: FakeTransport, scopes: list[dict[str, Any]]
    ) -> None:
        # As if uvicorn's handle_connect accepted the handshake but kept the scope
        # elsewhere: the handshake was not refused, and there is no scope.
        assert not hasattr(protocol, "scope")
        expected = gone(
            "uvicorn",
            "WebSocketsSansIOProtocol.scope (with its extensions) after handle_connect()",
            RAW_FRAMES_USE,
        )
        with pytest.raises(CompatError, match=expected):
            compat.accepted_websocket_scope(protocol)

    with_protocol(body)


# --- uvicorn: the httptools HTTP protocol -----------------------------------------------

RAW_CHUNKS_USE = "to write pre-built SSE chunks to the socket (http_api/chunks.py)"
HTTPTOOLS = "uvicorn.protocols.http.httptools_impl"
GET = b"GET /api/events HTTP/1.1\r\nHost: localhost\r\n\r\n"


def test_the_httptools_protocol_is_the_chunk_writers_base() -> None:
    assert ChunkWritingProtocol.__mro__[1] is compat.httptools_http_protocol()


def test_an_httptools_protocol_gone_from_its_module_is_a_compat_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delattr(httptools_impl, "HttpToolsProtocol")
    expected = gone("uvicorn", f"{HTTPTOOLS}.HttpToolsProtocol", RAW_CHUNKS_USE)
    with pytest.raises(CompatError, match=expected):
        compat.httptools_http_protocol()


def test_an_httptools_module_gone_is_a_compat_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, HTTPTOOLS, cast(Any, None))  # makes importing it fail
    monkeypatch.delattr(sys.modules["uvicorn.protocols.http"], "httptools_impl")
    with pytest.raises(CompatError, match=gone("uvicorn", f"module {HTTPTOOLS}", RAW_CHUNKS_USE)):
        compat.httptools_http_protocol()


def with_http_protocol(
    body: Callable[[ChunkWritingProtocol, list[dict[str, Any]]], Awaitable[None]],
) -> None:
    """Runs ``body`` with a real ChunkWritingProtocol connected to a fake transport, in
    front of an app that records each scope it is called with and answers 204."""
    scopes: list[dict[str, Any]] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        scopes.append(scope)
        await send({"type": "http.response.start", "status": 204})
        await send({"type": "http.response.body"})

    async def run() -> None:
        config = uvicorn.Config(app, log_config=None, http=ChunkWritingProtocol)
        config.load()
        protocol = ChunkWritingProtocol(
            config, ServerState(), app_state={}, _loop=asyncio.get_running_loop()
        )
        protocol.connection_made(FakeTransport())
        await body(protocol, scopes)
        await asyncio.gather(*protocol.tasks)

    asyncio.run(run())


def test_a_request_is_offered_raw_chunks() -> None:
    async def body(protocol: ChunkWritingProtocol, scopes: list[dict[str, Any]]) -> None:
        protocol.data_received(GET)
        await asyncio.gather(*protocol.tasks)
        [scope] = scopes
        assert RAW_CHUNKS in scope["extensions"]

    with_http_protocol(body)


def test_only_a_streaming_path_is_offered_raw_chunks() -> None:
    """A REST request writes nothing raw: no writer is made for it (one per request was
    a measurable part of a write's cost, docs/performance.md)."""

    async def body(protocol: ChunkWritingProtocol, scopes: list[dict[str, Any]]) -> None:
        protocol.data_received(b"GET /api/tasks HTTP/1.1\r\nHost: localhost\r\n\r\n")
        await asyncio.gather(*protocol.tasks)
        protocol.data_received(b"POST /mcp HTTP/1.1\r\nHost: localhost\r\n\r\n")
        await asyncio.gather(*protocol.tasks)
        rest, mcp = scopes
        assert RAW_CHUNKS not in rest.get("extensions", {})
        assert RAW_CHUNKS in mcp["extensions"]

    with_http_protocol(body)


def test_an_http_protocol_without_its_cycle_is_a_compat_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    expected = gone(
        "uvicorn",
        "HttpToolsProtocol.cycle (the request/response cycle of the connection)",
        RAW_CHUNKS_USE,
    )

    async def body(protocol: ChunkWritingProtocol, scopes: list[dict[str, Any]]) -> None:
        with pytest.raises(CompatError, match=expected):
            compat.request_cycle(cast(Any, object()))
        assert compat.request_cycle(protocol) is None  # no request yet

    with_http_protocol(body)


def test_a_compat_error_while_parsing_a_request_is_logged_and_the_request_served(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """httptools would answer an exception raised in its callback with a 400: the
    request goes through ASGI instead, without raw chunks, and the error is logged."""

    def missing(protocol: Any) -> None:
        raise CompatError("uvicorn x.y no longer has HttpToolsProtocol.cycle")

    async def body(protocol: ChunkWritingProtocol, scopes: list[dict[str, Any]]) -> None:
        monkeypatch.setattr(compat, "request_cycle", missing)
        protocol.data_received(GET)
        await asyncio.gather(*protocol.tasks)
        [scope] = scopes
        assert RAW_CHUNKS not in scope.get("extensions", {})

    with caplog.at_level("ERROR", logger="http_api.chunks"):
        with_http_protocol(body)
    [record] = caplog.records
    assert "no longer has HttpToolsProtocol.cycle" in record.getMessage()


@pytest.mark.parametrize(
    ("name", "meaning"),
    [
        ("scope", "the request's ASGI scope"),
        ("transport", "the connection's asyncio transport"),
        ("response_started", "whether the status line and headers were written"),
        ("response_complete", "whether the end of the body was written"),
        ("chunked_encoding", "whether the body goes in chunks"),
        ("disconnected", "whether the client is gone"),
    ],
)
def test_a_request_cycle_without_the_state_chunks_read_is_a_compat_error(
    monkeypatch: pytest.MonkeyPatch, name: str, meaning: str
) -> None:
    async def body(protocol: ChunkWritingProtocol, scopes: list[dict[str, Any]]) -> None:
        protocol.data_received(GET)
        await asyncio.gather(*protocol.tasks)
        cycle = compat.request_cycle(protocol)
        assert cycle is not None
        compat.check_request_cycle(cycle)
        monkeypatch.delattr(cycle, name)
        expected = gone("uvicorn", f"RequestResponseCycle.{name} ({meaning})", RAW_CHUNKS_USE)
        with pytest.raises(CompatError, match=expected):
            compat.check_request_cycle(cycle)

    with_http_protocol(body)


HEAD_DEADLINE_USE = (
    "to tell a late request head from one uvicorn is not reading (http_api/connections.py)"
)


def test_an_http_protocol_tells_whether_a_response_is_under_way() -> None:
    async def body(protocol: ChunkWritingProtocol, scopes: list[dict[str, Any]]) -> None:
        assert not compat.response_under_way(protocol)  # no request yet
        protocol.data_received(GET)
        assert compat.response_under_way(protocol)  # its app has not run yet
        await asyncio.gather(*protocol.tasks)
        assert not compat.response_under_way(protocol)  # answered

    with_http_protocol(body)


def test_an_http_protocol_without_its_cycle_cannot_tell_a_response_under_way() -> None:
    expected = gone(
        "uvicorn",
        "HttpToolsProtocol.cycle (the request/response cycle of the connection)",
        HEAD_DEADLINE_USE,
    )
    with pytest.raises(CompatError, match=expected):
        compat.response_under_way(cast(Any, object()))


def test_a_request_cycle_without_response_complete_is_a_compat_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def body(protocol: ChunkWritingProtocol, scopes: list[dict[str, Any]]) -> None:
        protocol.data_received(GET)
        await asyncio.gather(*protocol.tasks)
        cycle = compat.request_cycle(protocol)
        monkeypatch.delattr(cycle, "response_complete")
        expected = gone(
            "uvicorn",
            "RequestResponseCycle.response_complete (whether the end of the body was written)",
            HEAD_DEADLINE_USE,
        )
        with pytest.raises(CompatError, match=expected):
            compat.response_under_way(protocol)

    with_http_protocol(body)
