"""Group commit: writes that arrive together share one transaction, and fail alone."""

import asyncio
import queue
import sqlite3
import threading
from collections.abc import AsyncIterator, Callable, Sequence
from functools import partial
from typing import Any

import anyio
import psycopg
import pytest

from maestro_mcp.core.errors import InvalidInput, NotFound
from maestro_mcp.core.group_commit import (
    GATHER_MAX_S,
    MAX_FIRST_TRIES,
    RECENT_BATCHES,
    Gathering,
    GroupCommit,
)
from maestro_mcp.core.models import ProjectCreate, ProjectPatch, TaskCreate, TaskPatch
from maestro_mcp.core.service import Service
from maestro_mcp.core.storage import Contended, OutcomeUnknown, Store, StoreUnavailable
from maestro_mcp.core.storage.location import open_store
from maestro_mcp.core.storage.postgres import PgStore
from maestro_mcp.core.storage.postgres.locks import lock_key
from maestro_mcp.core.storage.postgres.store import Transaction
from maestro_mcp.core.storage.sqlite import BatchAborted, SqliteStore
from tests.core.storage.sqlite_faults import fill_the_disk, poison_the_commit
from tests.support.waiting import WAIT

pytestmark = pytest.mark.anyio


@pytest.fixture
async def commits(db: Store) -> AsyncIterator[GroupCommit]:
    running = GroupCommit(db)
    await running.start()
    yield running
    await running.stop()


async def queue_as_one_batch(
    commits: GroupCommit, *operations: Callable[[], Any], reads: Sequence[tuple[str, ...]] = ()
) -> list["asyncio.Future[Any]"]:
    """Queue ``operations`` while the writer thread is held, so that it takes them as
    one batch; returns their futures once the writer took them (the batch before,
    which held it, is answered). ``reads``: what each operation says it reads."""
    entered, release = threading.Event(), threading.Event()

    def hold() -> None:
        entered.set()
        release.wait(10)

    holding = asyncio.ensure_future(commits.run(hold))
    await anyio.to_thread.run_sync(entered.wait)
    futures: list[asyncio.Future[Any]] = [
        asyncio.ensure_future(commits.run(operation, reads=read))
        for operation, read in zip(
            operations, [*reads, *[()] * (len(operations) - len(reads))], strict=True
        )
    ]
    await asyncio.sleep(0)  # every write reaches the queue
    release.set()
    with anyio.fail_after(10):
        await holding
    return futures


async def one_batch(
    commits: GroupCommit, *operations: Callable[[], Any]
) -> list["asyncio.Future[Any]"]:
    """``queue_as_one_batch``, returning once every operation is answered."""
    futures = await queue_as_one_batch(commits, *operations)
    with anyio.fail_after(10):
        await asyncio.wait(futures)
    return futures


async def test_a_batch_is_told_what_its_writes_will_read(
    db: Store, commits: GroupCommit, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Group commit passes the ids every write of the batch named to ``Store.batch``
    (which may fetch them together: tests/core/storage/test_read_ahead.py)."""
    told: list[tuple[str, ...]] = []
    batch = db.batch

    def telling(*, careful: bool = True, reads: tuple[str, ...] = ()) -> Any:
        told.append(reads)
        return batch(careful=careful, reads=reads)

    monkeypatch.setattr(db, "batch", telling)
    service = Service(db)
    names = ("a", "b", "c")
    operations = [create_project(service, name) for name in names]
    futures = await queue_as_one_batch(commits, *operations, reads=[("x",), (), ("y", "z")])
    with anyio.fail_after(10):
        await asyncio.wait(futures)
    assert [future.result().value.name for future in futures] == list(names)
    assert told[-1] == ("x", "y", "z")


def create_project(service: Service, name: str) -> Callable[[], Any]:
    return partial(service.create_project, ProjectCreate(name=name))


def committed_project_names(database: str) -> list[str]:
    """As another connection sees them: only what was committed."""
    other = open_store(database)
    try:
        return [p.name for p in Service(other).list_projects().value]
    finally:
        other.close()


async def test_writes_queued_together_commit_as_one_batch(db: Store, commits: GroupCommit) -> None:
    service = Service(db)
    names = [f"p{i}" for i in range(20)]
    before = commits.batches
    futures = await one_batch(commits, *(create_project(service, name) for name in names))
    results = [future.result() for future in futures]
    assert [r.value.name for r in results] == names
    assert [r.seq for r in results] == list(range(1, 21))  # one event each, in order
    assert commits.batches == before + 2  # the holding write's batch, then all twenty


async def test_a_failing_write_is_undone_alone(
    db: Store, database: str, commits: GroupCommit
) -> None:
    service = Service(db)

    def writes_then_fails() -> None:
        service.create_project(ProjectCreate(name="undone"))  # a savepoint of its own...
        with db.write() as rows:  # ...then this one, which fails after writing
            undone = next(p for p in rows.list_projects() if p.name == "undone")
            rows.save_project(undone.model_copy(update={"name": "renamed"}))
            raise NotFound("something the write needed is gone")

    first, failing, last = await one_batch(
        commits,
        create_project(service, "kept 1"),
        writes_then_fails,
        create_project(service, "kept 2"),
    )
    assert first.result().value.name == "kept 1"
    assert isinstance(failing.exception(), NotFound)
    assert last.result().value.name == "kept 2"
    # The failing write was undone; the project created before it in the same
    # operation, in a savepoint of its own, was not: an operation is its writes.
    assert committed_project_names(database) == ["kept 1", "undone", "kept 2"]


@pytest.mark.only_store("postgresql")  # SQLite answers every statement at once
async def test_a_failure_no_write_waited_for_runs_the_batch_again_carefully(
    db: PgStore, database: str, commits: GroupCommit
) -> None:
    """A batch first runs without waiting for each write's statements at its end. A
    statement whose result nobody reads fails: its error surfaces later, in another
    write or at COMMIT, where it cannot be pinned on one write. The batch is undone
    and runs again carefully: the failing write gets its error, the others commit."""
    service = Service(db)

    def fails_unread() -> None:
        with db.write() as rows:
            rows.conn.execute("SELECT 1 / 0")  # sent, never read

    first, failing, last = await one_batch(
        commits,
        create_project(service, "kept 1"),
        fails_unread,
        create_project(service, "kept 2"),
    )
    assert first.result().value.name == "kept 1"
    assert isinstance(failing.exception(), psycopg.errors.DivisionByZero)
    assert last.result().value.name == "kept 2"
    assert commits.undone == 1
    assert committed_project_names(database) == ["kept 1", "kept 2"]
    assert last.result().seq == first.result().seq + 1  # one log, no trace of the undone run


@pytest.mark.only_store("postgresql")
async def test_the_first_write_of_a_batch_owns_its_database_errors(
    db: PgStore, database: str, commits: GroupCommit
) -> None:
    """Nothing was sent before it that nobody waited for: an error it meets is its own
    (a lock timeout, a deadlock, a bad statement), undone alone, without running the
    batch again."""
    service = Service(db)

    def fails() -> None:
        with db.write() as rows:
            rows.conn.execute("SELECT 1 / 0").fetchone()

    failing, last = await one_batch(commits, fails, create_project(service, "kept"))
    assert isinstance(failing.exception(), psycopg.errors.DivisionByZero)
    assert last.result().value.name == "kept"
    assert commits.undone == 0
    assert committed_project_names(database) == ["kept"]


async def test_a_later_write_without_a_savepoint_fails_alone_until_it_writes(
    db: Store, database: str, commits: GroupCommit
) -> None:
    """A careless batch's writes go without a savepoint (PostgreSQL: after the first;
    SQLite: all of them). One that fails before writing anything is undone alone
    (nothing to undo in the database); one that fails after writing undoes the batch,
    which runs again carefully: either way each gets its own outcome, and the others
    commit."""
    service = Service(db)

    def writes_then_fails() -> None:
        with db.write() as rows:
            rows.save_project(rows.list_projects()[0].model_copy(update={"name": "renamed"}))
            raise NotFound("something the write needed is gone")

    first, missing, last = await one_batch(
        commits,
        create_project(service, "kept 1"),
        partial(service.create_task, TaskCreate(project_id="proj_nope", title="x")),
        create_project(service, "kept 2"),
    )
    assert isinstance(missing.exception(), NotFound)
    assert last.result().seq == first.result().seq + 1
    assert commits.undone == 0  # it failed before it wrote
    _, failing, _ = await one_batch(
        commits,
        create_project(service, "kept 3"),
        writes_then_fails,
        create_project(service, "kept 4"),
    )
    assert isinstance(failing.exception(), NotFound)
    assert commits.undone == 1  # it had written: the batch ran again, carefully
    assert committed_project_names(database) == ["kept 1", "kept 2", "kept 3", "kept 4"]


@pytest.mark.only_store("postgresql")
async def test_a_keyed_write_without_a_savepoint_that_fails_gives_its_key_back(
    db: PgStore, database: str, commits: GroupCommit
) -> None:
    """Reserving an idempotency key is an INSERT, but not what makes a failing write
    undo its batch: the write deletes its reservation, fails alone, and the key is
    free for the request's retry."""
    service = Service(db)
    missing = TaskCreate(project_id="proj_nope", title="x")
    _, failing, _ = await one_batch(
        commits,
        create_project(service, "kept 1"),
        partial(service.create_task, missing, idempotency_key="retry-me"),
        create_project(service, "kept 2"),
    )
    assert isinstance(failing.exception(), NotFound)
    assert commits.undone == 0
    project = await commits.run(create_project(service, "there now"))
    retried = await commits.run(
        partial(
            service.create_task,
            TaskCreate(project_id=project.value.id, title="x"),
            idempotency_key="retry-me",
        )
    )
    assert not retried.replayed  # a first run: the failed one kept nothing of the key


@pytest.mark.only_store("postgresql")
async def test_locks_of_a_write_undone_without_a_savepoint_still_count(
    db: PgStore, database: str, commits: GroupCommit
) -> None:
    """A write that fails without a savepoint keeps its project's lock until COMMIT: the
    batch still holds it, so a later write that meets a lock held elsewhere gives way
    (runs again first in the next batch) instead of waiting inside this one."""
    service = Service(db)
    held_here = service.create_project(ProjectCreate(name="held here")).value
    held_elsewhere = service.create_project(ProjectCreate(name="held elsewhere")).value
    service.create_project(ProjectCreate(name="r"), idempotency_key="replayed")
    elsewhere = psycopg.connect(database, autocommit=True)
    elsewhere.execute("SELECT pg_advisory_lock(%s)", (lock_key(held_elsewhere.id),))

    def locks_then_fails() -> None:
        with db.write() as rows:
            rows.get_project(held_here.id)  # takes its project's lock
            raise NotFound("gone")

    replay, failing, third = await queue_as_one_batch(
        commits,
        # First: takes no lock, leaves nothing unread.
        partial(service.create_project, ProjectCreate(name="r"), idempotency_key="replayed"),
        locks_then_fails,
        partial(service.update_project, held_elsewhere.id, ProjectPatch(name="x")),
    )
    try:
        with anyio.fail_after(WAIT):
            # Had the third waited for the lock inside the batch, none of it would end.
            await asyncio.wait([replay, failing])
        assert replay.result().replayed
        assert isinstance(failing.exception(), NotFound)
        assert not third.done()  # it gave way, and now waits first in a batch of its own
    finally:
        elsewhere.execute("SELECT pg_advisory_unlock_all()")
        elsewhere.close()
    with anyio.fail_after(WAIT):
        assert (await third).value.name == "x"


@pytest.mark.only_store("postgresql")
async def test_a_refusal_after_a_recursive_read_fails_alone(
    db: PgStore, commits: GroupCommit
) -> None:
    """A cycle check reads with a recursive WITH query: a read, so the write refused for
    the cycle it found wrote nothing and fails alone, without running its batch again."""
    service = Service(db)
    project = service.create_project(ProjectCreate(name="p")).value
    first = service.create_task(TaskCreate(project_id=project.id, title="first")).value
    then = service.create_task(
        TaskCreate(project_id=project.id, title="then", depends_on=[first.id])
    ).value
    cycle = TaskPatch(depends_on=[then.id])
    _, refused, _ = await one_batch(
        commits,
        create_project(service, "kept 1"),
        partial(service.update_task, first.id, cycle),
        create_project(service, "kept 2"),
    )
    assert isinstance(refused.exception(), InvalidInput)
    assert commits.undone == 0


@pytest.mark.only_store("postgresql")
async def test_writes_do_not_nest_inside_a_batch(db: PgStore, commits: GroupCommit) -> None:
    def nested() -> None:
        with db.write(), db.write():
            pass

    with pytest.raises(RuntimeError, match="inside a write"):
        await commits.run(nested)


def lose_the_connection_at_commit(monkeypatch: pytest.MonkeyPatch, *, answered: bool) -> None:
    """The batch's last round trip (append, COMMIT) fails as a lost connection would:
    after COMMIT was answered, or before."""
    real_commit = Transaction.commit

    def commit(tx: Transaction) -> Any:
        if not tx.events:  # one_batch's own holding batch
            return real_commit(tx)
        real_sync = tx.sync

        def sync() -> None:
            if answered:
                real_sync()
            raise psycopg.OperationalError("the connection was lost")

        tx.sync = sync  # type: ignore[method-assign]
        try:
            return real_commit(tx)
        finally:
            del tx.sync

    monkeypatch.setattr(Transaction, "commit", commit)


@pytest.mark.only_store("postgresql")
async def test_a_batch_whose_commit_was_answered_is_kept_though_the_connection_then_fails(
    db: PgStore, database: str, commits: GroupCommit, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Run again, it would be applied twice: its writes succeed, once."""
    service = Service(db)
    lose_the_connection_at_commit(monkeypatch, answered=True)
    first, last = await one_batch(
        commits, create_project(service, "once 1"), create_project(service, "once 2")
    )
    assert first.result().value.name == "once 1"
    assert last.result().seq == first.result().seq + 1
    assert commits.undone == 0
    monkeypatch.undo()
    assert committed_project_names(database) == ["once 1", "once 2"]


@pytest.mark.only_store("postgresql")
async def test_a_batch_whose_commit_went_unanswered_is_not_run_again(
    db: PgStore, database: str, commits: GroupCommit, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The outcome is unknown: its callers are told so (``OutcomeUnknown``: the database
    is away, and a retry with an idempotency key is safe), never run again behind their
    backs."""
    service = Service(db)
    lose_the_connection_at_commit(monkeypatch, answered=False)
    futures = await one_batch(
        commits, create_project(service, "maybe 1"), create_project(service, "maybe 2")
    )
    for future in futures:
        with pytest.raises(OutcomeUnknown, match="may or may not have been made"):
            future.result()
    assert commits.undone == 0
    monkeypatch.undo()
    assert len(committed_project_names(database)) <= 2  # at most once each


@pytest.mark.only_store("postgresql")
async def test_an_error_the_database_answers_at_commit_is_no_unknown_outcome(
    db: PgStore,
) -> None:
    """A statement cancelled by its timeout fails the batch as the COMMIT's answer (the
    write did not wait for it): the server answered, nothing was made, and the callers
    are told the database is away, not that their writes may have been made."""

    def cancelled_at_commit() -> None:
        with db.batch(careful=False), db.write() as rows:
            rows.conn.execute("SET LOCAL statement_timeout = '50ms'")
            rows.conn.execute("SELECT pg_sleep(5)")  # not read: the COMMIT's sync meets it

    with pytest.raises(StoreUnavailable) as raised:
        cancelled_at_commit()
    assert not isinstance(raised.value, OutcomeUnknown)


@pytest.mark.only_store("sqlite")  # the faults are SQLite's
async def test_a_write_that_loses_the_transaction_fails_the_whole_batch(
    db: SqliteStore, database: str, commits: GroupCommit
) -> None:
    service = Service(db)
    futures = await one_batch(
        commits,
        create_project(service, "before"),
        partial(fill_the_disk, db),
        create_project(service, "after"),
    )
    for future in futures:
        with pytest.raises(BatchAborted, match="full"):
            future.result()
    # "after" must not have been kept on its own, outside the batch's transaction.
    assert committed_project_names(database) == []
    assert db.conn.execute("SELECT COUNT(*) FROM events").fetchone()[0] == 0
    with anyio.fail_after(10):
        assert (await commits.run(create_project(service, "the writer goes on"))).seq


@pytest.mark.only_store("sqlite")  # the faults are SQLite's
async def test_a_failed_commit_fails_every_write_of_the_batch(
    db: SqliteStore, database: str, commits: GroupCommit
) -> None:
    service = Service(db)
    futures = await one_batch(
        commits,
        create_project(service, "lost"),
        # Its own error would name the head seq of a batch that was never committed:
        # it gets the COMMIT's error like every other write of the batch.
        partial(service.create_task, TaskCreate(project_id="proj_nope", title="x")),
        partial(poison_the_commit, db),
    )
    for future in futures:
        with pytest.raises(sqlite3.IntegrityError):
            future.result()
    assert committed_project_names(database) == []
    with anyio.fail_after(10):
        assert (await commits.run(create_project(service, "the writer goes on"))).seq


async def test_stop_finishes_queued_writes_then_refuses(db: Store) -> None:
    service = Service(db)
    commits = GroupCommit(db)
    await commits.start()
    writes = [
        asyncio.ensure_future(commits.run(create_project(service, f"p{i}"))) for i in range(5)
    ]
    await asyncio.sleep(0)
    with anyio.fail_after(10):
        await commits.stop()
        assert len(await asyncio.gather(*writes)) == 5
    with pytest.raises(RuntimeError, match="not running"):
        await commits.run(service.list_projects)


# --- gathering ---------------------------------------------------------------------------


async def test_a_lone_writer_never_waits_to_gather(db: Store, commits: GroupCommit) -> None:
    service = Service(db)
    for name in ("a", "b", "c"):
        await commits.run(create_project(service, name))
    assert commits.gathered == 0


async def test_after_writes_in_flight_together_a_lone_write_waits_once(
    db: Store, commits: GroupCommit
) -> None:
    """Writes in flight at the end of a batch are the batch and those queued behind it;
    a batch with fewer waits (a bounded time) for more, and commits when none came.
    A wait that nobody joined is not repeated."""
    service = Service(db)
    before = commits.gathered
    await one_batch(commits, *(create_project(service, f"p{n}") for n in range(4)))
    # The holding write ran with four queued behind it: those four waited for a fifth.
    assert commits.gathered == before + 1
    with anyio.fail_after(10):
        assert (await commits.run(create_project(service, "alone"))).value.name == "alone"
        assert commits.gathered == before + 2  # four were in flight at the end of theirs
        await commits.run(create_project(service, "alone again"))
    assert commits.gathered == before + 2


def test_the_writes_in_flight_are_a_batch_and_those_queued_behind_it() -> None:
    gathering = Gathering(bound_s=1.0)
    assert (gathering.wanted(), gathering.wait_s()) == (1, 0.0)
    gathering.ran(batch=4, queued=4, seconds=0.003)
    gathering.ran(batch=8, queued=0, seconds=0.5)
    assert (gathering.wanted(), gathering.wait_s()) == (8, 0.5)  # the most; the last


def test_the_wait_is_bounded() -> None:
    gathering = Gathering()
    gathering.ran(batch=8, queued=0, seconds=10.0)
    assert gathering.wait_s() == GATHER_MAX_S


def test_writes_once_in_flight_are_forgotten_after_a_few_batches() -> None:
    gathering = Gathering()
    gathering.ran(batch=8, queued=0, seconds=0.001)
    for _ in range(RECENT_BATCHES - 1):
        gathering.ran(batch=1, queued=0, seconds=0.001)
    assert gathering.wanted() == 8
    gathering.ran(batch=1, queued=0, seconds=0.001)
    assert gathering.wanted() == 1


def test_a_wait_nobody_joined_forgets_the_writes_in_flight() -> None:
    gathering = Gathering()
    gathering.ran(batch=8, queued=0, seconds=0.001)
    gathering.none_came()
    assert gathering.wanted() == 1


class ArrivingQueue:
    """The writer's queue, with writes that arrive only while it waits for them."""

    def __init__(self, *arriving: Any) -> None:
        self.arriving = list(arriving)
        self.waits: list[float] = []

    def get_nowait(self) -> Any:
        raise queue.Empty

    def get(self, timeout: float | None = None) -> Any:
        assert timeout is not None
        self.waits.append(timeout)
        if not self.arriving:
            raise queue.Empty
        return self.arriving.pop(0)


def gathering(
    db: Store, jobs: ArrivingQueue, in_flight: int, *, max_batch: int = 64
) -> GroupCommit:
    """A writer (not started) whose last batch had ``in_flight`` writes in flight and
    took a second, reading ``jobs``."""
    commits = GroupCommit(db, max_batch=max_batch, gathering=Gathering(bound_s=0.5))
    commits.gathering.ran(batch=in_flight, queued=0, seconds=1.0)
    commits._jobs = jobs  # type: ignore[assignment]
    return commits


def test_a_batch_gathers_as_many_writes_as_were_in_flight(db: Store) -> None:
    arriving = ArrivingQueue("b", "c", "d", "e")
    jobs: list[Any] = ["a"]
    assert gathering(db, arriving, 4)._gather(jobs) is False
    assert jobs == ["a", "b", "c", "d"]
    assert arriving.arriving == ["e"]  # the next batch's


def test_a_batch_waits_once_however_many_join_it(db: Store) -> None:
    arriving = ArrivingQueue("b", "c", "d")
    jobs: list[Any] = ["a"]
    assert gathering(db, arriving, 8)._gather(jobs) is False
    assert jobs == ["a", "b", "c", "d"]  # then nothing more came in time
    waits = arriving.waits
    assert len(waits) == 4
    assert all(0 <= wait <= 0.5 for wait in waits)
    # One deadline for the batch: each wait is shorter than the one before.
    assert waits == sorted(waits, reverse=True)
    assert len(set(waits)) == 4


def test_a_batch_gathers_no_more_than_its_most(db: Store) -> None:
    jobs: list[Any] = ["a"]
    assert gathering(db, ArrivingQueue("b", "c"), 8, max_batch=2)._gather(jobs) is False
    assert jobs == ["a", "b"]


def test_the_end_of_the_queue_ends_gathering(db: Store) -> None:
    jobs: list[Any] = ["a"]
    assert gathering(db, ArrivingQueue("b", None, "c"), 8)._gather(jobs) is True
    assert jobs == ["a", "b"]


def test_a_lone_writer_s_batch_does_not_wait(db: Store) -> None:
    arriving = ArrivingQueue("b")
    jobs: list[Any] = ["a"]
    assert gathering(db, arriving, 1)._gather(jobs) is False
    assert (jobs, arriving.waits) == (["a"], [])


class Fatal(BaseException):
    """Not an Exception: the kind of error that could kill a thread."""


async def test_every_caller_is_answered_even_after_a_base_exception(
    db: Store, commits: GroupCommit
) -> None:
    service = Service(db)

    def fatal() -> None:
        raise Fatal

    with anyio.fail_after(10):
        with pytest.raises(Fatal):
            await commits.run(fatal)
        assert (await commits.run(create_project(service, "the writer goes on"))).seq


async def test_a_write_that_loses_deadlocks_runs_again_then_fails(
    commits: GroupCommit,
) -> None:
    """A contended write first in its batch (it waited for its lock and a deadlock chose
    it anyway) runs again a few times; one that never gets through fails with Contended
    (answered as 503: retry)."""
    runs = {"lucky": 0, "unlucky": 0}

    def contended_twice() -> str:
        runs["lucky"] += 1
        if runs["lucky"] < 3:
            raise Contended("deadlock detected")
        return "committed"

    def always_contended() -> str:
        runs["unlucky"] += 1
        raise Contended("deadlock detected")

    with anyio.fail_after(10):
        assert await commits.run(contended_twice) == "committed"
        with pytest.raises(Contended):
            await commits.run(always_contended)
    assert runs == {"lucky": 3, "unlucky": MAX_FIRST_TRIES}
