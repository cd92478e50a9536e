"""Group commit: one writer thread runs the writes that arrive together as one transaction.

A server with several writes in flight spent much of each write handing it to a
worker thread and back, committing it alone, and waking the feed for it. Here
writes queue for one thread, which takes everything queued, runs each operation
in its own savepoint of a single transaction (``Store.batch``), commits once,
and then settles every caller's future with one call into the event loop.

Durability is unchanged: a caller hears of its write only after the COMMIT that
holds it. An operation that fails is rolled back alone and its caller gets its
error; the others in the batch still commit. If the COMMIT itself fails, or the
database drops the whole transaction (SQLite: disk full), every operation in the batch fails with
that error and nothing of it was written.

An operation that meets a lock another transaction holds (``Contended``: another
instance on a shared database) is undone and runs again at the head of the next
batch, where it holds no other lock and may wait for that one without risk of a
deadlock. Its caller only hears of the run that committed.

A batch first runs *careless* (``Store.batch(careful=False)``): the backend need
not wait for a write's statements at its end (PostgreSQL: one round trip less per
write). A failure it then cannot pin on one write undoes the whole batch
(``BatchUndone``), which runs again at once, carefully; its callers only hear of
that run. (SQLite: a write refused after it changed rows, a ``TooLarge`` one among
them, so costs its batch's writes a second run; a write that large costs far more
itself.)

A write may name the entities it will read (``run(..., reads=...)``): the batch passes
them all to ``Store.batch(reads=...)``, so that a backend whose reads cost a round trip
(PostgreSQL) can fetch them together instead of one round trip per write.

**Gathering** (``Gathering``). With several writers each keeping a write in flight,
batches settled into two halves taking turns: while one half committed, the other
queued. Every batch pays the same fixed cost (PostgreSQL: BEGIN, the project's lock,
the append and COMMIT, two round trips), so halves cost more per write than one batch
of all. The writer therefore remembers how many writes were in flight at the end of
each of the last ``RECENT_BATCHES`` batches (the batch and those queued behind it).
While a batch has fewer writes than the most of them, it waits for more, for at most
as long as the last batch took and never more than ``GATHER_MAX_S``: a write arriving
in that time would otherwise wait about as long for the next batch. A writer alone
does not wait; a wait that no write joins forgets the history, so writes that once
overlapped (two agents at the same moment, a chore) cost the next lone write one
wait, at most. Where the clock or lock timeouts are too coarse for a bound of
milliseconds (Windows), batches do not wait.
"""

import asyncio
import contextlib
import queue
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any, NamedTuple, TypeVar

from .storage import BatchUndone, Contended, Store

T = TypeVar("T")

# Bounds how long the first write of a batch waits for its COMMIT (with the gathering).
DEFAULT_MAX_BATCH = 64
MAX_FIRST_TRIES = 3  # deadlocks a write may lose while first in its batch before it fails
RECENT_BATCHES = 8  # batches whose writes in flight say how many to gather
# The longest a batch waits for writes to gather. Windows' timer ticks (≈ 15 ms) would
# turn it into a sleep of a tick: there, batches do not wait.
GATHER_MAX_S = 0.0 if sys.platform == "win32" else 0.002


class Gathering:
    """How many writes a batch waits for, and for how long (module docstring)."""

    def __init__(self, *, bound_s: float = GATHER_MAX_S) -> None:
        self.bound_s = bound_s
        self._in_flight: deque[int] = deque(maxlen=RECENT_BATCHES)
        self._last_batch_s = 0.0

    def ran(self, batch: int, queued: int, seconds: float) -> None:
        """A batch of ``batch`` writes ran in ``seconds``; ``queued`` waited behind it."""
        self._in_flight.append(batch + queued)
        self._last_batch_s = seconds

    def wanted(self) -> int:
        """How many writes the next batch waits for: the most recently in flight."""
        return max(self._in_flight, default=1)

    def wait_s(self) -> float:
        """The longest the next batch waits for them."""
        return min(self._last_batch_s, self.bound_s)

    def none_came(self) -> None:
        """A batch waited and no write joined it: the writes in flight were a passing
        overlap, not writers still at work."""
        self._in_flight.clear()


class _Job(NamedTuple):
    operation: Callable[[], Any]
    future: "asyncio.Future[Any]"
    reads: tuple[str, ...]  # ids of the entities it will read first (a hint)


_Outcome = tuple["asyncio.Future[Any]", Any, BaseException | None]


class GroupCommit:
    def __init__(
        self,
        store: Store,
        *,
        max_batch: int = DEFAULT_MAX_BATCH,
        gathering: Gathering | None = None,
    ) -> None:
        self.store = store
        self.max_batch = max_batch
        self.gathering = gathering or Gathering()
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self.batches = 0  # for tests and diagnostics: how many transactions it committed
        self.undone = 0  # and how many careless batches it had to run again carefully
        self.gathered = 0  # and how many waited for more writes (see Gathering)
        # Writes that lost a deadlock while first in their batch, and how often.
        self._first_tries: dict[asyncio.Future[Any], int] = {}
        self._stopped = False

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stopped = False
        self._thread = threading.Thread(target=self._work, name="maestro-writer", daemon=True)
        self._thread.start()

    async def stop(self) -> None:
        """Finish every write already queued, then end the writer thread."""
        thread, self._thread = self._thread, None
        if thread is None:
            return
        self._jobs.put(None)
        await asyncio.to_thread(thread.join)

    async def run(self, operation: Callable[[], T], *, reads: tuple[str, ...] = ()) -> T:
        """Run ``operation`` (which writes through ``Store.write``) in the next batch;
        return its result once that batch is committed. ``reads``: ids of entities it
        will read, which the batch may fetch ahead with the other writes' (a hint)."""
        if self._thread is None or self._loop is None or self._stopped:
            raise RuntimeError("group commit is not running")
        future: asyncio.Future[T] = self._loop.create_future()
        self._jobs.put(_Job(operation, future, reads))
        if self._stopped and not future.done():
            # The writer ended between the check above and the put: nobody will take it.
            future.set_exception(RuntimeError("group commit is not running"))
        # A caller cancelled while it waits still has its write committed, as a write
        # handed to a thread would; its outcome is then dropped (see _settle).
        return await future

    # --- the writer thread --------------------------------------------------------

    def _work(self) -> None:
        try:
            self._serve_batches()
        finally:
            # However the thread ends, no caller may wait forever for its answer.
            self._stopped = True
            stranded = RuntimeError("group commit stopped before this write ran")
            self._answer([(job.future, None, stranded) for job in self._drain() if job is not None])

    def _drain(self) -> list[_Job | None]:
        """Everything queued now, without waiting."""
        jobs: list[_Job | None] = []
        while True:
            try:
                jobs.append(self._jobs.get_nowait())
            except queue.Empty:
                return jobs

    def _serve_batches(self) -> None:
        stopping = False
        again: list[_Job] = []  # contended in the last batch: first in the next one
        while not stopping or again:
            if again:
                jobs, again = again, []
            else:
                job = self._jobs.get()
                if job is None:
                    break
                jobs = [job]
            if not stopping:
                stopping = self._gather(jobs)
            began = time.perf_counter()
            try:
                outcomes, again = self._commit(jobs)
            except BaseException as exc:  # not an Exception: still, answer every caller
                outcomes, again = [(job.future, None, exc) for job in jobs], []
            self.gathering.ran(len(jobs), self._jobs.qsize(), time.perf_counter() - began)
            self._answer(outcomes)

    def _gather(self, jobs: list[_Job]) -> bool:
        """Add the writes queued to ``jobs``, waiting for more while recent batches say
        more are in flight (module docstring, Gathering); True if the queue ended."""
        wanted = min(self.max_batch, self.gathering.wanted())
        deadline: float | None = None
        before = len(jobs)  # when the wait began
        while len(jobs) < self.max_batch:
            try:
                more = self._jobs.get_nowait()
            except queue.Empty:
                if len(jobs) >= wanted:
                    return False
                if deadline is None:
                    wait = self.gathering.wait_s()
                    if wait <= 0:
                        return False
                    self.gathered += 1
                    deadline = time.perf_counter() + wait  # once: the bound is per batch
                    before = len(jobs)
                try:
                    more = self._jobs.get(timeout=max(0.0, deadline - time.perf_counter()))
                except queue.Empty:
                    if len(jobs) == before:
                        self.gathering.none_came()
                    return False
            if more is None:
                return True
            jobs.append(more)
        return False

    def _answer(self, outcomes: list[_Outcome]) -> None:
        assert self._loop is not None
        with contextlib.suppress(RuntimeError):  # the loop closed under us at shutdown
            self._loop.call_soon_threadsafe(_settle, outcomes)

    def _once_more(self, future: "asyncio.Future[Any]", *, first: bool) -> bool:
        """Whether a contended write runs again (first in the next batch). Not first in
        its batch, it gave way to a lock: always. First, it waited for the lock, and a
        deadlock still chose it (over a key row, or a second lock of its own): a few
        times, then its caller hears of it (503: retry)."""
        tries = self._first_tries.get(future, 0) + first
        if tries >= MAX_FIRST_TRIES:
            return False
        self._first_tries[future] = tries
        return True

    def _commit(self, jobs: list[_Job]) -> tuple[list[_Outcome], list[_Job]]:
        """Run ``jobs`` in one transaction: the outcomes to answer, and the jobs to run
        again in the next one. First without waiting for each write's statements at its
        end; if that meets a failure it cannot pin on one write, nothing was kept and
        the batch runs again, each write's errors its own."""
        tries = {
            job.future: self._first_tries[job.future]
            for job in jobs
            if job.future in self._first_tries
        }
        try:
            return self._run_batch(jobs, careful=False)
        except BatchUndone:
            for job in jobs:  # the undone run counted for nothing
                self._first_tries.pop(job.future, None)
            self._first_tries.update(tries)
            self.undone += 1
            return self._run_batch(jobs, careful=True)

    def _run_batch(self, jobs: list[_Job], *, careful: bool) -> tuple[list[_Outcome], list[_Job]]:
        outcomes: list[_Outcome] = []
        again: list[_Job] = []
        reads = tuple(entity for job in jobs for entity in job.reads)
        try:
            with self.store.batch(careful=careful, reads=reads):
                for n, (operation, future, _) in enumerate(jobs):
                    try:
                        outcomes.append((future, operation(), None))
                    except BatchUndone:
                        raise
                    except Contended as exc:
                        if self._once_more(future, first=n == 0):
                            again.append(jobs[n])
                        else:
                            outcomes.append((future, None, exc))
                    except Exception as exc:
                        outcomes.append((future, None, exc))
        except BatchUndone:
            raise
        except Exception as exc:
            # BEGIN or COMMIT failed, or SQLite dropped the transaction: nothing of this
            # batch was written (or, OutcomeUnknown, nobody knows). Every write gets that
            # error, also those that had failed on their own: their errors described a
            # state that was never committed (or may not have been).
            for job in jobs:
                self._first_tries.pop(job.future, None)
            return [(job.future, None, exc) for job in jobs], []
        for future, _, _ in outcomes:
            self._first_tries.pop(future, None)
        self.batches += 1
        return outcomes, again


def _settle(outcomes: list[_Outcome]) -> None:
    for future, value, error in outcomes:
        if future.done():  # cancelled by its caller, or already answered
            continue
        if error is None:
            future.set_result(value)
        else:
            future.set_exception(error)
