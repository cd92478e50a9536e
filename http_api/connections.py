"""The server's connections: how many it serves, how long and how large a request's
head may be, and how long a client may leave what it was sent unread. Enforced below
ASGI, by the protocols Maestro runs uvicorn with (``server_config``).

uvicorn bounds none of these by itself: a client trickling a header byte a second
holds its connection forever, httptools keeps every header it is sent (hundreds of
megabytes, never answered), any number of connections is accepted until the process
runs out of file descriptors, and asyncio keeps whatever is written to a client that
does not read. The rules:

- **Admission.** At most ``max_connections`` connections are served at once, live
  streams included (each WebSocket and SSE stream holds its connection). One that
  opens past that is answered ``503`` (``over_capacity``, with ``Retry-After``) as soon
  as its request head (an HTTP request or a WebSocket handshake) has arrived, and
  closed; the app never sees it, and the connections already served are not touched.
  Past what the process's file descriptors allow (``fit_to_descriptors``), a new
  connection is closed at once.
- **The head.** A request's line and headers must arrive within ``head_timeout``
  seconds of the connection's opening (its first request) or of the request's first
  byte (the next ones), and hold at most ``max_head_bytes``: else ``408`` or ``431``,
  and the connection is closed. One that sent nothing is closed without an answer.
  A head that waits while the server answers an earlier request on the connection
  (pipelining) is not late: uvicorn does not read it meanwhile.
- **Between requests** an idle connection is closed after ``keep_alive_timeout``
  (uvicorn's ``timeout_keep_alive``).
- **Unread output.** A connection whose client takes none of the bytes waiting for it
  for ``send_timeout`` seconds is dropped, whatever wrote them: a response, a live
  stream, a close waiting for its last bytes to leave. One that takes some, however
  slowly, is not (``Connection``). A WebSocket client that makes
  the server write (a ping wants a pong) while more than ``max_unread`` bytes wait
  unread is dropped at once: else a client sending pings and reading nothing grows
  the server's memory as fast as it sends. The feeds cut off a subscriber that falls
  that far behind (``Settings.max_queue_bytes``; http_api/raw.py), so the same bound.

Answers written here are the one error shape (http_api/errors.py) with
``Connection: close``, written straight to the socket: there is no request to give
the app.
"""

import asyncio
import logging
import socket
import struct
import time
from collections.abc import Mapping
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, cast

import uvicorn

from maestro_mcp import compat
from maestro_mcp.core.feed import DEFAULT_MAX_QUEUE_BYTES
from maestro_mcp.protocol import RETRY_AFTER_HEADER, RETRY_AFTER_OVER_CAPACITY_S
from maestro_mcp.settings import (
    DEFAULT_HEAD_TIMEOUT,
    DEFAULT_MAX_CONNECTIONS,
    DEFAULT_MAX_HEAD_BYTES,
    DEFAULT_SEND_TIMEOUT,
    Settings,
)

from .chunks import ChunkWritingProtocol
from .errors import error_json
from .frames import FrameWritingProtocol
from .raw import drop

log = logging.getLogger(__name__)

OVER_CAPACITY_CODE = "over_capacity"
REQUEST_TIMEOUT_CODE = "request_timeout"
HEAD_TOO_LARGE_CODE = "head_too_large"

# File descriptors kept for everything but client connections: the store's files and
# connections, the listening sockets, the event loop's own, logs, static files.
RESERVED_DESCRIPTORS = 256
# How often a connection whose client reads nothing is looked at, in send timeouts.
_SEND_CHECKS = 4
# At most one warning line per this many seconds while connections are refused.
_REFUSAL_LOG_INTERVAL = 60.0


@dataclass(frozen=True)
class ConnectionLimits:
    """The numbers (``Settings``' HTTP server section; README "Configuration")."""

    max_connections: int = DEFAULT_MAX_CONNECTIONS
    head_timeout: float = DEFAULT_HEAD_TIMEOUT
    max_head_bytes: int = DEFAULT_MAX_HEAD_BYTES
    send_timeout: float = DEFAULT_SEND_TIMEOUT
    # Bytes a client may leave unread while it makes the server write more.
    max_unread: int = DEFAULT_MAX_QUEUE_BYTES

    @classmethod
    def of(cls, settings: Settings) -> "ConnectionLimits":
        return cls(
            max_connections=settings.max_connections,
            head_timeout=settings.head_timeout,
            max_head_bytes=settings.max_head_bytes,
            send_timeout=settings.send_timeout,
            max_unread=settings.max_queue_bytes,
        )


def raw_error(
    status: int, code: str, message: str, headers: Mapping[str, str] | None = None
) -> bytes:
    """A whole HTTP response in the error shape, ending the connection."""
    body = error_json(code, message)
    lines = [
        f"HTTP/1.1 {status} {HTTPStatus(status).phrase}",
        "content-type: application/json",
        f"content-length: {len(body)}",
        "connection: close",
        *(f"{name.lower()}: {value}" for name, value in (headers or {}).items()),
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


class Connection:
    """One client connection, from its opening to its loss, whatever protocol it speaks
    meanwhile (a WebSocket upgrade changes the protocol, not the connection)."""

    __slots__ = (
        "_acked",
        "_check",
        "_last_progress",
        "_pending",
        "admitted",
        "limits",
        "transport",
    )

    def __init__(
        self, transport: asyncio.Transport, limits: ConnectionLimits, admitted: bool
    ) -> None:
        self.transport = transport
        self.limits = limits
        self.admitted = admitted
        self._check: asyncio.TimerHandle | None = None
        self._pending = 0
        self._acked: int | None = None
        self._last_progress = 0.0

    # The transport calls its protocol's pause_writing() once more than its high-water
    # mark of bytes wait, and resume_writing() once they are down to its low-water mark.
    # In between, the client is looked at every so often: if it took none of the bytes
    # for send_timeout, it is dropped. What it took is what it acknowledged (TCP_INFO,
    # on Linux); elsewhere, a buffer that shrank. (The buffer alone tells a slow reader
    # late: the kernel's send buffer, megabytes on a fast link, must drain by a third
    # before the buffer shrinks at all, and what is written meanwhile hides that.)

    def writing_paused(self) -> None:
        if self._check is None:
            self._pending = self.transport.get_write_buffer_size()
            self._acked = bytes_acked(self.transport)
            self._last_progress = time.monotonic()
            self._schedule_check()

    def writing_resumed(self) -> None:
        self.forget()

    def forget(self) -> None:
        if self._check is not None:
            self._check.cancel()
            self._check = None

    def _schedule_check(self) -> None:
        loop = asyncio.get_running_loop()
        self._check = loop.call_later(self.limits.send_timeout / _SEND_CHECKS, self._look)

    def _look(self) -> None:
        self._check = None
        pending = self.transport.get_write_buffer_size()
        if pending == 0:
            return  # drained: resume_writing() comes, or came
        acked = bytes_acked(self.transport)
        if acked is not None and self._acked is not None:
            took_some = acked > self._acked
        else:
            took_some = pending < self._pending
        now = time.monotonic()
        if took_some:
            self._last_progress = now
        elif now - self._last_progress >= self.limits.send_timeout:
            log.debug("dropped a client that read nothing for %g s", self.limits.send_timeout)
            drop(self.transport)
            return
        self._pending, self._acked = pending, acked
        self._schedule_check()


# struct tcp_info (linux/tcp.h): tcpi_bytes_acked, a u64 at this offset since Linux 4.1.
_TCP_INFO = getattr(socket, "TCP_INFO", None)
_BYTES_ACKED_AT = 120
_TCP_INFO_SIZE = 128


def bytes_acked(transport: asyncio.BaseTransport) -> int | None:
    """Bytes of the connection its client has acknowledged, None where not known."""
    sock = transport.get_extra_info("socket")
    if _TCP_INFO is None or sock is None:
        return None
    try:
        info = sock.getsockopt(socket.IPPROTO_TCP, _TCP_INFO, _TCP_INFO_SIZE)
    except OSError:
        return None
    if len(info) < _BYTES_ACKED_AT + 8:
        return None  # an older kernel
    acked: int = struct.unpack_from("=Q", info, _BYTES_ACKED_AT)[0]
    return acked


class Connections:
    """The server's open connections, and which of them it serves."""

    def __init__(self, limits: ConnectionLimits) -> None:
        self.limits = limits
        # Lowered by fit_to_descriptors when the process cannot open that many.
        self.max_connections = limits.max_connections
        # Past this many open connections a new one is closed at once (None: no limit known).
        self.ceiling: int | None = None
        self._open: dict[asyncio.BaseTransport, Connection] = {}
        self.admitted = 0
        self._refused_unlogged = 0
        self._next_refusal_log = 0.0

    def __len__(self) -> int:
        return len(self._open)

    def opened(self, transport: asyncio.Transport) -> Connection:
        """The connection of ``transport``, admitted if there is room for it."""
        known = self._open.get(transport)
        if known is not None:
            return known  # a WebSocket taking over its HTTP connection
        admitted = self.admitted < self.max_connections
        connection = self._open[transport] = Connection(transport, self.limits, admitted)
        if admitted:
            self.admitted += 1
        elif self.ceiling is not None and len(self._open) > self.ceiling:
            transport.abort()  # no descriptor to spare for an answer
            self._refused()
        else:
            self._refused()
        return connection

    def closed(self, transport: asyncio.BaseTransport) -> None:
        connection = self._open.pop(transport, None)
        if connection is None:
            return
        connection.forget()
        if connection.admitted:
            self.admitted -= 1

    def _refused(self) -> None:
        # Once at the first refusal, then at most once a minute with a count: a flood of
        # connections must not flood the log too.
        self._refused_unlogged += 1
        now = time.monotonic()
        if now >= self._next_refusal_log:
            log.warning(
                "%d connection(s) refused: the server serves %d at most (--max-connections); "
                "refused ones are answered 503 over_capacity",
                self._refused_unlogged,
                self.max_connections,
            )
            self._refused_unlogged = 0
            self._next_refusal_log = now + _REFUSAL_LOG_INTERVAL

    def fit_to_descriptors(self) -> None:
        """Make room for the connections among the process's file descriptors: raise its
        soft limit to its hard one, and lower ``max_connections`` (saying so) if what
        remains after ``RESERVED_DESCRIPTORS`` still cannot hold them. Connections past
        the descriptors left are closed at once instead of starving the store of files."""
        room = descriptor_room()
        if room is None:
            return
        self.ceiling = room
        if self.max_connections > room:
            log.warning(
                "the open-file limit leaves room for %d connections: serving at most %d, "
                "not %d (--max-connections); raise the limit (ulimit -n) for more",
                room,
                room,
                self.max_connections,
            )
            self.max_connections = room


def descriptor_room() -> int | None:
    """File descriptors this process may open for connections, after raising its soft
    limit as far as the hard one allows; None where there is no such limit (Windows)."""
    try:
        import resource
    except ImportError:  # pragma: no cover - not on POSIX
        return None
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return None
    if hard == resource.RLIM_INFINITY or hard > soft:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
            soft = hard
        except (ValueError, OSError):
            pass  # e.g. macOS refuses more than OPEN_MAX: keep the soft limit
    if soft == resource.RLIM_INFINITY:
        return None
    return max(1, soft - RESERVED_DESCRIPTORS)


class MaestroConfig(uvicorn.Config):
    """uvicorn's configuration, with the server's connections for its protocols."""

    def __init__(self, app: Any, connections: Connections, **options: Any) -> None:
        super().__init__(app, **options)
        self.connections = connections


def _connections_of(config: uvicorn.Config) -> Connections:
    if isinstance(config, MaestroConfig):
        return config.connections
    # A protocol driven alone (tests of uvicorn's internals): its own, default limits.
    return Connections(ConnectionLimits())


@compat.overrides(
    on_message_begin="to time a request's head from its first byte",
    on_headers_complete="to end the head's deadline",
    on_message_complete="to count the next request's head from its first byte",
)
class MaestroHttpProtocol(ChunkWritingProtocol):
    """uvicorn's httptools protocol (writing SSE chunks raw), under the connection limits."""

    def __init__(self, config: uvicorn.Config, *args: Any, **kwargs: Any) -> None:
        super().__init__(config, *args, **kwargs)
        self._connections = _connections_of(config)
        self._limits = self._connections.limits
        self._connection: Connection | None = None
        self._head_deadline: asyncio.TimerHandle | None = None
        self._reading_head = True  # between requests too: what comes next is a head
        self._head_started = False
        self._head_began = 0.0  # when the first byte of the head being read came
        self._head_bytes = 0
        self._refused_head: bytearray | None = None  # as read, on a connection not admitted
        self._answered = False  # by this protocol, not by the app: nothing more is read

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._connection = self._connections.opened(transport)
        if not self._connection.admitted:
            self._refused_head = bytearray()
        if not transport.is_closing():
            self._arm_head_deadline()

    def connection_lost(self, exc: Exception | None) -> None:
        self._end_head_deadline()
        self._connections.closed(self.transport)
        super().connection_lost(exc)

    def pause_writing(self) -> None:
        super().pause_writing()
        if self._connection is not None:
            self._connection.writing_paused()

    def resume_writing(self) -> None:
        super().resume_writing()
        if self._connection is not None:
            self._connection.writing_resumed()

    def data_received(self, data: bytes) -> None:
        if self._answered:
            return
        if self._refused_head is not None:
            self._read_refused(data)
            return
        self._parse(data)
        if self._head_started and self._head_deadline is None and not self.transport.is_closing():
            # A head begun but not ended in what arrived (rare: a head comes in one
            # piece), so it is timed; the first request's is, from the connection's opening.
            elapsed = time.monotonic() - self._head_began
            self._arm_head_deadline(self._limits.head_timeout - elapsed)

    def _parse(self, data: bytes) -> None:
        if not self._reading_head:
            super().data_received(data)
            return
        room = self._limits.max_head_bytes - self._head_bytes
        if len(data) <= room:
            self._head_bytes += len(data)
            super().data_received(data)
            return
        if room > 0:
            # The head must end within the room left: parse that much, and see.
            self._head_bytes += room
            super().data_received(data[:room])
            if self.transport.is_closing() or self.transport.get_protocol() is not self:
                return  # answered (a 400), or upgraded to a WebSocket
            if not self._reading_head or self._head_bytes == 0:
                # It ended: the rest is its body, or the next request (counted anew).
                self._parse(data[room:])
                return
        self._too_large()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._head_started = True
        self._head_began = time.monotonic()

    def on_headers_complete(self) -> None:
        self._reading_head = False
        self._head_started = False
        self._end_head_deadline()
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._reading_head = True
        self._head_bytes = 0

    # --- the head ------------------------------------------------------------------

    def _arm_head_deadline(self, seconds: float | None = None) -> None:
        delay = self._limits.head_timeout if seconds is None else max(0.0, seconds)
        self._head_deadline = asyncio.get_running_loop().call_later(delay, self._head_late)

    def _end_head_deadline(self) -> None:
        if self._head_deadline is not None:
            self._head_deadline.cancel()
            self._head_deadline = None

    def _head_late(self) -> None:
        self._head_deadline = None
        if self.transport.is_closing():
            return
        if compat.response_under_way(self):
            self._arm_head_deadline()  # not read meanwhile: its turn comes later
            return
        if not (self._head_started or self._head_bytes):
            log.debug("closed a connection that sent nothing for %s s", self._limits.head_timeout)
            self._answer(None)
            return
        log.debug("a request head took over %s s: 408", self._limits.head_timeout)
        message = f"the request's line and headers took over {self._limits.head_timeout:g} s"
        self._answer(raw_error(408, REQUEST_TIMEOUT_CODE, message))

    def _too_large(self) -> None:
        log.debug("a request head was over %d bytes: 431", self._limits.max_head_bytes)
        message = f"the request's line and headers exceed {self._limits.max_head_bytes} bytes"
        # Not in the middle of another response on the connection (pipelining).
        under_way = compat.response_under_way(self)
        self._answer(None if under_way else raw_error(431, HEAD_TOO_LARGE_CODE, message))

    def _read_refused(self, data: bytes) -> None:
        """A connection past the cap: its head, read as far as its end, gets a 503."""
        head = self._refused_head
        assert head is not None
        searched_from = max(0, len(head) - 3)
        head += data[: self._limits.max_head_bytes - len(head) + 1]
        if b"\r\n\r\n" in head[searched_from:] or b"\n\n" in head[searched_from:]:
            message = (
                f"the server serves {self._connections.max_connections} connections at most "
                "and has no room for another; retry later"
            )
            retry = {RETRY_AFTER_HEADER: str(RETRY_AFTER_OVER_CAPACITY_S)}
            self._answer(raw_error(503, OVER_CAPACITY_CODE, message, retry))
        elif len(head) > self._limits.max_head_bytes:
            self._too_large()
        else:
            self._head_bytes = len(head)

    def _answer(self, response: bytes | None) -> None:
        """End the connection, with ``response`` first if there is one."""
        self._answered = True
        self._end_head_deadline()
        if response is not None:
            self.transport.write(response)
        self.transport.close()


class MaestroWebSocketProtocol(FrameWritingProtocol):
    """uvicorn's sans-I/O WebSocket protocol (writing feed frames raw), under the
    connection limits. Its connection was admitted, or not, as an HTTP one."""

    def __init__(self, config: uvicorn.Config, *args: Any, **kwargs: Any) -> None:
        super().__init__(config, *args, **kwargs)
        self._connections = _connections_of(config)
        self._connection: Connection | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        # uvloop's transports are not asyncio.Transport subclasses; they are ones in kind.
        self._connection = self._connections.opened(cast(asyncio.Transport, transport))

    def connection_lost(self, exc: Exception | None) -> None:
        self._connections.closed(self.transport)
        super().connection_lost(exc)

    def pause_writing(self) -> None:
        super().pause_writing()
        if self._connection is not None:
            self._connection.writing_paused()

    def resume_writing(self) -> None:
        super().resume_writing()
        if self._connection is not None:
            self._connection.writing_resumed()

    def data_received(self, data: bytes) -> None:
        before = self.transport.get_write_buffer_size()
        super().data_received(data)
        unread = self.transport.get_write_buffer_size()
        if unread > before and unread > self._connections.limits.max_unread:
            log.debug("dropped a WebSocket client that sends but reads nothing")
            drop(self.transport)
