"""Feed deliveries written to clients below ASGI: what WebSocket frames
(http_api/frames.py) and SSE chunks (http_api/chunks.py) have in common.

Sending an event through ASGI to 100 clients encodes it 100 times and crosses
Starlette's and uvicorn's layers each time. Here:

- A server that can, offers a ``RawWriter`` in a connection's scope extensions;
  without one the app sends through ASGI as usual, so it runs under any server.
- A batch is encoded once for every client of one transport and filter (the feed
  groups them by ``Encoding``: core/feed.py); every client then costs one call of
  its writer's ``offer``, one ``transport.write`` of the same bytes.
- Each write is whole units of the connection's framing (WebSocket frames, HTTP
  chunks), so raw writes and the server's own writes never interleave inside one.
- A raw write never waits: a client with more than ``max_buffered`` bytes unread is
  behind, and the feed cuts it off (``offer`` returns False).
- ``offer`` is what the feed calls once per client per batch: with thousands of
  clients it is the server's inner loop, so it checks what it must and nothing twice.
"""

import asyncio
import contextlib
import socket
import struct
from typing import Protocol

from maestro_mcp.core.feed import Writer


class RawWriter(Protocol):
    def write(self, data: bytes) -> None:
        """Queue whole frames or chunks on the connection's transport, without waiting;
        nothing once the connection can take no more of them."""

    def offering(self, max_buffered: int) -> Writer:
        """The feed's writer for this connection: ``write`` that first returns False,
        writing nothing, while more than ``max_buffered`` bytes wait unread."""

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
