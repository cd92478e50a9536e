"""The core runtime: what it starts and in which order, what it stops, and that it runs once."""

import asyncio
import sqlite3
import threading
from collections.abc import Iterator
from dataclasses import replace
from functools import partial
from typing import Any

import anyio
import anyio.lowlevel
import psycopg
import pytest

from maestro_mcp.core.models import ProjectCreate, TaskCreate
from maestro_mcp.core.runtime import Core, _every
from maestro_mcp.core.service import Service
from maestro_mcp.core.storage import SchemaTooNew, StoreUnavailable
from maestro_mcp.core.storage.sqlite.store import SqliteStore
from maestro_mcp.settings import Settings
from tests.support.stores import make_schema_newer

pytestmark = pytest.mark.anyio


def writer_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "maestro-writer"]


async def test_a_running_core_migrated_and_serves_reads_writes_and_the_feed(
    settings: Settings,
) -> None:
    async with Core(settings) as core:
        assert (await core.read(core.service.list_projects)).value == []  # migrated
        subscriber = core.feed.subscribe()
        created = await core.write(
            lambda: core.service.create_project(ProjectCreate(name="p")), actor="tester"
        )
        [event] = await subscriber.next_batch()  # the feed was woken by the commit
        assert event.seq == created.seq
        assert len(writer_threads()) == 1
    # Stopped: the writer ended, the feed closed its subscribers, nothing is taken.
    assert writer_threads() == []
    assert subscriber.closed
    with pytest.raises(RuntimeError, match="stopped"):
        await core.read(core.service.list_projects)
    with pytest.raises(RuntimeError, match="not running"):
        await core.write(core.service.list_projects, actor="tester")


async def test_a_core_runs_once(settings: Settings) -> None:
    core = Core(settings)
    async with core:
        with pytest.raises(RuntimeError, match="a core runs once"):
            await core.__aenter__()
    with pytest.raises(RuntimeError, match="the core is stopped: a core runs once"):
        await core.__aenter__()


async def test_a_start_that_fails_half_way_leaves_nothing_running(database: str) -> None:
    make_schema_newer(database)
    core = Core(Settings(database=database))
    with pytest.raises(SchemaTooNew):
        await core.__aenter__()
    assert writer_threads() == []
    with pytest.raises(RuntimeError, match="database is closed"):
        core.service.list_projects()  # the store was closed
    with pytest.raises(RuntimeError, match="a core runs once"):
        await core.__aenter__()


async def test_stopping_waits_for_reads_in_flight(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    reading, finish = threading.Event(), threading.Event()
    in_flight = threading.Event()
    closed_during_a_read: list[bool] = []

    def slow_read() -> int:
        in_flight.set()
        reading.set()
        finish.wait(10)
        found = len(core.service.list_projects().value)  # the store must still be open
        in_flight.clear()
        return found

    core = Core(settings)
    close = core.store.close

    def watched_close() -> None:
        closed_during_a_read.append(in_flight.is_set())
        close()

    monkeypatch.setattr(core.store, "close", watched_close)
    results: list[int] = []
    async with core, anyio.create_task_group() as tasks:

        async def read() -> None:
            results.append(await core.read(slow_read))

        async def finish_once_stopping() -> None:
            while True:  # until the core refuses new reads: it is stopping
                try:
                    await core.read(lambda: None)
                except RuntimeError:
                    break
                await anyio.lowlevel.checkpoint()
            finish.set()

        tasks.start_soon(read)
        await anyio.to_thread.run_sync(reading.wait)
        tasks.start_soon(finish_once_stopping)
        await core.__aexit__(None, None, None)
    assert results == [0]
    assert closed_during_a_read == [False]


async def test_a_read_is_one_snapshot(settings: Settings, service: Service) -> None:
    """Every service call inside one ``core.read`` sees the same state, even when
    someone else commits in between."""
    async with Core(settings) as core:

        def two_looks() -> tuple[int, int, int]:
            before = core.service.list_projects()
            committed = threading.Thread(
                target=lambda: service.create_project(ProjectCreate(name="meanwhile"))
            )
            committed.start()
            committed.join()
            after = core.service.list_projects()
            return len(before.value), len(after.value), after.seq - before.seq

        assert await core.read(two_looks) == (0, 0, 0)
        assert len((await core.read(core.service.list_projects)).value) == 1


async def test_a_read_whose_caller_is_cancelled_still_holds_off_the_close(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A chore or a request cancelled mid-read stops waiting, but its thread runs on:
    the store is closed only after it (closing a connection under a read crashed)."""
    reading, finish, in_flight = threading.Event(), threading.Event(), threading.Event()
    closed = threading.Event()
    closed_during_a_read: list[bool] = []

    def slow_read() -> None:
        in_flight.set()
        reading.set()
        finish.wait(10)
        # A close that does not wait for this read would come now: give it the time to
        # (the one bounded wait here: for something that must not happen).
        closed.wait(0.2)
        core.service.list_projects()
        in_flight.clear()

    core = Core(settings)
    close = core.store.close

    def watched_close() -> None:
        closed_during_a_read.append(in_flight.is_set())
        closed.set()
        close()

    monkeypatch.setattr(core.store, "close", watched_close)
    async with core:
        caller = asyncio.create_task(core.read(slow_read))
        await anyio.to_thread.run_sync(reading.wait)
        caller.cancel()  # a native cancellation, as a chore's at shutdown
        with pytest.raises(asyncio.CancelledError):
            await caller
        # The read's thread is still on: stopping must wait for it, and lets it end then.
        wait_for_readers = core._wait_for_readers

        def release_the_read_then_wait() -> None:
            finish.set()
            wait_for_readers()

        monkeypatch.setattr(core, "_wait_for_readers", release_the_read_then_wait)
    assert closed_during_a_read == [False]


async def test_a_chore_says_once_per_outage_that_the_database_is_away(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A chore failing because the database is out of reach (restarting) is one warning
    per outage, without a traceback; any other failure is logged with its traceback."""
    outcomes: list[BaseException | None] = [
        StoreUnavailable("away"),
        StoreUnavailable("still away"),
        None,
        StoreUnavailable("away again"),
        RuntimeError("a bug"),
    ]
    done = asyncio.Event()

    async def chore() -> None:
        if not outcomes:
            done.set()
            return
        outcome = outcomes.pop(0)
        if outcome is not None:
            raise outcome

    with caplog.at_level("WARNING", logger="maestro_mcp.core.runtime"):
        task = asyncio.create_task(_every(0, chore, "maestro-chore"))
        with anyio.fail_after(10):
            await done.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    said = [(r.levelname, r.getMessage(), r.exc_info is not None) for r in caplog.records]
    assert said == [
        ("WARNING", "maestro-chore: away; will retry", False),
        ("WARNING", "maestro-chore: away again; will retry", False),
        ("ERROR", "maestro-chore failed; will retry", True),
    ]


@pytest.mark.only_store("sqlite")
async def test_start_reads_no_table_whole(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What a start reads does not grow with the database (docs/performance.md: start
    is O(1) in the number of tasks): every query it makes is answered by an index, or
    reads a one-row table, or stops at its first row. Checked on the query plans, so it
    holds for any size."""
    async with Core(settings) as core:
        project = await core.write(
            lambda: core.service.create_project(ProjectCreate(name="p")), actor="tester"
        )
        for n in range(20):
            task = TaskCreate(project_id=project.value.id, title=f"t{n}")
            await core.write(partial(core.service.create_task, task), actor="tester")
    statements: list[str] = []
    connect = SqliteStore.connect

    def traced(store: SqliteStore) -> sqlite3.Connection:
        conn = connect(store)
        conn.set_trace_callback(statements.append)
        return conn

    monkeypatch.setattr(SqliteStore, "connect", traced)
    core = Core(settings)
    async with core:
        started = list(statements)  # the chores, started last, have not run yet
    assert 0 < len(started) <= 14, started  # with the read of whether tokens exist
    one_row_tables = {"history"}
    with sqlite3.connect(settings.database) as conn:
        for statement in started:
            if not statement.lstrip().upper().startswith(("SELECT", "WITH")):
                continue
            if statement.rstrip().upper().endswith("LIMIT 1"):
                continue  # stops at its first row, whatever the table holds
            plan = [row[3] for row in conn.execute(f"EXPLAIN QUERY PLAN {statement}")]
            scans = [step for step in plan if step.startswith("SCAN ")]
            assert all(step.split()[1] in one_row_tables for step in scans), (statement, plan)


@pytest.mark.only_store("postgresql")
async def test_start_on_postgresql_reads_no_table_whole(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same on PostgreSQL: with sequential scans turned off, the plan of every query
    a start makes reads no table but a one-row one or the system's without a condition
    or a limit: an index answers each, whatever the database's size."""
    async with Core(settings) as core:
        project = await core.write(
            lambda: core.service.create_project(ProjectCreate(name="p")), actor="tester"
        )
        for n in range(20):
            task = TaskCreate(project_id=project.value.id, title=f"t{n}")
            await core.write(partial(core.service.create_task, task), actor="tester")
    statements: list[tuple[str, Any]] = []
    execute = psycopg.Connection.execute

    def traced(conn: Any, query: Any, params: Any = None, **options: Any) -> Any:
        statements.append((str(query), params))
        return execute(conn, query, params, **options)

    monkeypatch.setattr(psycopg.Connection, "execute", traced)
    async with Core(settings):
        started = list(statements)  # the chores, started last, have not run yet
    monkeypatch.undo()
    reads = [(q, p) for q, p in started if q.lstrip().upper().startswith(("SELECT", "WITH"))]
    assert 0 < len(reads) <= 12, started
    one_row_tables = {"maestro_schema", "event_head"}
    with psycopg.connect(str(settings.database), autocommit=True) as conn:
        conn.execute("SET enable_seqscan = off")
        for query, params in reads:
            row = conn.execute(f"EXPLAIN (FORMAT JSON) {query}", params).fetchone()
            assert row is not None
            whole = {
                node["Relation Name"]
                for node in _unbounded_scans(row[0][0]["Plan"])
                if node["Relation Name"] not in one_row_tables
                and not node["Relation Name"].startswith("pg_")
            }
            assert not whole, (query, row[0])


# Nodes that read all their input before a Limit above them can stop it.
_READ_WHOLE = {"Sort", "Aggregate", "Hash", "Materialize", "WindowAgg", "Unique", "SetOp"}


def _unbounded_scans(node: dict[str, Any], limited: bool = False) -> Iterator[dict[str, Any]]:
    """The plan's scans of a table that may read all of it: with no condition for an
    index to answer, and no limit above them that stops them early."""
    kind = node["Node Type"]
    limited = (limited or kind == "Limit") and kind not in _READ_WHOLE
    conditions = ("Index Cond", "Recheck Cond", "TID Cond")
    scans = "Relation Name" in node and kind != "ModifyTable"  # a write's target: no scan
    if scans and not limited and not any(c in node for c in conditions):
        yield node
    for child in node.get("Plans", []):
        # An InitPlan or SubPlan runs whole, whatever limits the plan it serves.
        bounded = limited and child.get("Parent Relationship") not in ("InitPlan", "SubPlan")
        yield from _unbounded_scans(child, bounded)


async def test_stopping_does_not_fail_a_chore_in_the_middle_of_a_pass(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    """The reaper runs all the time here: a stop that refused its next read before
    cancelling it logged that refusal as the chore's failure, with a traceback."""

    class Reaping(Core):
        passes = 0
        reaping: asyncio.Event

        async def _reap(self) -> None:
            await super()._reap()
            self.passes += 1
            if self.passes == 3:
                self.reaping.set()

    busy = replace(settings, reap_interval=0.0, prune_interval=0.0)
    with caplog.at_level("WARNING", logger="maestro_mcp.core.runtime"):
        for _ in range(5):
            core = Reaping(busy)
            core.reaping = asyncio.Event()
            async with core:
                with anyio.fail_after(10):
                    await core.reaping.wait()  # stopped while it reaps, pass after pass
    assert [r.getMessage() for r in caplog.records] == []
