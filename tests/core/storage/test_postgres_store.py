"""The PostgreSQL store's own guarantees: what makes several instances on one database
one server (store.py's docstring). Each test plays several instances with several
``PgStore`` objects (each has its own connections) on the test's database."""

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any, cast

import anyio
import psycopg
import pytest

from maestro_mcp.core.errors import ReservationConflict
from maestro_mcp.core.events import EventType, PendingEvent
from maestro_mcp.core.feed import Feed
from maestro_mcp.core.group_commit import GroupCommit
from maestro_mcp.core.models import (
    ProjectCreate,
    Reservation,
    ReservationRequest,
    SessionCreate,
    Task,
    TaskCreate,
    TaskFilter,
)
from maestro_mcp.core.service import Result, Service
from maestro_mcp.core.storage import Contended, LogReader, SchemaTooNew, Store
from maestro_mcp.core.storage.postgres import PgStore, log_rows
from maestro_mcp.core.storage.postgres.schema import SCHEMA_VERSION
from tests.support.stores import PostgresDatabases, make_schema_newer, with_database
from tests.support.waiting import WAIT, wait_for

pytestmark = pytest.mark.only_store("postgresql")


def _event(n: int) -> PendingEvent:
    return PendingEvent(EventType.PROJECT_UPDATED, None, f'{{"n":{n}}}', '"test"')


def test_concurrent_writers_make_one_gap_free_log_in_commit_order(
    instances: Callable[[], PgStore],
) -> None:
    """Four instances append at once, each transaction several events; a reader tailing
    the log with `seq > last` never skips one, and each transaction's events are
    consecutive."""
    writers = [instances() for _ in range(4)]
    reader = instances().log_reader()
    seen: list[int] = []
    done = threading.Event()

    def tail() -> None:
        last = 0
        while not done.is_set() or last < reader.head():
            for event in reader.read_after(last, 1000):
                assert event.seq == last + 1, f"gap after {last}: {event.seq}"
                last = event.seq
                seen.append(event.seq)

    def write(store: PgStore, rounds: int) -> list[tuple[int, int]]:
        spans = []
        for n in range(rounds):
            with store.write() as rows:
                position = rows.append_events([_event(n)] * 3, 0)
            spans.append((position.seq - 2, position.seq))
        return spans

    tailer = threading.Thread(target=tail)
    tailer.start()
    with ThreadPoolExecutor(4) as pool:
        spans = [s for found in pool.map(write, writers, [40] * 4) for s in found]
    done.set()
    tailer.join(30)
    reader.close()
    assert seen == list(range(1, 4 * 40 * 3 + 1))
    # Each transaction's three events are consecutive: no two interleaved.
    assert sorted(first for first, _ in spans) == list(range(1, 4 * 40 * 3, 3))


def test_the_feed_reads_this_instance_s_commits_from_memory(
    instances: Callable[[], PgStore], monkeypatch: pytest.MonkeyPatch
) -> None:
    """What an instance just committed reaches its feed without a query, byte for byte
    as the table holds it; a gap (another instance's commit) is read from the table."""
    here, there = instances(), instances()
    queried: list[int] = []
    real_read_after = log_rows.read_after

    def counted(conn: psycopg.Connection[Any], after: int, limit: int, **kw: Any) -> Any:
        queried.append(after)
        return real_read_after(conn, after, limit, **kw)

    monkeypatch.setattr(log_rows, "read_after", counted)
    reader = here.log_reader()
    with here.write() as rows:
        rows.append_events([_event(1), _event(2)], 0)
    from_memory = reader.read_after(0, 100)
    assert [e.seq for e in from_memory] == [1, 2]
    assert queried == []
    with there.write() as rows:
        rows.append_events([_event(3)], 0)
    with here.write() as rows:
        rows.append_events([_event(4)], 0)
    assert [e.seq for e in reader.read_after(2, 100)] == [3, 4]  # 3 is not in memory
    assert queried == [2]
    assert reader.read_after(0, 100)[:2] == from_memory == instances().log_reader().read_after(0, 2)


def test_an_instance_is_not_woken_by_its_own_notify(instances: Callable[[], PgStore]) -> None:
    """Its feed hears of its own commits from the commit itself: the NOTIFY echo of
    one would only make it read the log again for nothing. Others' still wake it,
    with the head they reached."""
    here, there = instances(), instances()
    woken: list[int | None] = []
    reader = here.log_reader(on_change=woken.append)
    wait_for(lambda: woken == [None], what="the listener connects (it wakes the feed once)")
    with here.write() as rows:
        own = rows.append_events([_event(1)], 0)
    with there.write() as rows:
        others = rows.append_events([_event(2)], 0)
    # NOTIFYs arrive in commit order: once the other's has woken it, its own was seen.
    wait_for(lambda: others.seq in woken, what="the other instance's commit wakes the feed")
    assert woken == [None, others.seq]
    assert own.seq not in woken
    reader.close()


class Deaf:
    """A store whose feed readers do not LISTEN, as while a LISTEN connection is down."""

    def __init__(self, store: PgStore) -> None:
        self._store = store

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    def log_reader(self, on_change: Callable[[int | None], None] | None = None) -> LogReader:
        return self._store.log_reader(None)


@pytest.mark.anyio
async def test_without_listen_the_feed_polls_what_other_instances_commit(
    instances: Callable[[], PgStore],
) -> None:
    """The backstop on its own: a feed told of no commit still delivers another
    instance's, in order, by polling the head every ``poll_interval``."""
    here, there = instances(), instances()
    feed = Feed(cast(Store, Deaf(here)), poll_interval=0.05)
    await feed.start()
    try:
        subscriber = feed.subscribe()
        made = [
            Service(there).create_project(ProjectCreate(name=f"elsewhere {n}")).seq
            for n in range(3)
        ]
        seen: list[int] = []
        with anyio.fail_after(WAIT):
            while len(seen) < len(made):
                seen += [event.seq for event in await subscriber.next_batch()]
        assert seen == made
    finally:
        await feed.stop()


def test_a_run_from_memory_is_followed_by_what_others_committed_after_it(
    instances: Callable[[], PgStore],
) -> None:
    """A read that finds this instance's commit in memory, while another instance has
    committed after it, goes on in the table: one read returns both."""
    here, there = instances(), instances()
    woken: list[int | None] = []
    reader = here.log_reader(on_change=woken.append)
    wait_for(lambda: woken == [None], what="the listener connects")
    with here.write() as rows:
        rows.append_events([_event(1)], 0)
    with there.write() as rows:
        others = rows.append_events([_event(2)], 0)
    wait_for(lambda: others.seq in woken, what="the other instance's commit is heard of")
    assert [e.seq for e in reader.read_after(0, 100)] == [1, 2]
    reader.close()


def test_a_write_in_a_batch_gives_way_to_a_lock_held_elsewhere(
    instances: Callable[[], PgStore],
) -> None:
    """Inside a batch, an operation that would wait for another instance's project lock
    while earlier operations hold locks is undone with Contended (no deadlock), and the
    rest of the batch commits."""
    here, there = instances(), instances()
    service = Service(here)
    busy = service.create_project(ProjectCreate(name="busy")).value
    free = service.create_project(ProjectCreate(name="free")).value
    holding = threading.Event()
    release = threading.Event()

    def hold_busy() -> None:
        with there.write() as rows:
            rows.get_project(busy.id)  # takes the project's lock until COMMIT
            holding.set()
            release.wait(30)

    holder = threading.Thread(target=hold_busy)
    holder.start()
    assert holding.wait(30)
    outcomes: list[object] = []
    with here.batch():
        for project_id in (free.id, busy.id):
            try:
                data = TaskCreate(project_id=project_id, title="t")
                outcomes.append(service.create_task(data))
            except Contended as exc:
                outcomes.append(exc)
    release.set()
    holder.join(30)
    assert not isinstance(outcomes[0], Contended)
    assert isinstance(outcomes[1], Contended)
    with here.read() as rows:
        assert len(rows.list_tasks(TaskFilter(project_id=free.id), 0)) == 1
        assert rows.list_tasks(TaskFilter(project_id=busy.id), 0) == []


@pytest.mark.anyio
async def test_group_commit_runs_a_contended_write_again_in_the_next_batch(
    instances: Callable[[], PgStore],
) -> None:
    here, there = instances(), instances()
    service = Service(here)
    busy = service.create_project(ProjectCreate(name="busy")).value
    free = service.create_project(ProjectCreate(name="free")).value
    commits = GroupCommit(here)
    await commits.start()
    holding, release, gate = threading.Event(), threading.Event(), threading.Event()

    def hold_busy() -> None:
        with there.write() as rows:
            rows.get_project(busy.id)
            holding.set()
            release.wait(30)

    holder = threading.Thread(target=hold_busy)
    holder.start()
    try:
        assert holding.wait(30)
        # A first batch holds the writer while the next two queue: they share a batch,
        # where the first takes `free`'s lock and the second meets `busy`'s.
        blocker = asyncio.ensure_future(commits.run(partial(gate.wait, 30)))
        await asyncio.sleep(0)
        first = asyncio.ensure_future(
            commits.run(partial(service.create_task, TaskCreate(project_id=free.id, title="1")))
        )
        second = asyncio.ensure_future(
            commits.run(partial(service.create_task, TaskCreate(project_id=busy.id, title="2")))
        )
        await asyncio.sleep(0)
        gate.set()
        await blocker
        created_first = await first
        assert not second.done()  # undone, run again first in a batch: waits for the lock
        release.set()
        created_second = await second
        assert created_second.value.title == "2"
        assert created_second.seq == created_first.seq + 1
    finally:
        gate.set()
        release.set()
        holder.join(30)
        await commits.stop()


def test_an_idempotency_key_used_at_once_on_two_instances_is_used_once(
    instances: Callable[[], PgStore],
) -> None:
    """The duplicate waits for the first transaction on the key's unique index, then
    replays its result."""
    here, there = instances(), instances()
    project = Service(here).create_project(ProjectCreate(name="p")).value
    first_inside = threading.Event()
    finish = threading.Event()
    results: dict[str, Result[Task]] = {}

    def first() -> None:
        service = Service(here)
        with here.batch():
            results["first"] = service.create_task(
                TaskCreate(project_id=project.id, title="once"), idempotency_key="k"
            )
            first_inside.set()
            finish.wait(30)  # holds the key, uncommitted

    def duplicate() -> None:
        results["second"] = Service(there).create_task(
            TaskCreate(project_id=project.id, title="once"), idempotency_key="k"
        )

    one = threading.Thread(target=first)
    one.start()
    assert first_inside.wait(30)
    two = threading.Thread(target=duplicate)
    two.start()
    wait_for(lambda: _waiting_on_a_lock(there) >= 1, what="the duplicate to wait")
    finish.set()
    one.join(30)
    two.join(30)
    a, b = results["first"], results["second"]
    assert a.value == b.value
    assert a.seq == b.seq
    assert b.replayed
    with here.read() as rows:
        assert len(rows.list_tasks(TaskFilter(project_id=project.id), 0)) == 1
        assert rows.head() == 2  # project:created, task:created: nothing twice


def test_two_instances_reserving_overlapping_files_at_once_one_wins(
    instances: Callable[[], PgStore],
) -> None:
    """The second reservation waits for the first one's transaction (its project's
    lock), then sees it and is refused: never both."""
    here, there = instances(), instances()
    project = Service(here).create_project(ProjectCreate(name="p")).value
    first_session, second_session = (
        Service(here).create_session(SessionCreate(project_id=project.id, name=name)).value
        for name in ("first", "second")
    )
    first_inside, finish = threading.Event(), threading.Event()
    outcomes: dict[str, object] = {}

    def first() -> None:
        with here.batch():  # its transaction stays open until the batch ends
            request = ReservationRequest(paths=["src/**"])
            outcomes["first"] = Service(here).reserve(first_session.id, request).value
            first_inside.set()
            finish.wait(30)

    def second() -> None:
        request = ReservationRequest(paths=["src/api/*.py"])
        try:
            outcomes["second"] = Service(there).reserve(second_session.id, request).value
        except ReservationConflict as exc:
            outcomes["second"] = exc

    one = threading.Thread(target=first)
    one.start()
    assert first_inside.wait(30)
    two = threading.Thread(target=second)
    two.start()
    wait_for(lambda: _waiting_on_a_lock(there) >= 1, what="the second to wait")
    finish.set()
    one.join(30)
    two.join(30)
    assert isinstance(outcomes["second"], ReservationConflict)
    assert "src/**" in str(outcomes["second"])
    with here.read() as rows:
        assert [r.pattern for r in rows.list_reservations(project_id=project.id)] == ["src/**"]


def test_the_reaper_reads_expired_reservations_under_their_projects_locks(
    instances: Callable[[], PgStore],
) -> None:
    """A write that finds reservations whose lease ran out releases them as it found
    them (reservations.expire reads nothing again): it reads them only once it holds
    their projects' locks, so that what another instance did to them meanwhile (here:
    released one) is what it sees, and no reservation is released twice."""
    here, there = instances(), instances()
    service = Service(here)
    project = service.create_project(ProjectCreate(name="p")).value
    session = service.create_session(SessionCreate(project_id=project.id, name="s")).value
    [held] = service.reserve(session.id, ReservationRequest(paths=["src/"], lease_seconds=1)).value
    holding, release = threading.Event(), threading.Event()
    found: list[list[Reservation]] = []

    def release_elsewhere() -> None:
        with there.write() as rows:
            rows.get_project(project.id)  # the project's lock, until COMMIT
            rows.delete_reservations([held.id])
            holding.set()
            release.wait(30)

    def reap() -> None:
        with here.write() as rows:
            found.append(rows.expired_reservations(held.expires_at))

    other = threading.Thread(target=release_elsewhere)
    other.start()
    assert holding.wait(30)
    reaper = threading.Thread(target=reap)
    reaper.start()
    wait_for(lambda: _waiting_on_a_lock(there) >= 1, what="the reaper to wait for the lock")
    release.set()
    other.join(30)
    reaper.join(30)
    assert found == [[]]
    with here.read() as rows:  # a read takes no lock: it answers at once
        assert rows.expired_reservations(held.expires_at) == []


def _waiting_on_a_lock(store: PgStore) -> int:
    with psycopg.connect(store.url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
            "AND datname = current_database()"
        ).fetchone()
    return int(row[0]) if row else 0


def test_instances_starting_together_migrate_once(databases: PostgresDatabases) -> None:
    """Six instances migrate an empty database at once: each migration is applied once
    (without the lock, two would create the same tables)."""
    empty = databases.create_empty()
    stores = [PgStore(empty) for _ in range(6)]
    try:
        with ThreadPoolExecutor(6) as pool:
            versions = list(pool.map(lambda s: s.migrate(), stores))
        assert versions == [SCHEMA_VERSION] * 6
        with stores[0].read() as rows:
            assert rows.head() == 0
            ((made,),) = rows.conn.execute("SELECT count(*) FROM maestro_schema").fetchall()
        assert made == 1
    finally:
        for store in stores:
            store.close()


def test_a_newer_schema_is_refused_naming_the_database(database: str) -> None:
    make_schema_newer(database)
    store = PgStore(database)
    with pytest.raises(SchemaTooNew, match="upgrade Maestro"):
        store.migrate()
    store.close()


def test_leases_use_the_database_clock(instances: Callable[[], PgStore]) -> None:
    store = instances()
    with psycopg.connect(store.url) as conn:
        row = conn.execute("SELECT (extract(epoch FROM clock_timestamp()) * 1000)::bigint")
        server_now = int(row.fetchone()[0])  # type: ignore[index]
    assert abs(store.clock() - server_now) < 1000


def test_the_epoch_is_the_same_on_every_instance_and_new_on_a_copy(
    instances: Callable[[], PgStore], databases: PostgresDatabases, database: str
) -> None:
    """A database copied (as a restore makes one) has another epoch: clients of the
    original reset instead of trusting their seqs there."""
    first, second = instances(), instances()
    assert first.epoch() == second.epoch()
    name = database.rsplit("/", 1)[1]
    first.close()
    second.close()
    copy = f"{name}_copy"
    with psycopg.connect(databases.server_url, autocommit=True) as admin:
        # A template must have no connections: end any the closed pools left closing.
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> pg_backend_pid()",
            (name,),
        )
        admin.execute(f'CREATE DATABASE "{copy}" TEMPLATE "{name}"')
    try:
        copied, original = PgStore(with_database(database, copy)), PgStore(database)
        try:
            assert copied.epoch() != original.epoch()
        finally:
            copied.close()
            original.close()
    finally:
        databases.drop(with_database(database, copy))


def test_only_one_transaction_leads_a_role_at_a_time(instances: Callable[[], PgStore]) -> None:
    here, there = instances(), instances()
    inside, done = threading.Event(), threading.Event()

    def lead() -> None:
        with here.write() as rows:
            assert rows.lead("maestro:pruning")
            inside.set()
            done.wait(30)

    leader = threading.Thread(target=lead)
    leader.start()
    assert inside.wait(30)
    with there.write() as rows:
        assert not rows.lead("maestro:pruning")
    done.set()
    leader.join(30)
    with there.write() as rows:
        assert rows.lead("maestro:pruning")


def test_an_unreachable_server_is_named_with_the_password_masked() -> None:
    from maestro_mcp.core.storage import StoreUnavailable

    store = PgStore("postgresql://maestro:s3cret@127.0.0.1:1/maestro")
    with pytest.raises(StoreUnavailable) as raised:
        store.migrate()
    message = str(raised.value)
    assert "postgresql://maestro:***@127.0.0.1:1/maestro" in message
    assert "s3cret" not in message
    store.close()


def test_the_clock_is_read_without_a_second_connection_of_the_pool(database: str) -> None:
    """clock() runs inside transactions holding a pooled connection: syncing it must not
    wait for another one (a full pool would time out), and a failed sync keeps the
    last offset."""
    store = PgStore(database, pool_max=1)
    store.migrate()
    try:
        first = store.clock()
        with store.write() as rows:  # holds the pool's only connection
            rows.head()
            store._clock_due = float("-inf")  # due now
            assert abs(store.clock() - first) < 5_000
        store.url = "postgresql://nobody@127.0.0.1:1/gone"  # every new connection fails now
        store._clock_due = float("-inf")
        assert abs(store.clock() - first) < 5_000  # the last offset serves
    finally:
        store.close()
