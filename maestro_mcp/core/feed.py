"""The feed: tails the event log and fans each event out to live subscribers.

It runs on the server's event loop with a connection of its own (the store's
``LogReader``). It wakes at once when this process commits (``notify``), when the
database tells it another process did (PostgreSQL: ``LISTEN``), and polls the
reader's change token, which changes when anyone else commits (SQLite:
``PRAGMA data_version``; PostgreSQL: the head), so a CLI, a stdio MCP process or
another instance writing the same database reaches every subscriber.

Each subscriber has a bounded queue of already-encoded events. One that falls
too far behind is cut off instead of slowing the feed or growing memory; it
resumes from its last seq with a replay read from the log.

A subscriber whose transport can take bytes without waiting (a WebSocket or an
SSE stream whose socket the server writes directly) attaches instead, with an
``Encoding`` (how its transport writes a batch: the same bytes for every client of
that transport) and a ``Writer`` (its client's socket). The feed keeps attached
subscribers grouped by project filter and encoding, so each batch is filtered once
per filter and encoded once per group, and each client costs one call of its
writer: with thousands of clients, that loop is the feed's whole cost (issue #16,
docs/performance.md "Fan-out").

What an idle live client holds is kept small (it is multiplied by every client a
server serves): a subscriber's signals are plain flags with waiters made only when
someone waits, not ``asyncio.Event``s with a deque each.
"""

import asyncio
import contextlib
import logging
import threading
from collections.abc import AsyncIterator, Callable
from enum import StrEnum

from .events import READ_BATCH, StoredEvent
from .storage import LogReader, Store, StoreUnavailable

log = logging.getLogger(__name__)

DEFAULT_POLL_INTERVAL = 0.05
DEFAULT_MAX_QUEUE = 4096
DEFAULT_MAX_QUEUE_BYTES = 16 * 1024 * 1024
READ_BYTES = 8 * 1024 * 1024


class ResetReason(StrEnum):
    """Why a subscriber gets ``sync:reset`` and what it should do next."""

    SLOW_CONSUMER = "slow_consumer"  # resume from your last seq
    EXPIRED = "expired"  # `since` is older than the retained log: refetch, then resume
    UNKNOWN_SEQ = "unknown_seq"  # `since` is ahead of this log (another database?): refetch
    # The client's seqs belong to another history of the log (a restored backup, another
    # database at the same address): refetch, and forget the old epoch.
    NEW_HISTORY = "new_history"


class SubscriberOverflow(Exception):
    pass


class FeedClosed(Exception):
    pass


class ReplayExpired(Exception):
    """Events to replay were pruned from the log: the subscriber must refetch."""


# A batch of events as one transport sends them: the same bytes for every client of it
# (WebSocket frames, an SSE chunk). Subscribers attached with the same encoding (the same
# function) and filter share one call of it per batch.
Encoding = Callable[[list[StoredEvent]], bytes]
# Takes a batch's bytes for one client at once; False when the client is too far behind
# to take more (it is then cut off).
Writer = Callable[[bytes], bool]
# Sees every batch the feed dispatches, and None when it may have missed some: the
# log's history changed, or it could not read the log for a while.
Watcher = Callable[[list[StoredEvent] | None], None]


class Signal:
    """A flag that, once raised, stays raised; coroutines may wait for it. Lighter than
    ``asyncio.Event`` (no deque per instance): a future is made only for a waiter."""

    __slots__ = ("_raised", "_waiters")

    def __init__(self) -> None:
        self._raised = False
        self._waiters: list[asyncio.Future[None]] | None = None

    def is_set(self) -> bool:
        return self._raised

    def set(self) -> None:
        if self._raised:
            return
        self._raised = True
        waiters, self._waiters = self._waiters, None
        for waiter in waiters or ():
            if not waiter.done():
                waiter.set_result(None)

    async def wait(self) -> None:
        if self._raised:
            return
        waiter = asyncio.get_running_loop().create_future()
        if self._waiters is None:
            self._waiters = []
        self._waiters.append(waiter)
        try:
            await waiter
        finally:
            if self._waiters is not None and waiter in self._waiters:
                self._waiters.remove(waiter)


class Subscriber:
    __slots__ = (
        "_bytes",
        "_closed",
        "_cut_off",
        "_encoding",
        "_feed",
        "_on_cut_off",
        "_queue",
        "_wake",
        "max_bytes",
        "max_queue",
        "overflowed",
        "owner",
        "project_id",
        "start_seq",
    )

    def __init__(
        self,
        feed: "Feed",
        project_id: str | None,
        max_queue: int,
        start_seq: int,
        max_bytes: int,
        owner: str | None = None,
    ) -> None:
        self._feed = feed
        self.project_id = project_id  # change it with refilter()
        self.owner = owner  # the name of the token its client came with
        self.max_queue = max_queue
        self.max_bytes = max_bytes
        self._bytes = 0
        self.start_seq = start_seq  # the head when it subscribed; live events follow it
        # A list, not a deque: it is taken whole, and an empty list is 10 times smaller.
        self._queue: list[StoredEvent] = []
        self._wake: asyncio.Event | None = None  # made by the first next_batch()
        self._cut_off = Signal()
        self._closed = Signal()
        self._on_cut_off: Callable[[], None] | None = None
        self._encoding: Encoding | None = None  # set once attached
        self.overflowed = False

    @property
    def closed(self) -> bool:
        return self._closed.is_set()

    @property
    def attached(self) -> bool:
        return self._encoding is not None

    def attach(self, encoding: Encoding, write: Writer) -> None:
        """Deliver through ``write`` from now on, each batch encoded by ``encoding``,
        starting with what is queued.

        Call it from the event loop once the replay is sent: nothing can be dispatched
        between draining the queue and attaching, so the order of events is kept.
        """
        if self.overflowed:
            raise SubscriberOverflow
        if self.closed:
            raise FeedClosed
        queued, self._queue = self._queue, []
        self._bytes = 0
        if queued and not self._write_at_once(write, encoding, queued):
            self._overflow()
            raise SubscriberOverflow
        self._feed._attach(self, encoding, write)
        self._encoding = encoding

    @staticmethod
    def _write_at_once(write: Writer, encoding: Encoding, events: list[StoredEvent]) -> bool:
        try:
            return write(encoding(events))
        except Exception:
            # One broken client must not stop the feed for every other one.
            log.exception("feed: a subscriber's writer failed; cutting it off")
            return False

    def refilter(self, project_id: str | None) -> None:
        """Receive the events of ``project_id`` only (None: every event) from the next batch."""
        self._feed._refilter(self, project_id)

    def enqueue(self, events: list[StoredEvent]) -> None:
        """Take the events of a batch meant for it (the feed applied its filter) into its
        queue, until its consumer takes them (a subscriber not attached)."""
        if self.overflowed or self.closed:
            return
        for event in events:
            size = len(event.payload)
            if len(self._queue) >= self.max_queue or self._bytes + size > self.max_bytes:
                self._overflow()
                return
            self._queue.append(event)
            self._bytes += size
        if self._wake is not None:
            self._wake.set()

    def _overflow(self) -> None:
        self.overflowed = True
        self._queue.clear()  # release the references now, not when it disconnects
        self._bytes = 0
        self._feed._detach(self)
        self._cut()

    def close(self) -> None:
        self._feed._detach(self)
        self._closed.set()
        self._cut()

    def _cut(self) -> None:
        if self._wake is not None:
            self._wake.set()
        if self._cut_off.is_set():
            return
        self._cut_off.set()
        callback, self._on_cut_off = self._on_cut_off, None
        if callback is not None:
            try:
                callback()
            except Exception:
                log.exception("feed: a subscriber's cut-off callback failed")

    def on_cut_off(self, callback: Callable[[], None] | None) -> None:
        """Call ``callback`` (once, synchronously) when it overflows or is closed; at once
        if it already was. None forgets a callback given before."""
        if callback is not None and self._cut_off.is_set():
            callback()
            return
        self._on_cut_off = callback

    async def wait_closed(self) -> None:
        """Return once it was closed: unsubscribed, or the server is shutting down."""
        await self._closed.wait()

    async def wait_cut_off(self) -> None:
        """Return once it overflowed or was closed: its consumer may be stuck in a send."""
        await self._cut_off.wait()

    def pending(self) -> int:
        return len(self._queue)

    async def next_batch(self) -> list[StoredEvent]:
        """Every queued event, waiting for one if none is queued."""
        if self._wake is None:
            self._wake = asyncio.Event()
        while not self._queue:
            if self.overflowed:
                raise SubscriberOverflow
            if self.closed:
                raise FeedClosed
            self._wake.clear()
            await self._wake.wait()
        if self.overflowed:
            raise SubscriberOverflow
        batch, self._queue = self._queue, []
        self._bytes = 0
        return batch


class Feed:
    def __init__(
        self,
        store: Store,
        *,
        poll_interval: float = DEFAULT_POLL_INTERVAL,
        max_queue: int = DEFAULT_MAX_QUEUE,
        max_queue_bytes: int = DEFAULT_MAX_QUEUE_BYTES,
    ) -> None:
        self.store = store
        self.poll_interval = poll_interval
        self.max_queue = max_queue
        self.max_queue_bytes = max_queue_bytes
        self._closing = False
        self.head = 0
        self.epoch = ""  # the log's history (Store.epoch), read at start
        self._subscribers: set[Subscriber] = set()
        # Attached subscribers, by project filter, then by encoding: each one's writer.
        self._attached: dict[str | None, dict[Encoding, dict[Subscriber, Writer]]] = {}
        self._queued: set[Subscriber] = set()  # the subscribers not attached
        self._watchers: list[Watcher] = []
        self._log: LogReader | None = None
        self._change_token = -1
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None
        self._wake_scheduled = False
        self._task: asyncio.Task[None] | None = None
        # What wake-ups said: the newest seq this process committed, and how many came
        # without one. A wake-up for seqs dispatched already reads nothing.
        self._told_lock = threading.Lock()
        self._told_upto = 0
        self._unknown_news = 0
        self._unknown_seen = 0

    # --- lifecycle --------------------------------------------------------------

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        # A backend told of others' commits (PostgreSQL's LISTEN) wakes the feed at once;
        # the poll of the change token stays as the backstop.
        self._log = self.store.log_reader(on_change=self.notify)
        # The token first: a commit landing between the two reads is then seen as new.
        self._change_token = self._log.change_token()
        self.head = self._log.head()
        self.epoch = self.store.epoch()
        self._task = asyncio.create_task(self._run(), name="maestro-feed")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        self.close_subscribers()
        if self._log is not None:
            self._log.close()
            self._log = None

    def close_subscribers(self) -> None:
        """End every live stream (at shutdown); each client resumes elsewhere by seq."""
        self._closing = True
        self._end_streams()

    def _end_streams(self) -> None:
        """Close every subscriber: each stream ends, and its client resumes by seq."""
        for subscriber in list(self._subscribers):
            subscriber.close()
        self._subscribers.clear()
        self._queued.clear()

    def notify(self, seq: int | None = None) -> None:
        """Wake the feed: something was committed, reaching ``seq`` when the caller
        knows it (this process's commits), else anything. Safe from any thread."""
        if seq is None:
            self._unknown_news += 1
        else:
            with self._told_lock:
                self._told_upto = max(self._told_upto, seq)
            if seq <= self.head:
                # Read already: a batch's commits are told one by one, and the first one's
                # wake-up can have the feed read them all before the next is told (on one
                # core, the loop runs the moment it is woken). Waking it again for each
                # would split the batch's fan-out into as many writes per client.
                return
        loop, wake = self._loop, self._wake
        if loop is None or wake is None or loop.is_closed():
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            wake.set()
        elif not self._wake_scheduled:
            # One cross-thread call per burst of commits: the feed reads all of them.
            self._wake_scheduled = True
            with contextlib.suppress(RuntimeError):  # loop closing during shutdown
                loop.call_soon_threadsafe(self._wake_from_thread)

    def _wake_from_thread(self) -> None:
        # Cleared before the wake: a commit whose notify() saw the flag still set
        # was committed before this runs, so the pump that follows reads it.
        self._wake_scheduled = False
        if self._wake is not None:
            self._wake.set()

    async def _run(self) -> None:
        assert self._wake is not None
        failing = False
        while True:
            # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow the cancellation
            # that stop() sends when it races with a wake-up.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.poll_interval):
                    await self._wake.wait()
            notified = self._wake.is_set()
            self._wake.clear()
            if notified and not failing and not self._news():
                continue
            try:
                if failing:
                    # Back from an outage: the database may not be the one we left (a
                    # restored backup) before we read anything from it.
                    self.check_history()
                # A local commit woke us: something is new, no need to ask the store.
                self.pump(known_change=notified)
            except Exception as exc:
                # A transient error (e.g. the file briefly locked by a checkpoint, a
                # database restarting) must not kill the feed; the next wake or poll reads
                # from where it stopped. Said once per outage, not at every poll.
                if not failing:
                    log.warning(
                        "feed: reading the event log failed (%s); retrying",
                        exc,
                        exc_info=not isinstance(exc, StoreUnavailable),
                    )
                failing = True
            else:
                if failing:
                    log.warning("feed: reading the event log again")
                    # Events may have been pruned past while it could not read: the
                    # feed's own parts (watchers) start over from what is stored.
                    self._show(None)
                failing = False

    def _news(self) -> bool:
        """Whether the wake-ups since the last look may be about seqs not dispatched yet
        (several commits often wake the feed once more after it read them all)."""
        unknown = self._unknown_news
        if unknown != self._unknown_seen:
            self._unknown_seen = unknown
            return True
        return self._told_upto > self.head

    def check_history(self) -> bool:
        """Whether the log's history changed under the feed (the database was restored
        from a backup, or failed over to a replica that was behind, while this process
        ran): then the feed starts over from the new head, and every stream is ended so
        that its client comes back with its epoch and is reset (``new_history``)
        instead of taking the new history's events as the next ones. Called after an
        outage, before anything is read, and when the log changed but nothing new was
        in it.

        A backup restored in place (into the same database) keeps the epoch; its log
        is then behind what the feed already sent. That gives the log a new epoch
        (``Store.renew_epoch``), for every instance and every client."""
        assert self._log is not None
        epoch = self.store.epoch()
        if epoch == self.epoch:
            if self._log.head() >= self.head:
                return False
            epoch = self.store.renew_epoch(epoch)
        log.warning(
            "feed: the database's history changed (restored or failed over?): clients start over"
        )
        self._change_token = self._log.change_token()
        self.head = self._log.head()
        self.epoch = epoch
        self._end_streams()
        self._show(None)
        return True

    # --- tailing ------------------------------------------------------------------

    def pump(self, *, known_change: bool = False) -> int:
        """Dispatch every committed event not yet dispatched; returns how many.

        ``known_change``: this process just committed, so skip the change-token check
        (the next poll then reads once more and finds nothing, which is cheap).
        """
        log = self._log
        if log is None:
            return 0
        token = self._change_token if known_change else log.change_token()
        if not known_change and token == self._change_token:
            return 0
        count = 0
        while True:
            batch = log.read_after(self.head, READ_BATCH, max_bytes=READ_BYTES)
            if batch and batch[0].seq != self.head + 1:
                self._fell_behind(batch[0].seq)
            if batch:
                self.head = batch[-1].seq
                self._dispatch(batch)
            count += len(batch)
            full = len(batch) == READ_BATCH or sum(len(e.payload) for e in batch) >= READ_BYTES
            if not full:
                if not count and not known_change and log.head() < self.head:
                    # Changed, with nothing after what was sent: the log was rewound (a
                    # restore in place that kept the connections). check_history renews.
                    self.check_history()
                    return 0
                # Only now: if a read fails, the next poll sees the token change again.
                self._change_token = token
                return count

    def _fell_behind(self, next_seq: int) -> None:
        """The events after the feed's head were pruned before it read them (it could not
        read the log for a while, and another process pruned meanwhile): no subscriber
        may take the next ones as the next ones. Each stream is ended; its client
        resumes from its last seq and is told to refetch (``expired``)."""
        log.warning(
            "feed: events %d to %d were pruned before this process read them: its clients refetch",
            self.head + 1,
            next_seq - 1,
        )
        self._end_streams()
        self._show(None)

    def _dispatch(self, batch: list[StoredEvent]) -> None:
        self._show(batch)
        by_project: dict[str, list[StoredEvent]] | None = None

        def events_for(project_id: str | None) -> list[StoredEvent] | None:
            nonlocal by_project
            if project_id is None:
                return batch
            if by_project is None:
                # The batch split by project once, for every filter that needs it.
                by_project = {}
                for event in batch:
                    if event.project_id is not None:
                        by_project.setdefault(event.project_id, []).append(event)
            return by_project.get(project_id)

        # Attached subscribers: one encoding per filter and transport, one write each.
        for project_id, encodings in tuple(self._attached.items()):
            events = events_for(project_id)
            if not events:
                continue
            for encoding, writers in tuple(encodings.items()):
                try:
                    data = encoding(events)
                except Exception:
                    # Its clients cannot take this batch: they are cut off (and resume
                    # from their last seq), not left to miss it; the others go on.
                    log.exception("feed: encoding a batch failed; cutting its clients off")
                    for subscriber in tuple(writers):
                        subscriber._overflow()
                    continue
                behind = []
                for subscriber, write in tuple(writers.items()):
                    try:
                        if write(data):
                            continue
                    except Exception:
                        # One broken client must not stop the feed for every other one.
                        log.exception("feed: a subscriber's writer failed; cutting it off")
                    behind.append(subscriber)
                for subscriber in behind:
                    subscriber._overflow()
        # The others queue the events for their consumer.
        for subscriber in tuple(self._queued):
            events = events_for(subscriber.project_id)
            if events:
                subscriber.enqueue(events)

    def _attach(self, subscriber: Subscriber, encoding: Encoding, write: Writer) -> None:
        if subscriber not in self._subscribers:
            raise FeedClosed  # unsubscribed meanwhile (it was closed: attach() says so first)
        self._queued.discard(subscriber)
        by_encoding = self._attached.setdefault(subscriber.project_id, {})
        by_encoding.setdefault(encoding, {})[subscriber] = write

    def _detach(self, subscriber: Subscriber) -> Writer | None:
        encoding = subscriber._encoding
        if encoding is None:
            return None
        by_encoding = self._attached.get(subscriber.project_id)
        if by_encoding is None:
            return None
        writers = by_encoding.get(encoding)
        write = writers.pop(subscriber, None) if writers is not None else None
        if writers is not None and not writers:
            del by_encoding[encoding]
            if not by_encoding:
                del self._attached[subscriber.project_id]
        return write

    def _refilter(self, subscriber: Subscriber, project_id: str | None) -> None:
        write = self._detach(subscriber)
        subscriber.project_id = project_id
        if write is not None and subscriber._encoding is not None:
            self._attach(subscriber, subscriber._encoding, write)

    # --- subscribing ----------------------------------------------------------------

    def _show(self, batch: list[StoredEvent] | None) -> None:
        for watcher in self._watchers:
            try:
                watcher(batch)
            except Exception:  # a bug there must not stop the feed for every client
                log.exception("feed: a watcher failed")

    def watch(self, watcher: Watcher) -> None:
        """Show ``watcher`` every batch from now on, on the loop, before any subscriber
        gets it; and None when it may have missed some (``check_history``, an outage
        ended). For the core's
        own parts (core/token_book.py): it is no client, is never cut off and must be
        quick."""
        self._watchers.append(watcher)

    def subscribe(self, project_id: str | None = None, owner: str | None = None) -> Subscriber:
        """A subscriber that receives every event after the current head; ``owner``: the
        name of the token its client came with (``close_owned_by``).

        The feed first catches up with the log, so the head is at least the seq of
        any write already acknowledged to a client of this process.
        """
        self.pump()
        subscriber = Subscriber(
            self, project_id, self.max_queue, self.head, self.max_queue_bytes, owner=owner
        )
        if self._closing:
            subscriber.close()  # shutting down: a stream opened now ends at once
        else:
            self._subscribers.add(subscriber)
            self._queued.add(subscriber)
        return subscriber

    def close_owned_by(self, owner: str) -> int:
        """End the streams of the clients that came with the token ``owner`` (revoked):
        each client is told to resume, and is refused when it comes back. How many."""
        owned = [s for s in self._subscribers if s.owner == owner]
        for subscriber in owned:
            self._forget(subscriber)
        return len(owned)

    def unsubscribe(self, subscriber: Subscriber) -> None:
        self._forget(subscriber)

    def _forget(self, subscriber: Subscriber) -> None:
        self._subscribers.discard(subscriber)
        self._queued.discard(subscriber)
        subscriber.close()

    @property
    def subscriber_count(self) -> int:
        return len(self._subscribers)

    @property
    def subscribers(self) -> tuple[Subscriber, ...]:
        return tuple(self._subscribers)

    def resume_problem(
        self, since: int, until: int, epoch: str | None = None
    ) -> ResetReason | None:
        """Why events after ``since`` (a seq of history ``epoch``, if the client says)
        cannot be replayed up to ``until``, or None if they can."""
        if epoch is not None and epoch != self.epoch:
            return ResetReason.NEW_HISTORY
        if since > until:
            return ResetReason.UNKNOWN_SEQ
        if since == until:
            return None
        assert self._log is not None
        oldest = self._log.oldest()
        if oldest is None or since + 1 < oldest:
            return ResetReason.EXPIRED
        return None

    async def replay(
        self, since: int, until: int, project_id: str | None = None
    ) -> AsyncIterator[list[StoredEvent]]:
        """Events with since < seq <= until, in order, in batches read from the log."""
        after = since
        while after < until:
            assert self._log is not None
            batch = self._log.read_after(after, READ_BATCH, max_bytes=READ_BYTES)
            batch = [e for e in batch if e.seq <= until]
            if not batch or batch[0].seq != after + 1:
                # Retention pruned the log while we replayed it: events are gone.
                raise ReplayExpired
            after = batch[-1].seq
            if project_id is not None:
                batch = [e for e in batch if e.project_id == project_id]
            if batch:
                yield batch
            await asyncio.sleep(0)  # let other connections make progress during a long replay
