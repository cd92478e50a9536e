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
from maestro_mcp.core.store import Database

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


async def test_a_failing_write_fails_alone(db: Database, commits: GroupCommit) -> None:
    service = Service(db)
    project = service.create_project(ProjectCreate(name="p")).value
    hold, entered, release = _blocker()
    blocking = asyncio.ensure_future(commits.run(hold))
    await anyio.to_thread.run_sync(entered.wait)
    first = asyncio.ensure_future(
        commits.run(lambda: service.create_task(TaskCreate(project_id=project.id, title="a")))
    )
    failing = asyncio.ensure_future(
        commits.run(lambda: service.create_task(TaskCreate(project_id="proj_nope", title="b")))
    )
    last = asyncio.ensure_future(
        commits.run(lambda: service.create_task(TaskCreate(project_id=project.id, title="c")))
    )
    await asyncio.sleep(0)
    release.set()
    with anyio.fail_after(10):
        await blocking
        assert (await first).value.title == "a"
        with pytest.raises(NotFound):
            await failing
        assert (await last).value.title == "c"
    titles = [t.title for t in service.list_tasks().value]
    assert sorted(titles) == ["a", "c"]


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
    bad = asyncio.ensure_future(commits.run(poison))
    await asyncio.sleep(0)
    release.set()
    with anyio.fail_after(10):
        await blocking
        for write in (good, bad):
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
