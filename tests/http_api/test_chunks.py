"""The raw chunk writer ChunkWritingProtocol offers (http_api/chunks.py), driven
request by request over a fake transport: it writes only inside the response it
belongs to, in order with what uvicorn writes for ASGI sends."""

import asyncio
from typing import Any

import uvicorn
from uvicorn.server import ServerState

from http_api.chunks import RAW_CHUNKS, ChunkWritingProtocol, chunk
from http_api.frames import RAW_FRAMES, FrameWritingProtocol
from http_api.raw import RawWriter, drop
from tests.support.transports import FakeTransport


async def _serve(app: Any, *requests: bytes) -> FakeTransport:
    """``requests``, each in one piece, on one connection to a ChunkWritingProtocol in
    front of ``app``; returns the transport once every app call has returned."""
    config = uvicorn.Config(
        app, log_config=None, http=ChunkWritingProtocol, ws=FrameWritingProtocol
    )
    config.load()
    protocol = ChunkWritingProtocol(
        config, ServerState(), app_state={}, _loop=asyncio.get_running_loop()
    )
    transport = FakeTransport()
    protocol.connection_made(transport)
    for request in requests:
        protocol.data_received(request)
        await asyncio.gather(*protocol.tasks)
    return transport


GET = b"GET /api/events HTTP/1.1\r\nHost: localhost\r\n\r\n"
HEAD = b"HEAD /api/events HTTP/1.1\r\nHost: localhost\r\n\r\n"


def test_raw_chunks_go_only_between_the_start_and_the_end_of_their_response() -> None:
    writers: list[RawWriter] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        writer: RawWriter = scope["extensions"][RAW_CHUNKS]
        writers.append(writer)
        writer.write(chunk(b"before the headers"))
        await send({"type": "http.response.start", "status": 200})
        writer.write(chunk(b"raw"))
        await send({"type": "http.response.body", "body": b"asgi", "more_body": True})
        writer.write(chunk(b"raw again"))
        await send({"type": "http.response.body", "body": b"", "more_body": False})
        writer.write(chunk(b"after the end"))

    async def run() -> None:
        transport = await _serve(app, GET, GET)
        first, second = writers
        assert first is not second  # one writer per request, on the same connection
        first.write(chunk(b"into the next response"))
        responses = bytes(transport.written).split(b"HTTP/1.1 200 OK\r\n")[1:]
        assert len(responses) == 2
        for response in responses:
            assert response.endswith(
                b"transfer-encoding: chunked\r\n\r\n"
                b"3\r\nraw\r\n4\r\nasgi\r\n9\r\nraw again\r\n0\r\n\r\n"
            )

    asyncio.run(run())


def test_a_head_response_gets_no_raw_chunks() -> None:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200})
        scope["extensions"][RAW_CHUNKS].write(chunk(b"body"))
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    async def run() -> None:
        transport = await _serve(app, HEAD)
        assert bytes(transport.written).endswith(b"\r\n\r\n")
        assert b"body" not in transport.written

    asyncio.run(run())


def test_a_response_with_a_content_length_gets_no_raw_chunks() -> None:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        headers = [(b"content-length", b"2")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        scope["extensions"][RAW_CHUNKS].write(chunk(b"body"))
        await send({"type": "http.response.body", "body": b"ok"})

    async def run() -> None:
        transport = await _serve(app, GET)
        assert bytes(transport.written).endswith(b"\r\n\r\nok")

    asyncio.run(run())


def test_a_websocket_upgrade_is_left_to_the_websocket_protocol() -> None:
    scopes: list[Any] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        scopes.append(scope)
        assert (await receive())["type"] == "websocket.connect"
        await send({"type": "websocket.accept"})
        await send({"type": "websocket.close"})

    handshake = (
        b"GET /ws HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )

    async def run() -> None:
        transport = await _serve(app, handshake)
        assert isinstance(transport.protocol, FrameWritingProtocol)
        assert transport.written.startswith(b"HTTP/1.1 101")

    asyncio.run(run())
    [scope] = scopes
    assert scope["type"] == "websocket"
    assert RAW_FRAMES in scope["extensions"]
    assert RAW_CHUNKS not in scope["extensions"]


def test_dropping_a_connection_whose_socket_is_gone_still_aborts_it() -> None:
    """uvloop's stand-in for a closed socket raises ValueError (its descriptor is -1) where
    a live one takes SO_LINGER: the drop goes on to abort the transport all the same."""

    class GoneSocket:
        def setsockopt(self, *args: object) -> None:
            raise ValueError("negative file descriptor")

    class Transport(FakeTransport):
        def get_extra_info(self, name: str, default: object = None) -> object:
            return GoneSocket() if name == "socket" else default

    transport = Transport()
    drop(transport)
    assert transport.closing
