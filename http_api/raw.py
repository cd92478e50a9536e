"""Feed deliveries written to clients below ASGI: what WebSocket frames
(http_api/frames.py) and SSE chunks (http_api/chunks.py) have in common.

Sending an event through ASGI to 100 clients encodes it 100 times and crosses
Starlette's and uvicorn's layers each time. Here:

- A server that can, offers a ``RawWriter`` in a connection's scope extensions;
  without one the app sends through ASGI as usual, so it runs under any server.
- A delivery is encoded once, by its first client, and kept in ``Delivery.memo``
  under the encoding's key; every client then costs one ``transport.write`` of the
  same bytes.
- Each write is whole units of the connection's framing (WebSocket frames, HTTP
  chunks), so raw writes and the server's own writes never interleave inside one.
- A raw write never waits: a client with more than ``max_buffered`` bytes unread is
  behind, and the feed cuts it off (``Sink`` returns False).
"""

import asyncio
import contextlib
import socket
import struct
from collections.abc import Callable
from typing import Protocol

from maestro_mcp.core.events import StoredEvent
from maestro_mcp.core.feed import Delivery, Sink


class RawWriter(Protocol):
    def write(self, data: bytes) -> None:
        """Queue whole frames or chunks on the connection's transport, without waiting;
        nothing once the connection can take no more of them."""

    def buffered(self) -> int:
        """Bytes written but not yet taken by the client's socket."""

    def abort(self) -> None:
        """Drop the connection now, discarding whatever the client has not read."""


# SO_LINGER on, for 0 seconds: closing the socket resets the connection at once.
_RESET_ON_CLOSE = struct.pack("ii", 1, 0)


def drop(transport: asyncio.WriteTransport) -> None:
    """End the connection now, discarding what its client has not read: a reset (RST),
    not a close. A closed socket's kernel would otherwise keep what it could not send
    (up to its send buffer, megabytes) and go on offering it to a client that reads
    nothing, for minutes, with a FIN that never leaves behind it."""
    sock = transport.get_extra_info("socket")
    if sock is not None:
        # Already gone (uvloop's stand-in for a closed socket raises ValueError: its
        # file descriptor is -1): abort() is all that is left.
        with contextlib.suppress(OSError, ValueError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _RESET_ON_CLOSE)
    transport.abort()


def encoded(delivery: Delivery, key: str, encode: Callable[[list[StoredEvent]], bytes]) -> bytes:
    """The delivery's events as ``encode`` makes them, made for its first client only."""
    data: bytes | None = delivery.memo.get(key)
    if data is None:
        data = delivery.memo[key] = encode(delivery.events)
    return data


def raw_sink(writer: RawWriter, bytes_of: Callable[[Delivery], bytes], max_buffered: int) -> Sink:
    """A feed sink writing ``bytes_of(delivery)`` to ``writer``; a client with more than
    ``max_buffered`` bytes still unread is behind, and the feed cuts it off."""

    def sink(delivery: Delivery) -> bool:
        if writer.buffered() > max_buffered:
            return False
        writer.write(bytes_of(delivery))
        return True

    return sink
