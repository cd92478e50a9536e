"""HTTP response bodies written to clients as chunks built once, below ASGI: the SSE
feed's path (the rules common to raw writers: http_api/raw.py).

A chunk of chunked transfer-encoding (``chunk(body)``) is the same bytes for every
client, so a batch of SSE messages is chunked once and each client costs one
``transport.write``.

The server opts in by putting a ``RawWriter`` in the HTTP scope's extensions under
``RAW_CHUNKS``, for the requests whose path streams (``STREAMING_PATHS``: the SSE feed
and MCP; no other route reads it): ``ChunkWritingProtocol`` does, for uvicorn's httptools protocol
(which uvicorn picks when httptools is installed, and Maestro depends on it). Under
h11 or any other ASGI server there is none, and the SSE feed sends through ASGI.

Rules for the app:

- Start the response, and end it, through ASGI (``http.response.start``, then
  ``http.response.body`` without ``more_body``): uvicorn keeps its state of the
  response, keep-alive and any pipelined request by those. In between, the writer
  writes only while that response is started with chunked encoding and not complete,
  and the client is there; so it never writes before the headers, after the end, or
  into another response on the same connection.
- An ASGI send waits while the transport's buffer is above its high-water mark; a
  raw write does not. Bytes whose order matters must not be written raw while an
  ASGI send of the same response is outstanding (a comment, such as a keep-alive
  ping, may go between any two chunks).
- Nothing between the app and uvicorn may rewrite the body (compression would):
  raw chunks go around it. Maestro's middleware only touches headers.
"""

import logging
from collections.abc import MutableMapping
from typing import TYPE_CHECKING, Any, cast

from maestro_mcp import compat
from maestro_mcp.compat import CompatError
from maestro_mcp.core.feed import Writer
from maestro_mcp.protocol import EVENTS_PATH, MCP_PATH

from .raw import drop

if TYPE_CHECKING:
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol, RequestResponseCycle
else:
    # From uvicorn's implementation module, so through compat (which checks it is there).
    HttpToolsProtocol = compat.httptools_http_protocol()

RAW_CHUNKS = "maestro.http.raw_chunks"
# The paths whose responses may be written raw (http_api/live.py, http_api/mcp_streams.py).
STREAMING_PATHS = frozenset({EVENTS_PATH, MCP_PATH})

log = logging.getLogger(__name__)


def chunk(body: bytes) -> bytes:
    """``body`` as one chunk of chunked transfer-encoding (not empty: that ends the body)."""
    assert body, "an empty chunk ends the body"
    return b"%x\r\n%b\r\n" % (len(body), body)


class _CycleChunks:
    __slots__ = ("_cycle", "_max_buffered", "_transport")

    def __init__(self, cycle: "RequestResponseCycle") -> None:
        self._cycle = cycle
        self._transport = cycle.transport
        self._max_buffered = 0

    def _writable(self) -> bool:
        cycle = self._cycle
        # uvicorn's own conditions for writing a chunk of this response (its send()).
        return (
            cycle.response_started
            and not cycle.response_complete
            and bool(cycle.chunked_encoding)
            and not cycle.disconnected
            and not self._transport.is_closing()
        )

    def write(self, data: bytes) -> None:
        if self._writable():
            self._transport.write(data)

    def offering(self, max_buffered: int) -> Writer:
        self._max_buffered = max_buffered
        return self._offer

    def _offer(self, data: bytes) -> bool:
        # The feed's inner loop (http_api/raw.py).
        if self._transport.get_write_buffer_size() > self._max_buffered:
            return False
        if self._writable():
            self._transport.write(data)
        return True

    def buffered(self) -> int:
        return self._transport.get_write_buffer_size()

    def abort(self) -> None:
        drop(self._transport)


@compat.overrides(on_headers_complete="to offer RAW_CHUNKS in the scope of each request")
class ChunkWritingProtocol(HttpToolsProtocol):
    """uvicorn's httptools HTTP protocol, offering ``RAW_CHUNKS`` to the app.

    The writer belongs to one request's cycle, made when its headers are complete
    and before its app runs (a pipelined request's app runs later, on that cycle).

    httptools answers an exception raised in one of its callbacks, as this one is,
    with a 400 (as if the request were invalid): so a ``CompatError`` is logged, once
    per connection, and the request served without ``RAW_CHUNKS`` (through ASGI).
    """

    _compat_error_logged = False

    def on_headers_complete(self) -> None:
        previous = self._request_cycle()  # to tell the cycle of this request from none
        super().on_headers_complete()
        cycle = self._request_cycle()
        if cycle is None or cycle is previous:
            return  # a WebSocket upgrade: the WebSocket protocol takes the connection
        if cycle.scope["path"] not in STREAMING_PATHS:
            return  # a REST request: nothing of it is written raw
        try:
            # The state _CycleChunks reads on every write, checked once per request.
            compat.check_request_cycle(cycle)
        except CompatError as error:
            self._log_compat_error(error)
            return
        # Typed by uvicorn as a TypedDict whose extensions are dicts; ours is a writer.
        scope = cast(MutableMapping[str, Any], cycle.scope)
        scope.setdefault("extensions", {})[RAW_CHUNKS] = _CycleChunks(cycle)

    def _request_cycle(self) -> "RequestResponseCycle | None":
        try:
            return compat.request_cycle(self)
        except CompatError as error:
            self._log_compat_error(error)
            return None

    def _log_compat_error(self, error: CompatError) -> None:
        if not self._compat_error_logged:
            self._compat_error_logged = True
            log.error("%s: SSE streams on this connection go through ASGI", error)
