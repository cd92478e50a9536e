"""Read-ahead on PostgreSQL (task_rows.py): a batch fetches the tasks its writes name
in one query, and a write only gets a row read ahead when the query it saves would
have returned the same row. Each test first shows the row was kept (one query fewer),
then that it is not served once it may be stale."""

from collections.abc import Callable
from typing import Any

import psycopg
import pytest

from maestro_mcp.core.errors import VersionConflict
from maestro_mcp.core.models import (
    Project,
    ProjectCreate,
    SessionCreate,
    Task,
    TaskCreate,
    TaskPatch,
)
from maestro_mcp.core.service import Service
from maestro_mcp.core.storage.postgres import PgStore
from maestro_mcp.core.storage.postgres.task_rows import ReadAhead

pytestmark = pytest.mark.only_store("postgresql")

TASK_READ = "FROM tasks WHERE id"  # how each of rows.py's and task_rows.py's reads by id select


@pytest.fixture
def task_reads(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """The parameters of every read of tasks by id sent from now on (by any store)."""
    sent: list[Any] = []
    execute = psycopg.Connection.execute

    def counting(self: Any, query: Any, params: Any = None, **options: Any) -> Any:
        if isinstance(query, str) and query.startswith("SELECT") and TASK_READ in query:
            sent.append(params)
        return execute(self, query, params, **options)

    monkeypatch.setattr(psycopg.Connection, "execute", counting)
    return sent


def _a_project(instances: Callable[[], PgStore]) -> tuple[PgStore, Service, Project]:
    """An instance, its service and a new project."""
    store = instances()
    service = Service(store)
    return store, service, service.create_project(ProjectCreate(name="p")).value


def _tasks(service: Service, project_id: str, count: int) -> list[Task]:
    return [
        service.create_task(TaskCreate(project_id=project_id, title=f"t{n}")).value
        for n in range(count)
    ]


def _now(store: PgStore, task_id: str) -> Task:
    with store.read() as rows:
        task = rows.get_task(task_id)
    assert task is not None
    return task


def test_a_batch_reads_the_tasks_its_writes_name_in_one_query(
    instances: Callable[[], PgStore], task_reads: list[Any]
) -> None:
    store, service, project = _a_project(instances)
    tasks = _tasks(service, project.id, 4)
    task_reads.clear()
    with store.batch(careful=False, reads=tuple(t.id for t in tasks)):
        updated = [service.update_task(t.id, TaskPatch(title=f"new {t.title}")) for t in tasks]
    assert len(task_reads) == 1
    for before, after in zip(tasks, updated, strict=True):
        assert after.value == _now(store, before.id)
        assert (after.value.title, after.value.version) == (f"new {before.title}", 2)


def test_ids_of_other_entities_are_not_read_ahead() -> None:
    assert not ReadAhead(("proj_0123", "sess_4567"))
    assert ReadAhead(("proj_0123", "task_89ab")).unfetched == {"task_89ab"}


def test_a_cascade_drops_every_row_read_ahead(
    instances: Callable[[], PgStore], task_reads: list[Any]
) -> None:
    """Deleting a task changes, without a statement on its row, what a task that
    depended on it reads as: the rows kept are read again."""
    store, service, project = _a_project(instances)
    first, other, needed = _tasks(service, project.id, 3)
    waiting = service.create_task(
        TaskCreate(project_id=project.id, title="waits", depends_on=[needed.id])
    ).value
    task_reads.clear()
    reads = (first.id, other.id, needed.id, waiting.id)
    with store.batch(careful=False, reads=reads), store.write() as rows:
        assert rows.get_task(first.id) == first  # and the other three, ahead
        assert rows.get_task(other.id) == other
        assert len(task_reads) == 1
        rows.delete_tasks([needed.id])
        again = rows.get_task(waiting.id)
    assert again is not None
    assert again.depends_on == []
    assert len(task_reads) == 2


def test_a_link_drops_every_row_read_ahead(
    instances: Callable[[], PgStore], task_reads: list[Any]
) -> None:
    store, service, project = _a_project(instances)
    one, two, three = _tasks(service, project.id, 3)
    session = service.create_session(SessionCreate(project_id=project.id, name="s")).value
    task_reads.clear()
    with store.batch(careful=False, reads=(one.id, two.id, three.id)), store.write() as rows:
        assert rows.get_task(one.id) == one  # and the other two, ahead
        assert rows.get_task(three.id) == three
        assert len(task_reads) == 1
        assert rows.link(two.id, session.id)
        again = rows.get_task(two.id)
    assert again is not None
    assert again.session_ids == [session.id]
    assert len(task_reads) == 2


def test_an_upsert_drops_the_row_of_its_own_task_only(
    instances: Callable[[], PgStore], task_reads: list[Any]
) -> None:
    store, service, project = _a_project(instances)
    one, two, three = _tasks(service, project.id, 3)
    task_reads.clear()
    with store.batch(careful=False, reads=(one.id, two.id, three.id)), store.write() as rows:
        assert rows.get_task(one.id) == one  # and the other two, ahead
        rows.save_task(two.model_copy(update={"title": "changed", "version": 2}))
        changed = rows.get_task(two.id)
        kept = rows.get_task(three.id)
    assert changed is not None
    assert (changed.title, changed.version) == ("changed", 2)
    assert kept == three
    assert len(task_reads) == 2  # one with the other two ahead, then two again


def test_a_row_of_a_project_the_batch_has_not_locked_is_read_again(
    instances: Callable[[], PgStore], task_reads: list[Any]
) -> None:
    """Another instance changes it between the batch's reads: the write sees that."""
    here, there = instances(), instances()
    service = Service(here)
    mine = service.create_project(ProjectCreate(name="mine")).value
    theirs = service.create_project(ProjectCreate(name="theirs")).value
    local, nearby = _tasks(service, mine.id, 2)
    (remote,) = _tasks(service, theirs.id, 1)
    task_reads.clear()
    with here.batch(careful=False, reads=(local.id, nearby.id, remote.id)):
        service.update_task(local.id, TaskPatch(title="mine"))
        service.update_task(nearby.id, TaskPatch(title="mine too"))  # read ahead
        assert len(task_reads) == 1
        Service(there).update_task(remote.id, TaskPatch(description="theirs"))
        last = service.update_task(remote.id, TaskPatch(title="ours")).value
    assert (last.title, last.description, last.version) == ("ours", "theirs", 3)
    assert last == _now(here, remote.id)


def test_a_write_rolled_back_forgets_the_rows_read_under_its_locks(
    instances: Callable[[], PgStore], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rolling the first write's savepoint back gives its project's lock back: another
    instance may then change a row it read ahead, and the next write sees that."""
    here, there = instances(), instances()
    service = Service(here)
    project = service.create_project(ProjectCreate(name="p")).value
    one, two = _tasks(service, project.id, 2)
    forgotten: list[set[str]] = []
    forget = ReadAhead.forget

    def noting(self: ReadAhead) -> None:
        forgotten.append(set(self.rows))
        forget(self)

    monkeypatch.setattr(ReadAhead, "forget", noting)
    with here.batch(careful=True, reads=(one.id, two.id)):
        with pytest.raises(VersionConflict):
            service.update_task(one.id, TaskPatch(title="x"), expected_version=99)
        assert forgotten == [{two.id}]
        Service(there).update_task(two.id, TaskPatch(description="theirs"))
        last = service.update_task(two.id, TaskPatch(title="ours")).value
    assert (last.title, last.description, last.version) == ("ours", "theirs", 3)
    assert last == _now(here, two.id)


def test_a_task_that_is_gone_is_not_found(
    instances: Callable[[], PgStore], task_reads: list[Any]
) -> None:
    store, service, project = _a_project(instances)
    one, two = _tasks(service, project.id, 2)
    task_reads.clear()
    reads = ("task_missing", one.id, two.id)
    with store.batch(careful=False, reads=reads), store.write() as rows:
        assert rows.get_task(one.id) == one  # and two ahead; no row for the third
        assert rows.get_task(two.id) == two
        assert len(task_reads) == 1
        assert rows.get_task("task_missing") is None
