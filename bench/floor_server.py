"""The fan-out floor: the least a server can spend to write one event to every client.

    python -m bench.floor_server PORT [--payload-bytes N]   # 0: a free port, logged as it listens

uvloop, no framework: it answers a WebSocket handshake (``GET /ws``, with the accept
key and a ``sync:ready`` text frame, so the benchmark's clients take it for a feed) and
keeps the transport. A writer sends ``POST /write`` with a JSON body holding its marker
(``{"title":"m<marker>"}``) on a keep-alive connection: the server frames the body
(compact JSON), padded with spaces to ``--payload-bytes`` (the size of Maestro's
event, measured in the same run), once, and answers ``204``. The frames of the writes
read in one turn of the event loop go out together on the next: one
``transport.write`` of them all to every client. So, as Maestro does when it is
behind, events that arrive while the server is fanning out share one ``write()`` per
client on its next pass; at a pace it keeps up with, each event has its own. What
remains per client per pass is one ``write()`` system call, which on loopback also
runs the receiver's TCP receive path: the floor a server that batches the same way
cannot go below on this machine (bench/fanout.py compares).
"""

import argparse
import asyncio
import base64
import hashlib
import json
import sys
from typing import cast

from .subscribers import raise_descriptor_limit

WS_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC11B65"
SYNC_READY = b'{"event":"sync:ready"}'


def text_frame(payload: bytes) -> bytes:
    """An unmasked, final text frame (server to client)."""
    size = len(payload)
    if size < 126:
        head = bytes([0x81, size])
    elif size < 1 << 16:
        head = bytes([0x81, 126]) + size.to_bytes(2, "big")
    else:
        head = bytes([0x81, 127]) + size.to_bytes(8, "big")
    return head + payload


class Floor:
    """The connected clients, and the frames waiting for the next pass over them."""

    def __init__(self, payload_bytes: int) -> None:
        self.payload_bytes = payload_bytes
        self.clients: set[asyncio.Transport] = set()
        self.waiting: list[bytes] = []

    def broadcast(self, body: bytes) -> None:
        # Compact, as Maestro's events are: the clients look for '"title":"m' in them.
        payload = json.dumps(json.loads(body), separators=(",", ":")).encode()
        if not self.waiting:  # the first of this turn's frames: the pass comes next turn
            asyncio.get_running_loop().call_soon(self.flush)
        self.waiting.append(text_frame(payload.ljust(self.payload_bytes)))

    def flush(self) -> None:
        """One pass: every waiting frame, in one write to each client."""
        data = b"".join(self.waiting)
        self.waiting.clear()
        for transport in self.clients:
            transport.write(data)


class Connection(asyncio.Protocol):
    """One connection: an HTTP/1.1 request at a time until it upgrades to a WebSocket."""

    def __init__(self, floor: Floor) -> None:
        self.floor = floor
        self.buffer = bytearray()
        self.transport: asyncio.Transport | None = None
        self.subscribed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass

    def data_received(self, data: bytes) -> None:
        if self.subscribed:
            return  # what a subscriber sends (nothing, or a close) is not read
        buffer = self.buffer
        buffer += data
        while (end := buffer.find(b"\r\n\r\n")) >= 0:
            lines = bytes(buffer[:end]).split(b"\r\n")
            headers = {}
            for line in lines[1:]:
                name, _, value = line.partition(b":")
                headers[name.strip().lower()] = value.strip()
            method, path = lines[0].split(b" ")[:2]
            if method == b"GET" and path.startswith(b"/ws"):
                del buffer[:]
                self.subscribe(headers.get(b"sec-websocket-key", b""))
                return
            length = int(headers.get(b"content-length", b"0"))
            if len(buffer) < end + 4 + length:
                return
            body = bytes(buffer[end + 4 : end + 4 + length])
            del buffer[: end + 4 + length]
            self.answer(method, path, body)

    def subscribe(self, key: bytes) -> None:
        assert self.transport is not None
        accept = base64.b64encode(hashlib.sha1(key + WS_GUID).digest())
        self.transport.write(
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
            b"Connection: Upgrade\r\nSec-WebSocket-Accept: " + accept + b"\r\n\r\n"
            + text_frame(SYNC_READY)
        )  # fmt: skip
        self.subscribed = True
        self.floor.clients.add(self.transport)

    def answer(self, method: bytes, path: bytes, body: bytes) -> None:
        assert self.transport is not None
        if method == b"POST" and path == b"/write":
            self.floor.broadcast(body)
            self.transport.write(b"HTTP/1.1 204 No Content\r\n\r\n")
        else:
            self.transport.write(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")

    def connection_lost(self, exc: Exception | None) -> None:
        if self.transport is not None:
            self.floor.clients.discard(self.transport)


async def serve(port: int, payload_bytes: int) -> None:
    floor = Floor(payload_bytes)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: Connection(floor), "127.0.0.1", port, backlog=4096)
    port = server.sockets[0].getsockname()[1]  # the one it chose, given 0
    print(f"listening on http://127.0.0.1:{port}", file=sys.stderr, flush=True)
    await asyncio.Future()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("port", type=int, help="0: a free port, logged as it listens")
    parser.add_argument(
        "--payload-bytes", type=int, default=300, help="the size of each event's payload"
    )
    args = parser.parse_args()
    raise_descriptor_limit()  # one descriptor per client, as Maestro raises its own
    import uvloop

    uvloop.run(serve(args.port, args.payload_bytes))


if __name__ == "__main__":
    main()
