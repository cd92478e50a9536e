"""The core, assembled once: the one place that builds the store, the feed, the
service and the group-commit writer, and starts and stops them in one order.

``maestro serve``, ``maestro mcp`` (stdio), the tests and the benchmarks all use
``Core``; faces receive it, they never build any of its parts. Nothing else
constructs a store, a ``Feed`` or a ``Service`` (tests of those classes aside).

    async with Core(settings) as core:
        task = await core.write(partial(core.service.create_task, data), actor="alice")
        tasks = await core.read(partial(core.service.list_tasks, where))

Start: make the data directory private (maestro_mcp/private_files.py), migrate the
schema (the store makes its files private), start the feed (it reads the head), start
the writer, load the named tokens (core/token_book.py: the book then follows the
feed), then the chores (the lease reaper, the pruner). Stop: the chores, the token
book, then new reads are refused and the ones in flight finish, then the writer (it
commits what is queued), the feed, and the store. A failure half-way through the start
undoes what started.
A core runs once: it cannot be entered twice, nor again after it stopped.

Every write of every face goes through ``write`` (group commit: one transaction per
batch, the caller answered after its COMMIT); ``read`` runs its operation in a worker
thread, off the loop, inside one read transaction: every service call it makes sees
the same snapshot.
"""

import asyncio
import contextlib
import logging
import threading
from collections.abc import Awaitable, Callable
from enum import StrEnum
from functools import partial
from types import TracebackType
from typing import Self, TypeVar

import anyio.to_thread

from ..private_files import private_directory
from ..settings import Settings
from .access import SYSTEM, acting
from .feed import Feed
from .group_commit import GroupCommit
from .service import Service
from .storage import Store, StoreUnavailable, TokenRecord
from .storage.location import open_store
from .token_book import TokenBook

log = logging.getLogger(__name__)

T = TypeVar("T")


class _State(StrEnum):
    NEW = "not started"
    STARTING = "starting"
    RUNNING = "running"
    STOPPING = "stopping"
    STOPPED = "stopped"


# Reads run once the store is open: from the start's last steps (the token book loads)
# until stopping begins.
_READABLE = frozenset({_State.STARTING, _State.RUNNING})


class Core:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.store: Store = open_store(settings.database, durability=settings.durability)
        self.feed = Feed(
            self.store,
            poll_interval=settings.poll_interval,
            max_queue=settings.max_queue,
            max_queue_bytes=settings.max_queue_bytes,
        )
        self.service = Service(
            self.store,
            on_commit=self.feed.notify,
            max_write_log_bytes=settings.max_write_log_bytes or None,  # 0: no bound
        )
        self.commits = GroupCommit(self.store)
        self.tokens = TokenBook(self.feed, self._any_tokens, self._token_by_hash)
        self._state = _State.NEW
        self._running: contextlib.AsyncExitStack | None = None
        # Reads running in worker threads, counted by the threads themselves: a caller
        # cancelled while its read runs (a client gone, a chore stopped) stops waiting,
        # but its thread goes on, and the store must not be closed under it.
        self._reading = 0
        self._readers = threading.Condition()
        self._chores: list[asyncio.Task[None]] = []  # the reaper and the pruner

    async def read(self, operation: Callable[[], T]) -> T:
        """Run ``operation`` (reads of the service) off the event loop, in one snapshot."""
        if self._state not in _READABLE:
            raise RuntimeError(f"the core is {self._state.value}: it takes no reads")
        return await anyio.to_thread.run_sync(self._snapshot, operation)

    def _snapshot(self, operation: Callable[[], T]) -> T:
        def in_snapshot() -> T:
            with self.store.read():  # the service's own reads join this one
                return operation()

        return self._counted(in_snapshot)

    def _counted(self, operation: Callable[[], T]) -> T:
        """Run ``operation`` in this worker thread, counted: the store is not closed
        under it."""
        with self._readers:
            if self._state not in _READABLE:  # stopping began while it waited to run
                raise RuntimeError(f"the core is {self._state.value}: it takes no reads")
            self._reading += 1
        try:
            return operation()
        finally:
            with self._readers:
                self._reading -= 1
                self._readers.notify_all()

    async def _outside_transactions(self, operation: Callable[[], T]) -> T:
        """Run ``operation`` (of the store) off the loop, in no transaction."""
        return await anyio.to_thread.run_sync(self._counted, operation)

    async def write(
        self, operation: Callable[[], T], *, actor: str, reads: tuple[str, ...] = ()
    ) -> T:
        """Run a write of the service in the next group-commit batch; its result comes
        back once that batch is committed. ``actor``: who makes it, named in its events
        (core/access.py). ``reads``: ids of the entities it reads first, fetched with the
        batch's other writes' where the store gains by it."""
        return await self.commits.run(partial(acting, actor, operation), reads=reads)

    # --- lifecycle ------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        if self._state is not _State.NEW:
            raise RuntimeError(f"the core is {self._state.value}: a core runs once")
        self._state = _State.STARTING  # before the first await: a second entry is refused
        async with contextlib.AsyncExitStack() as stack:
            stack.callback(self._stopped)
            stack.callback(self.store.close)
            if self.settings.data_dir is not None:
                data_dir = partial(private_directory, self.settings.data_dir, ours=True)
                await anyio.to_thread.run_sync(data_dir)
            await anyio.to_thread.run_sync(self.store.migrate)
            await self.feed.start()
            stack.push_async_callback(self.feed.stop)
            await self.commits.start()
            stack.push_async_callback(self.commits.stop)
            stack.push_async_callback(self._no_more_reads)
            await self.tokens.start()  # whether any token exists: the start's last read
            stack.push_async_callback(self.tokens.stop)
            for name, chore, interval in (
                ("maestro-reap", self._reap, self.settings.reap_interval),
                ("maestro-prune", self._prune, self.settings.prune_interval),
            ):
                task = asyncio.create_task(_every(interval, chore, name), name=name)
                self._chores.append(task)
                stack.push_async_callback(_cancelled, task)
            self._running = stack.pop_all()
        self._state = _State.RUNNING
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        running, self._running = self._running, None
        if running is not None:
            # The chores first: one in the middle of a pass would otherwise meet a core
            # that refuses it, and log that as its failure.
            for task in self._chores:
                await _cancelled(task)
            self._state = _State.STOPPING
            await running.aclose()

    async def _no_more_reads(self) -> None:
        with self._readers:
            self._state = _State.STOPPING
        await anyio.to_thread.run_sync(self._wait_for_readers)

    def _wait_for_readers(self) -> None:
        with self._readers:
            self._readers.wait_for(lambda: self._reading == 0)

    def _stopped(self) -> None:
        self._state = _State.STOPPED

    # --- the token book's reads -------------------------------------------------------

    async def _any_tokens(self) -> bool:
        return (await self.read(self.service.any_tokens)).value

    async def _token_by_hash(self, digest: str) -> TokenRecord | None:
        return (await self.read(partial(self.service.token_by_hash, digest))).value

    # --- chores -----------------------------------------------------------------------

    async def _reap(self) -> None:
        """Release claims and file reservations whose lease ran out, and answer with
        their defaults the questions whose deadline passed, so their events say so and
        boards (and waiting agents) hear it.

        Reads never wait for this (an expired claim or reservation already counts as
        released), so it only needs to run often enough for people to see leases end on
        time; one read finds all three, and most passes find nothing.
        """
        overdue = (await self.read(self.service.overdue)).value
        if overdue.claims:
            await self.write(self.service.expire_claims, actor=SYSTEM)
        if overdue.reservations:
            await self.write(self.service.expire_reservations, actor=SYSTEM)
        if overdue.questions:
            await self.write(self.service.expire_questions, actor=SYSTEM)

    async def _prune(self) -> None:
        """Apply the log's retention, then give the space back where the store must be
        told to. What goes is found in a read first: measuring the log's bytes reads it,
        and the writes of the batch it would run in would wait meanwhile."""
        settings = self.settings
        keep_events = settings.event_retention
        keep_bytes = settings.event_retention_bytes or None  # 0: no bound
        max_age_ms = settings.event_retention_age * 1000 or None
        found = partial(self.service.prunable, keep_events=keep_events)
        through = await self.read(partial(found, keep_bytes=keep_bytes, max_age_ms=max_age_ms))
        await self.write(
            partial(
                self.service.prune,
                keep_events=keep_events,
                keep_bytes=keep_bytes,
                max_age_ms=max_age_ms,
                through=through.value,
            ),
            actor=SYSTEM,
        )
        await self._outside_transactions(self.store.reclaim)


async def _every(interval: float, chore: Callable[[], Awaitable[None]], name: str) -> None:
    """Run ``chore`` every ``interval`` seconds. A failure is logged and the next pass
    retries; a database out of reach (``StoreUnavailable``: restarting, failing over) is
    no bug, so it is one warning per outage, without a traceback, as the feed says it."""
    unavailable = False
    while True:
        try:
            await chore()
        except StoreUnavailable as exc:
            if not unavailable:
                log.warning("%s: %s; will retry", name, exc)
            unavailable = True
        except Exception:
            log.exception("%s failed; will retry", name)
        else:
            unavailable = False
        await asyncio.sleep(interval)


async def _cancelled(task: "asyncio.Task[None]") -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
