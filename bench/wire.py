"""Lean loopback clients for the load generator: HTTP/1.1 keep-alive and WebSocket reading.

A benchmark must measure the server, not its clients. A general-purpose async HTTP or
WebSocket client spends more CPU per message than the server does, and the load
generator has a single core: these speak just enough of each protocol to drive and
observe the server (server-to-client WebSocket frames are unmasked, so reading them is
a few slices). A WebSocket reader still answers pings: uvicorn pings every 20 s and
drops a client whose pong does not come within 20 s more, so a reader that ignored
them would lose its clients in any phase longer than 40 s.
"""

import asyncio
import base64
import json
import os
from collections.abc import Callable
from typing import Any, Self, cast

# Each write the load generators make sets a title m<phase>-<n>; their clients find it
# in the raw event, without parsing it, within the event's first MARK_WITHIN bytes.
MARK = b'"title":"m'
MARK_WITHIN = 400


def marker_of(event: bytes) -> bytes | None:
    """The marker of a write's event (its title after the ``m``), None in any other."""
    start = event.find(MARK, 0, MARK_WITHIN)
    if start < 0:
        return None
    start += len(MARK)
    return event[start : event.index(b'"', start)]


class HttpConnection:
    """One keep-alive connection; one request at a time."""

    def __init__(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, host: str
    ) -> None:
        self.reader, self.writer, self.host = reader, writer, host

    @classmethod
    async def open(cls, host: str, port: int) -> "HttpConnection":
        reader, writer = await asyncio.open_connection(host, port)
        return cls(reader, writer, f"{host}:{port}")

    async def request(self, method: str, path: str, body: Any = None) -> tuple[int, bytes]:
        payload = json.dumps(body).encode() if body is not None else b""
        head = (
            f"{method} {path} HTTP/1.1\r\nHost: {self.host}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n\r\n"
        )
        self.writer.write(head.encode() + payload)
        status_line = await self.reader.readuntil(b"\r\n")
        status = int(status_line.split(b" ", 2)[1])
        length = 0
        while (line := await self.reader.readuntil(b"\r\n")) != b"\r\n":
            name, _, value = line.partition(b":")
            if name.lower() == b"content-length":
                length = int(value)
        return status, await self.reader.readexactly(length)

    def close(self) -> None:
        self.writer.close()


class _Reader(asyncio.Protocol):
    """What the two feed readers share: the request they open with, the callback they
    hand each message to, ``opened`` (the response's head accepted) and ``closed``."""

    def __init__(self, request: bytes, on_message: Callable[[bytes], None]) -> None:
        self.request = request
        self.on_message = on_message
        self.on_closed: Callable[[], None] | None = None  # told once the connection ended
        self.opened: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.closed = asyncio.Event()
        self.transport: asyncio.Transport | None = None

    @classmethod
    async def _connect(
        cls, host: str, port: int, request: bytes, on_message: Callable[[bytes], None]
    ) -> Self:
        loop = asyncio.get_running_loop()
        _, feed = await loop.create_connection(lambda: cls(request, on_message), host, port)
        await feed.opened
        return feed

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass
        self.transport.write(self.request)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.opened.done():
            self.opened.set_exception(exc or ConnectionError("closed before the response"))
        self.closed.set()
        if self.on_closed is not None:
            self.on_closed()

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


class WsFeed(_Reader):
    """A WebSocket client that only reads (and answers pings), handing each text
    message's payload to a callback as it parses the socket's chunks: no coroutine, no
    await per message, so one core can watch 100 clients that each get thousands of
    events a second."""

    def __init__(self, request: bytes, on_message: Callable[[bytes], None]) -> None:
        super().__init__(request, on_message)
        self.buffer = bytearray()

    @classmethod
    async def open(
        cls, host: str, port: int, path: str, on_message: Callable[[bytes], None]
    ) -> "WsFeed":
        key = base64.b64encode(os.urandom(16)).decode()
        request = (
            f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
        return await cls._connect(host, port, request, on_message)

    def data_received(self, data: bytes) -> None:
        buffer = self.buffer
        if not buffer and self.opened.done():
            # Most reads hold whole frames: parse them where they are, keep only the rest.
            if (position := self._frames(data)) < len(data):
                buffer += data[position:]
            return
        buffer += data
        if not self.opened.done():
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            if not buffer.startswith(b"HTTP/1.1 101"):
                self.opened.set_exception(ConnectionError(bytes(buffer[:end]).decode()))
                return
            self.opened.set_result(None)
            del buffer[: end + 4]
        del buffer[: self._frames(buffer)]

    def _frames(self, chunk: bytes | bytearray) -> int:
        """Hand on the whole frames at the start of ``chunk``; returns where they end."""
        position, size = 0, len(chunk)
        while size - position >= 2:
            length = chunk[position + 1] & 0x7F
            head = 2
            if length == 126:
                head = 4
                if size - position < head:
                    break
                length = int.from_bytes(chunk[position + 2 : position + 4], "big")
            elif length == 127:
                head = 10
                if size - position < head:
                    break
                length = int.from_bytes(chunk[position + 2 : position + 10], "big")
            end = position + head + length
            if end > size:
                break
            opcode = chunk[position] & 0x0F
            payload = bytes(chunk[position + head : end])  # of a bytes slice: no second copy
            position = end
            if opcode == 0x8:  # close
                self.close()
                break
            if opcode == 0x1:
                self.on_message(payload)
            elif opcode == 0x9:
                self.pong(payload)
        return position

    def pong(self, payload: bytes) -> None:
        """Answer a ping with a pong carrying its payload (RFC 6455 5.5.3), masked as
        every client-to-server frame must be (5.3). A ping's payload is at most 125
        bytes (5.5), so the length fits the head's first byte."""
        if self.transport is None:
            return
        mask = os.urandom(4)
        masked = bytes(byte ^ mask[n % 4] for n, byte in enumerate(payload))
        self.transport.write(bytes([0x8A, 0x80 | len(payload)]) + mask + masked)


class SseFeed(_Reader):
    """An SSE client that only reads, as lean as ``WsFeed``: it takes the chunks of the
    chunked response body apart and hands each message's ``data`` to a callback as the
    socket's bytes arrive. Lines end in CRLF or LF (a lone CR, which the SSE grammar also
    allows, is not one Maestro sends); ``id:``, ``event:`` and comments are skipped."""

    def __init__(self, request: bytes, on_message: Callable[[bytes], None]) -> None:
        super().__init__(request, on_message)
        self.raw = bytearray()  # the socket's bytes not yet taken apart
        self.body = bytearray()  # the body's bytes not yet in a whole line
        self.data: list[bytes] = []  # the current message's data lines

    @classmethod
    async def open(
        cls, host: str, port: int, path: str, on_message: Callable[[bytes], None]
    ) -> "SseFeed":
        request = (
            f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nAccept: text/event-stream\r\n\r\n"
        ).encode()
        return await cls._connect(host, port, request, on_message)

    def data_received(self, data: bytes) -> None:
        raw = self.raw
        raw += data
        if not self.opened.done():
            end = raw.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(raw[:end]).lower()
            if not head.startswith(b"http/1.1 200") or b"transfer-encoding: chunked" not in head:
                self.opened.set_exception(ConnectionError(bytes(raw[:end]).decode()))
                self.close()
                return
            self.opened.set_result(None)
            del raw[: end + 4]
        position, size = 0, len(raw)
        while (line_end := raw.find(b"\r\n", position)) >= 0:
            length = int(raw[position:line_end].split(b";", 1)[0], 16)
            if length == 0:  # the last chunk: the server ended the stream
                self.close()
                break
            start = line_end + 2
            if start + length + 2 > size:
                break
            self.body += raw[start : start + length]
            position = start + length + 2
        del raw[:position]
        self._lines()

    def _lines(self) -> None:
        body, done = self.body, 0
        while (end := body.find(b"\n", done)) >= 0:
            line = bytes(body[done:end]).removesuffix(b"\r")
            done = end + 1
            if not line:  # a blank line ends the message
                if self.data:
                    self.on_message(b"\n".join(self.data))
                    self.data = []
            elif line.startswith(b"data:"):
                value = line[5:]
                self.data.append(value[1:] if value.startswith(b" ") else value)
        del body[:done]
