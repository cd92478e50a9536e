"""Feed events written to WebSocket clients as frames built once, below ASGI
(the rules common to raw writers: http_api/raw.py).

Server-to-client frames are unmasked, so with compression off a text frame is the
same bytes for every client: a batch is framed once (``text_frames``, the feed's
``Encoding`` for WebSocket clients) and each client costs one ``transport.write``.

The server opts in by putting a ``RawWriter`` in the WebSocket scope's extensions
under ``RAW_FRAMES`` (``FrameWritingProtocol`` does, for uvicorn). Under any other
ASGI server the feed falls back to ``websocket.send_text``.
"""

from typing import TYPE_CHECKING

from websockets.frames import Frame, Opcode
from websockets.http11 import Request

from maestro_mcp import compat
from maestro_mcp.core.events import StoredEvent
from maestro_mcp.core.feed import Writer

from .raw import drop

if TYPE_CHECKING:
    from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
else:
    # From uvicorn's implementation module, so through compat (which checks it is there).
    WebSocketsSansIOProtocol = compat.sansio_websocket_protocol()

RAW_FRAMES = "maestro.websocket.raw_frames"


def text_frame(payload: str) -> bytes:
    return Frame(Opcode.TEXT, payload.encode()).serialize(mask=False)


def text_frames(events: list[StoredEvent]) -> bytes:
    return b"".join(text_frame(event.payload) for event in events)


class _TransportFrames:
    __slots__ = ("_max_buffered", "_protocol", "_transport")

    def __init__(self, protocol: WebSocketsSansIOProtocol) -> None:
        self._protocol = protocol
        self._transport = protocol.transport
        self._max_buffered = 0

    def write(self, frames: bytes) -> None:
        transport = self._transport
        # After a close frame nothing else may be sent; a closing transport drops it
        # (a lost connection's transport is closing).
        if self._protocol.close_sent or transport.is_closing():
            return
        transport.write(frames)

    def offering(self, max_buffered: int) -> Writer:
        self._max_buffered = max_buffered
        return self._offer

    def _offer(self, frames: bytes) -> bool:
        # The feed's inner loop (http_api/raw.py): write() inlined.
        transport = self._transport
        if transport.get_write_buffer_size() > self._max_buffered:
            return False
        if not self._protocol.close_sent and not transport.is_closing():
            transport.write(frames)
        return True

    def buffered(self) -> int:
        return self._transport.get_write_buffer_size()

    def abort(self) -> None:
        drop(self._transport)


@compat.overrides(handle_connect="to offer RAW_FRAMES in the scope of each accepted connection")
class FrameWritingProtocol(WebSocketsSansIOProtocol):
    """uvicorn's websockets (sans-I/O) protocol, offering ``RAW_FRAMES`` to the app.

    Frames written through it go to the same transport, in the order written, as
    the frames uvicorn writes for ``websocket.send``; each write is whole frames,
    so the two never interleave inside a frame.
    """

    def handle_connect(self, event: Request) -> None:
        # The state _TransportFrames reads on every write, checked once per connection.
        compat.check_websocket_state(self)
        super().handle_connect(event)
        scope = compat.accepted_websocket_scope(self)
        if scope is not None:
            scope["extensions"][RAW_FRAMES] = _TransportFrames(self)
