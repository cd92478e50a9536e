"""Group commit: writes that arrive together share one transaction, and fail alone."""

import asyncio
import sqlite3
import threading
from collections.abc import AsyncIterator, Callable
from functools import partial
from pathlib import Path

import anyio
import pytest

from maestro_mcp.core.errors import NotFound
from maestro_mcp.core.group_commit import GroupCommit
from maestro_mcp.core.models import ProjectCreate, TaskCreate
from maestro_mcp.core.service import Service
from maestro_mcp.core.store import BatchAborted, Database

pytestmark = pytest.mark.anyio


@pytest.fixture
async def commits(db: Database) -> AsyncIterator[GroupCommit]:
    running = GroupCommit(db)
    await running.start()
    yield running
    await running.stop()


def _blocker() -> tuple[Callable[[], None], threading.Event, threading.Event]:
    """An operation that holds the writer thread until released, so that the
    writes queued meanwhile are taken as one batch."""
    entered, release = threading.Event(), threading.Event()

    def hold() -> None:
        entered.set()
        release.wait(10)

    return hold, entered, release


async def test_writes_queued_together_commit_as_one_batch(
    db: Database, commits: GroupCommit
) -> None:
    service = Service(db)
    hold, entered, release = _blocker()
    blocking = asyncio.ensure_future(commits.run(hold))
    await anyio.to_thread.run_sync(entered.wait)
    before = commits.batches
    names = [f"p{i}" for i in range(20)]
    writes = [
        asyncio.ensure_future(
            commits.run(partial(service.create_project, ProjectCreate(name=name)))
        )
        for name in names
    ]
    await asyncio.sleep(0)  # let every write reach the queue
    release.set()
    with anyio.fail_after(10):
        await blocking
        results = await asyncio.gather(*writes)
    assert [r.value.name for r in results] == names
    assert [r.seq for r in results] == list(range(1, 21))  # one event each, in order
    assert commits.batches == before + 2  # the blocker's batch, then all twenty at once


async def test_a_failing_write_is_undone_alone(db: Database, commits: GroupCommit) -> None:
    service = Service(db)
    hold, entered, release = _blocker()
    blocking = asyncio.ensure_future(commits.run(hold))
    await anyio.to_thread.run_sync(entered.wait)

    def writes_then_fails() -> None:
        service.create_project(ProjectCreate(name="undone"))  # a savepoint of its own...
        with db.write() as conn:  # ...inside this one, which fails after writing
            conn.execute("UPDATE projects SET name = 'renamed' WHERE name = 'undone'")
            raise NotFound("something the write needed is gone")

    first = asyncio.ensure_future(
        commits.run(partial(service.create_project, ProjectCreate(name="kept 1")))
    )
    failing = asyncio.ensure_future(commits.run(writes_then_fails))
    last = asyncio.ensure_future(
        commits.run(partial(service.create_project, ProjectCreate(name="kept 2")))
    )
    await asyncio.sleep(0)
    release.set()
    with anyio.fail_after(10):
        await blocking
        assert (await first).value.name == "kept 1"
        with pytest.raises(NotFound):
            await failing
        assert (await last).value.name == "kept 2"
    names = [p.name for p in service.list_projects().value]
    # The inner write was undone; the project created before it, in the same
    # operation but its own savepoint, was not: an operation is its writes.
    assert names == ["kept 1", "undone", "kept 2"]


def _fill_the_disk(db: Database) -> None:
    """A write that gets SQLITE_FULL, as on a full disk; SQLite then rolls back the
    whole transaction, not just the statement."""
    with db.write() as conn:
        (pages,) = conn.execute("PRAGMA page_count").fetchone()
        conn.execute(f"PRAGMA max_page_count={pages + 20}")
        try:
            conn.execute(
                "INSERT INTO projects (id, name, working_dir, created_at, updated_at, version) "
                "VALUES ('big', zeroblob(10000000), NULL, 0, 0, 1)"
            )
        finally:
            conn.execute("PRAGMA max_page_count=1073741823")


async def test_a_write_that_loses_the_transaction_fails_the_whole_batch(
    db: Database, db_path: Path, commits: GroupCommit
) -> None:
    service = Service(db)
    hold, entered, release = _blocker()
    blocking = asyncio.ensure_future(commits.run(hold))
    await anyio.to_thread.run_sync(entered.wait)
    writes = [
        asyncio.ensure_future(commits.run(operation))
        for operation in (
            partial(service.create_project, ProjectCreate(name="before")),
            partial(_fill_the_disk, db),
            partial(service.create_project, ProjectCreate(name="after")),
        )
    ]
    await asyncio.sleep(0)
    release.set()
    with anyio.fail_after(10):
        await blocking
        for write in writes:
            with pytest.raises(BatchAborted, match="full"):
                await write
    # "after" must not have been kept on its own outside the batch's transaction.
    other = Database(db_path)
    assert Service(other).list_projects().value == []
    assert other.conn.execute("SELECT COUNT(*) FROM events").fetchone()[0] == 0
    other.close()
    with anyio.fail_after(10):
        assert (await commits.run(partial(service.create_project, ProjectCreate(name="ok")))).seq


async def test_a_failed_commit_fails_every_write_of_the_batch(
    db: Database, db_path: Path, commits: GroupCommit
) -> None:
    service = Service(db)
    hold, entered, release = _blocker()
    blocking = asyncio.ensure_future(commits.run(hold))
    await anyio.to_thread.run_sync(entered.wait)

    def poison() -> None:
        with db.write() as conn:  # a foreign key checked only at COMMIT
            conn.execute("PRAGMA defer_foreign_keys=ON")
            conn.execute(
                "INSERT INTO sessions (id, project_id, name, agent, status, created_at, "
                "updated_at, last_activity_at, version) "
                "VALUES ('s', 'no such project', 'n', 'a', 'active', 0, 0, 0, 1)"
            )

    good = asyncio.ensure_future(
        commits.run(lambda: service.create_project(ProjectCreate(name="lost")))
    )
    # Its own error (which names the head seq of a batch that was never committed)
    # would mislead; it gets the commit's error like every other write of the batch.
    failed_alone = asyncio.ensure_future(
        commits.run(lambda: service.create_task(TaskCreate(project_id="proj_nope", title="x")))
    )
    bad = asyncio.ensure_future(commits.run(poison))
    await asyncio.sleep(0)
    release.set()
    with anyio.fail_after(10):
        await blocking
        for write in (good, failed_alone, bad):
            with pytest.raises(sqlite3.IntegrityError):
                await write
    other = Database(db_path)
    assert Service(other).list_projects().value == []
    other.close()
    # The writer goes on with the next batch.
    with anyio.fail_after(10):
        assert (await commits.run(lambda: service.create_project(ProjectCreate(name="ok")))).seq


async def test_stop_finishes_queued_writes_then_refuses(db: Database) -> None:
    service = Service(db)
    commits = GroupCommit(db)
    await commits.start()
    writes = [
        asyncio.ensure_future(
            commits.run(partial(service.create_project, ProjectCreate(name=f"p{i}")))
        )
        for i in range(5)
    ]
    await asyncio.sleep(0)
    with anyio.fail_after(10):
        await commits.stop()
        assert len(await asyncio.gather(*writes)) == 5
    with pytest.raises(RuntimeError, match="not running"):
        await commits.run(service.list_projects)


class Fatal(BaseException):
    """Not an Exception: the kind of error that could kill a thread."""


async def test_every_caller_is_answered_even_after_a_base_exception(
    db: Database, commits: GroupCommit
) -> None:
    service = Service(db)

    def fatal() -> None:
        raise Fatal

    with anyio.fail_after(10):
        with pytest.raises(Fatal):
            await commits.run(fatal)
        # The writer goes on.
        assert (await commits.run(partial(service.create_project, ProjectCreate(name="p")))).seq
