"""Change notifications for MCP clients, driven by the event log like every other feed.

One feed subscriber turns committed events into the URIs of the resources they
changed and tells both kinds of client:
- 2026 clients that opened a ``subscriptions/listen`` stream, through the SDK's bus;
- 2025-era clients that called ``resources/subscribe``, on their session.

The notifier never waits for a client: the SDK's bus hands each listen stream its
events without waiting (a stream whose backlog is full is ended), and each 2025-era
client has an outbox of its own, sent by its own task (outbox.py). One client that
stops reading never holds up the others' notifications.
"""

import asyncio
import contextlib
import json
import logging
import weakref
from collections import defaultdict
from collections.abc import AsyncIterator, Callable, Iterable

from mcp.server.connection import Connection
from mcp.server.context import ServerRequestContext
from mcp.server.subscriptions import InMemorySubscriptionBus, ResourceUpdated, ServerEvent
from mcp.shared.exceptions import MCPError
from mcp.types import (
    INVALID_PARAMS,
    EmptyResult,
    SubscribeRequestParams,
    UnsubscribeRequestParams,
)

from maestro_mcp.compat import connection_of
from maestro_mcp.core.events import EventType, StoredEvent
from maestro_mcp.core.feed import Feed, FeedClosed, SubscriberOverflow
from maestro_mcp.core.ids import SESSION_PREFIX

from .outbox import Outboxes, OutboxLimits
from .resources import board_uri, inbox_uri, session_uri, task_uri

log = logging.getLogger(__name__)


# Events whose change no board shows: a note (the session's), messages (inboxes').
_NOT_ON_THE_BOARD = frozenset(
    {EventType.SESSION_NOTE_ADDED, EventType.MESSAGE_SENT, EventType.MESSAGE_READ}
)


def uris_changed_by(event: StoredEvent) -> list[str]:
    """The resources an event changed, in a stable order."""
    message = json.loads(event.payload)
    kind: str = message["event"]
    data = message["data"]
    uris: list[str] = []
    if kind in (EventType.TASK_CLAIMED, EventType.TASK_RELEASED):
        uris.append(task_uri(data["taskId"]))
    elif kind.startswith("task:"):
        uris.append(task_uri(data["id"]))
    elif kind in (EventType.SESSION_TASK_ADDED, EventType.SESSION_TASK_REMOVED):
        uris += [session_uri(data["sessionId"]), task_uri(data["taskId"])]
    elif kind == EventType.SESSION_NOTE_ADDED:
        uris.append(session_uri(data["sessionId"]))
    elif kind.startswith("session:"):
        # The inbox shows the session's status too.
        uris += [session_uri(data["id"]), inbox_uri(data["id"])]
    elif kind == EventType.MESSAGE_SENT:
        # Each session it went to (``humans`` has no inbox resource: the board's people
        # read theirs over REST and the live feeds).
        recipients = (r["recipient"] for r in data["recipients"])
        uris += [inbox_uri(r) for r in recipients if r.startswith(SESSION_PREFIX)]
    elif kind == EventType.MESSAGE_READ:
        if data.get("sessionId"):  # none: the humans read it
            uris.append(inbox_uri(data["sessionId"]))
    elif kind.startswith("question:"):
        uris += [session_uri(data["sessionId"]), inbox_uri(data["sessionId"])]
    elif kind.startswith("reservation:"):
        uris.append(session_uri(data["sessionId"]))
    if event.project_id is not None and kind not in _NOT_ON_THE_BOARD:
        uris.append(board_uri(event.project_id))
    return uris


class ListenedBus(InMemorySubscriptionBus):
    """The SDK's in-process bus, knowing whether anyone listens: with no
    ``subscriptions/listen`` stream open, publishing an event would only build it and
    yield to the loop for nobody."""

    def __init__(self) -> None:
        super().__init__()
        self.listeners = 0

    def subscribe(self, listener: Callable[[ServerEvent], None]) -> Callable[[], None]:
        unsubscribe = super().subscribe(listener)
        self.listeners += 1
        done = False

        def counted_unsubscribe() -> None:
            nonlocal done
            if not done:  # the SDK's unsubscribe is idempotent: so is the count
                done = True
                self.listeners -= 1
            unsubscribe()

        return counted_unsubscribe


# The most resources one connection may subscribe to, and the longest URI it may name:
# what a client subscribes to is kept for as long as it is connected.
SUBSCRIPTIONS_PER_CONNECTION = 1000
SUBSCRIBED_URI_MAX = 512
# Every URI Maestro notifies starts so (resources.py).
_OURS = "maestro://"


class LegacySubscriptions:
    """Who called ``resources/subscribe`` for what. Connections are held weakly: one
    that goes away without unsubscribing is simply forgotten. What one connection may
    hold is bounded: only Maestro's URIs, at most ``SUBSCRIPTIONS_PER_CONNECTION``."""

    def __init__(self, limits: OutboxLimits) -> None:
        self._by_uri: dict[str, weakref.WeakSet[Connection]] = {}
        self._of: weakref.WeakKeyDictionary[Connection, set[str]] = weakref.WeakKeyDictionary()
        self.outboxes = Outboxes(limits)

    async def subscribe(
        self, ctx: ServerRequestContext[object, object], params: SubscribeRequestParams
    ) -> EmptyResult:
        uri = str(params.uri)
        if not uri.startswith(_OURS) or len(uri) > SUBSCRIBED_URI_MAX:
            raise MCPError(INVALID_PARAMS, f"there is no resource {uri[:80]!r} to subscribe to")
        connection = connection_of(ctx.session)
        mine = self._of.setdefault(connection, set())
        if uri not in mine and len(mine) >= SUBSCRIPTIONS_PER_CONNECTION:
            raise MCPError(
                INVALID_PARAMS,
                f"a connection subscribes to at most {SUBSCRIPTIONS_PER_CONNECTION} "
                "resources: unsubscribe from some first",
            )
        mine.add(uri)
        self._by_uri.setdefault(uri, weakref.WeakSet()).add(connection)
        return EmptyResult()

    async def unsubscribe(
        self, ctx: ServerRequestContext[object, object], params: UnsubscribeRequestParams
    ) -> EmptyResult:
        uri = str(params.uri)
        connection = connection_of(ctx.session)
        self._of.get(connection, set()).discard(uri)
        connections = self._by_uri.get(uri)
        if connections is not None:
            connections.discard(connection)
            if not connections:
                del self._by_uri[uri]
        return EmptyResult()

    def __bool__(self) -> bool:
        """Whether any connection is subscribed to anything (URIs whose connections all
        went away are forgotten on the way)."""
        for uri in [u for u, connections in self._by_uri.items() if not connections]:
            del self._by_uri[uri]
        return bool(self._by_uri)

    def notify(self, uris: Iterable[str]) -> None:
        """Queue each subscriber's URIs among ``uris`` in its outbox, without waiting."""
        by_connection: defaultdict[Connection, list[str]] = defaultdict(list)
        for uri in uris:
            for connection in self._by_uri.get(uri, ()):
                by_connection[connection].append(uri)
        for connection, its_uris in by_connection.items():
            self.outboxes.put(connection, its_uris)

    def running(self) -> contextlib.AbstractAsyncContextManager[None]:
        """Send the outboxes until the block ends."""
        return self.outboxes.running()


# How long the notifier waits to subscribe again when the feed cannot read the log.
RESUBSCRIBE_WAIT_S = 0.5


class ChangeNotifier:
    def __init__(self, feed: Feed, bus: ListenedBus, legacy: LegacySubscriptions) -> None:
        self.feed = feed
        self.bus = bus
        self.legacy = legacy

    async def run(self) -> None:
        away = False
        while True:
            try:
                subscriber = self.feed.subscribe()  # it reads the log: the database may be away
            except Exception as exc:
                if not away:
                    log.warning("MCP change notifications wait for the database: %s", exc)
                away = True
                await asyncio.sleep(RESUBSCRIBE_WAIT_S)
                continue
            away = False
            try:
                while True:
                    await self.handle(await subscriber.next_batch())
            except SubscriberOverflow:
                # Notifications are cues to refetch, not a log: carry on from the head.
                log.warning("MCP change notifications fell behind; some were coalesced")
            except FeedClosed:
                return
            finally:
                self.feed.unsubscribe(subscriber)

    async def handle(self, batch: list[StoredEvent]) -> None:
        """Tell the listeners which resources a batch of events changed."""
        if not self.bus.listeners and not self.legacy:
            return  # nobody to tell: not even worth reading the events
        try:
            await self.publish(_unique(uri for e in batch for uri in uris_changed_by(e)))
        except Exception:
            # One bad batch must not silence every later notification.
            log.exception("MCP change notifications failed for a batch")

    async def publish(self, uris: Iterable[str]) -> None:
        uris = list(uris)
        self.legacy.notify(uris)
        for uri in uris:
            await self.bus.publish(ResourceUpdated(uri=uri))

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        async with self.legacy.running():
            task = asyncio.create_task(self.run(), name="maestro-mcp-notifier")
            try:
                yield
            finally:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task


def _unique(uris: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(uris))
