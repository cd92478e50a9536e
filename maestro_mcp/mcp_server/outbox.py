"""Each 2025-era MCP client's change notifications, queued and sent apart from the others.

A 2025-era client (``resources/subscribe``) hears of changes on its session's stream
(streamable HTTP: the standalone ``GET /mcp`` stream). Sending on that stream waits
for the client to read: awaited by the notifier, one client that stopped reading
would stop every client's notifications. So:

- The notifier never awaits a send. It puts each client's URIs into that client's
  outbox, at once, and goes on; each outbox is sent by a task of its own, which
  exists only while the outbox has something to send.
- An outbox holds each URI once: a notification is a cue to re-read, so a second
  change to a resource whose notification has not gone yet adds nothing.
- An outbox holds at most ``Settings.mcp_max_queue`` URIs (1,024 by default, as the
  SDK bounds a 2026 listen stream's backlog). That bounds its bytes too: a URI names
  one entity, whose id is at most ``ID_MAX`` characters. A client whose outbox would
  pass it is cut off.
- A send waits at most ``Settings.send_timeout``; a client that takes none
  within it is cut off. (The HTTP face also drops any ``/mcp`` response whose send
  waits that long: http_api/mcp_streams.py.)
- Cut off: what its outbox held is dropped, and its notification stream is ended
  where it has one of its own (HTTP: ``NotificationStreams.drop``; a stdio process
  has one client, and its stdout stays). Its subscriptions stay: a client that
  reconnects its stream hears of the next changes, and re-reads what it follows, as
  after any disconnection (notifications are cues, not a log: ``changes_since`` is
  the log).
"""

import contextlib
import logging
import weakref
from collections import Counter
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

import anyio
import anyio.abc
from mcp.server.connection import Connection

log = logging.getLogger(__name__)


class NotificationStreams(Protocol):
    """The HTTP face's open notification streams, by MCP session id."""

    def drop(self, session_id: str) -> bool:
        """End the session's notification stream now, whatever its client has not read;
        whether one was open."""
        ...


@dataclass(frozen=True)
class OutboxLimits:
    max_count: int  # URIs waiting
    send_timeout: float  # how long one send may wait for the client to read


class CutOffReason(StrEnum):
    FULL = "full"  # its outbox would pass its bound
    STALLED = "stalled"  # a send waited longer than the send timeout


@dataclass
class Outbox:
    """One client's URIs not sent yet, in the order they changed, each once."""

    pending: dict[str, None] = field(default_factory=dict)  # an ordered set
    sending: bool = False  # a task is sending it
    cut_offs: Counter[CutOffReason] = field(default_factory=Counter)

    def add(self, uris: Iterable[str], limits: OutboxLimits) -> bool:
        """Queue ``uris``; False, with nothing more queued, if that would pass the bound."""
        for uri in uris:
            if uri in self.pending:
                continue
            if len(self.pending) >= limits.max_count:
                return False
            self.pending[uri] = None
        return True

    def pop(self) -> str | None:
        """The oldest URI, taken out; None when there is none."""
        if not self.pending:
            return None
        uri = next(iter(self.pending))
        del self.pending[uri]
        return uri


class Outboxes:
    """Every client's outbox, and the tasks that send them while ``running()``.

    Connections are held weakly, as by the subscriptions: a client that goes away is
    forgotten with its outbox (a task sending it holds it until the send returns).
    """

    def __init__(self, limits: OutboxLimits) -> None:
        self.limits = limits
        # Where a cut-off client's stream is ended: the HTTP face's, while it runs.
        self.streams: NotificationStreams | None = None
        self._boxes: weakref.WeakKeyDictionary[Connection, Outbox] = weakref.WeakKeyDictionary()
        self._tasks: anyio.abc.TaskGroup | None = None

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        async with anyio.create_task_group() as tasks:
            self._tasks = tasks
            try:
                yield
            finally:
                self._tasks = None
                tasks.cancel_scope.cancel()

    def outbox(self, connection: Connection) -> Outbox | None:
        """The connection's outbox, if it has one."""
        return self._boxes.get(connection)

    def outboxes(self) -> list[Outbox]:
        """Every client's outbox (to look at: what waits, how often it was cut off)."""
        return list(self._boxes.values())

    def put(self, connection: Connection, uris: Iterable[str]) -> None:
        """Queue ``uris`` for ``connection``, without waiting; a client whose outbox
        would pass its bound is cut off instead."""
        outbox = self._boxes.get(connection)
        if outbox is None:
            outbox = self._boxes[connection] = Outbox()
        if not outbox.add(uris, self.limits):
            self._cut_off(connection, outbox, CutOffReason.FULL)
            return
        if outbox.pending and not outbox.sending and self._tasks is not None:
            outbox.sending = True
            self._tasks.start_soon(self._send, connection, outbox)

    async def _send(self, connection: Connection, outbox: Outbox) -> None:
        """Send the outbox until it is empty, each URI as ``notifications/resources/updated``."""
        try:
            while (uri := outbox.pop()) is not None:
                # Cancelling the send is safe: it waits to hand the message to the
                # session's writer, and a message not taken is withdrawn whole.
                with anyio.move_on_after(self.limits.send_timeout) as waited:
                    await connection.send_resource_updated(uri)
                if waited.cancelled_caught:
                    self._cut_off(connection, outbox, CutOffReason.STALLED)
                    return
        except Exception:
            # A closed stream is no error (the SDK drops what it cannot send); anything
            # else is, and must not end the task group that sends every other outbox.
            log.exception("MCP notifications to client %s failed", _client_name(connection))
            outbox.pending.clear()
        finally:
            outbox.sending = False

    def _cut_off(self, connection: Connection, outbox: Outbox, reason: CutOffReason) -> None:
        outbox.pending.clear()  # released now, not when the client goes
        outbox.cut_offs[reason] += 1
        session_id = connection.session_id
        dropped = (
            self.streams is not None and session_id is not None and self.streams.drop(session_id)
        )
        log.warning(
            "MCP client %s fell behind on its notifications (%s): what waited for it was dropped%s",
            _client_name(connection),
            reason.value,
            ", and its stream ended (it may reconnect)" if dropped else "",
        )


def _client_name(connection: Connection) -> str:
    params = connection.client_params
    return repr(params.client_info.name) if params is not None else "(unnamed)"
