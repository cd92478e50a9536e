"""``/mcp`` responses bounded in time: a client that stops reading is dropped, and a
session's notification stream can be ended.

The MCP SDK writes each response through ASGI and waits for as long as its client
takes to read it. A client that stops reading would hold, for ever, the request's
task, its socket's buffers and its session's message router, which carries every
message of that session, one at a time. So, around the SDK's endpoint:

- Every send of a ``/mcp`` response waits at most the send timeout
  (``Settings.send_timeout``). One that waits longer means the client stopped
  reading: its connection is dropped.
- Dropped: the connection is reset (what the client has not read is discarded, the
  kernel's send buffer too: http_api/raw.py) and the SDK's handling of the request
  is cancelled, as for a client that went away (a 2025-era client reconnects its
  stream, a 2026 client listens again). Sends after that are discarded unsent.
- While a 2025-era session's standalone ``GET /mcp`` stream (its notifications) is
  open, ``drop(session_id)`` drops it: the MCP server cuts off a client that falls
  behind on its notifications that way (maestro_mcp/mcp_server/outbox.py).
- Aborting takes the server's transport, which uvicorn's httptools protocol offers
  (``RAW_CHUNKS``, http_api/chunks.py). Under another server the request is only
  cancelled, and the server closes the connection of the response left unfinished
  (uvicorn logs that as an error).
"""

import logging

import anyio
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from maestro_mcp.protocol import MCP_SESSION_ID_HEADER

from .chunks import RAW_CHUNKS
from .raw import RawWriter

log = logging.getLogger("maestro")

# How long uvicorn may take to see an aborted connection go (one turn of its loop).
ABORT_GRACE = 1.0


class _Response:
    """One ``/mcp`` response, sent through ASGI with a timeout on each send."""

    def __init__(self, send: Send, writer: RawWriter | None, timeout: float) -> None:
        self._send = send
        self.writer = writer
        self._timeout = timeout
        self.dropped = False
        self.scope = anyio.CancelScope()  # the SDK's handling of the request

    async def send(self, message: Message) -> None:
        if self.dropped:
            return  # as to a client that went away: nothing more reaches it
        with anyio.move_on_after(self._timeout):
            await self._send(message)
            return
        log.warning(
            "an MCP client read nothing for %g s: its connection to /mcp was dropped",
            self._timeout,
        )
        self.drop()

    def drop(self) -> None:
        if self.dropped:
            return
        self.dropped = True
        if self.writer is not None:
            self.writer.abort()
        self.scope.cancel()


class McpStreams:
    """The ASGI app for ``/mcp`` around the SDK's endpoint (``app``); it is the
    ``NotificationStreams`` of the MCP server (``drop``)."""

    def __init__(self, app: ASGIApp, send_timeout: float) -> None:
        self.app = app
        self.send_timeout = send_timeout
        self._standalone: dict[str, set[_Response]] = {}  # by session id
        self.drops = 0  # responses dropped so far

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        writer: RawWriter | None = scope.get("extensions", {}).get(RAW_CHUNKS)
        response = _Response(send, writer, self.send_timeout)
        session_id = _standalone_session(scope)
        if session_id is not None:
            self._standalone.setdefault(session_id, set()).add(response)
        try:
            with response.scope:
                await self.app(scope, receive, response.send)
        finally:
            if session_id is not None:
                self._forget(session_id, response)
        if not response.dropped:
            return
        self.drops += 1
        if writer is not None:
            # Returned before uvicorn saw the aborted connection go, the response would
            # look abandoned to it (an error in its log).
            with anyio.move_on_after(ABORT_GRACE):
                while (await receive())["type"] != "http.disconnect":
                    pass

    def drop(self, session_id: str) -> bool:
        """Drop the session's open standalone stream; whether it had one."""
        responses = self._standalone.get(session_id)
        if not responses:
            return False
        for response in list(responses):
            response.drop()
        return True

    def open_streams(self, session_id: str) -> int:
        """How many standalone streams the session has open (the SDK allows one)."""
        return len(self._standalone.get(session_id, ()))

    def _forget(self, session_id: str, response: _Response) -> None:
        responses = self._standalone.get(session_id)
        if responses is not None:
            responses.discard(response)
            if not responses:
                del self._standalone[session_id]


def _standalone_session(scope: Scope) -> str | None:
    """The session whose standalone stream the request opens (a GET with a session id)."""
    if scope["type"] != "http" or scope["method"] != "GET":
        return None
    return Headers(scope=scope).get(MCP_SESSION_ID_HEADER)
