"""Rule: the event log is bounded by count, bytes and age (``--event-retention``,
``--event-retention-size``, ``--event-retention-age``: 100,000 events, 64 MiB, 7 days by
default), always keeping its newest event, and the store reclaims the space: SQLite
gives free pages back to the file system (incremental vacuum), PostgreSQL's
autovacuum makes them reusable, and nothing of Maestro's holds it up."""

import sqlite3
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner

from http_api import Settings
from maestro_mcp.cli.main import cli
from maestro_mcp.core.models import ProjectCreate, TaskPatch
from maestro_mcp.core.runtime import Core
from maestro_mcp.core.service import Service
from maestro_mcp.core.storage import Store
from maestro_mcp.core.storage.location import open_store
from maestro_mcp.settings import (
    DEFAULT_EVENT_RETENTION,
    DEFAULT_EVENT_RETENTION_AGE,
    DEFAULT_EVENT_RETENTION_BYTES,
)
from tests.support.core import new_task
from tests.support.servers import live_server
from tests.support.waiting import wait_for

pytestmark = pytest.mark.anyio

HOUR_MS = 3600 * 1000


def _log(store: Store) -> tuple[int | None, int, int]:
    """The log's oldest seq, its head, and the bytes of its envelopes."""
    with store.read() as rows:
        events = rows.read_events_after(0, 1_000_000)
        return rows.oldest(), rows.head(), sum(len(e.payload.encode()) for e in events)


def _edits(service: Service, count: int, text: str = "x" * 1000) -> str:
    """``count`` events of about ``len(text)`` bytes each (a task's description edited)."""
    project = service.create_project(ProjectCreate(name="log", allow_duplicate=True)).value
    task = new_task(service, project.id)
    for i in range(count):
        service.update_task(task.id, TaskPatch(description=f"{i} {text}"))
    return task.id


def test_the_defaults() -> None:
    settings = Settings(database="x")
    assert settings.event_retention == DEFAULT_EVENT_RETENTION == 100_000
    assert settings.event_retention_bytes == DEFAULT_EVENT_RETENTION_BYTES == 64 << 20
    assert settings.event_retention_age == DEFAULT_EVENT_RETENTION_AGE == 7 * 86400


def test_pruning_by_bytes_keeps_the_newest_within_the_bound(service: Service) -> None:
    _edits(service, 200)
    _, head, size = _log(service.store)
    assert size > 200_000
    bound = 50_000

    deleted, _ = service.prune(keep_events=1_000_000, keep_bytes=bound)

    oldest, still, kept = _log(service.store)
    assert still == head
    assert deleted == (oldest or 0) - 1
    assert kept <= bound
    assert kept > bound - 2_000  # no more than an event's worth under it
    # One event larger than the bound: the newest is always kept.
    assert service.prune(keep_events=1_000_000, keep_bytes=10)[0] == head - (oldest or 0)
    assert _log(service.store)[:2] == (head, head)


def test_pruning_by_age_keeps_what_is_younger(service: Service) -> None:
    start = service.clock()
    now = start
    service.clock = lambda: now
    _edits(service, 10)
    _, old_head, _ = _log(service.store)
    now = start + 2 * HOUR_MS
    _edits(service, 5)
    _, head, _ = _log(service.store)

    now = start + 2 * HOUR_MS + HOUR_MS // 2  # the first ten are 2.5 h old, the rest 0.5 h
    deleted, _ = service.prune(keep_events=1_000_000, max_age_ms=HOUR_MS)

    assert deleted == old_head
    assert _log(service.store)[:2] == (old_head + 1, head)
    now = start + 10 * HOUR_MS  # all of it is old now: the newest stays
    service.prune(keep_events=1_000_000, max_age_ms=HOUR_MS)
    assert _log(service.store)[:2] == (head, head)


def test_each_bound_applies_alone(service: Service) -> None:
    _edits(service, 30)
    _, head, _ = _log(service.store)
    assert service.prune(keep_events=20, keep_bytes=10**9, max_age_ms=10**12)[0] == head - 20
    assert service.prune(keep_events=10**6, keep_bytes=None, max_age_ms=None)[0] == 0


@pytest.mark.only_store("sqlite")
def test_sqlite_gives_the_space_of_a_pruned_log_back(settings: Settings) -> None:
    """Through the pruner of a running server, as ``maestro serve`` runs it: the file
    shrinks."""
    path = Path(str(settings.database))
    unbounded = replace(
        settings, event_retention_bytes=0, max_write_log_bytes=0, prune_interval=3600
    )
    with live_server(unbounded) as server:
        _edits(server.core.service, 400, "y" * 40_000)
    grown = path.stat().st_size
    assert grown > 15 << 20

    bounded = replace(settings, event_retention_bytes=1 << 20, prune_interval=3600)
    with live_server(bounded) as server:  # the pruner's first pass runs at start
        wait_for(lambda: (_log(server.core.store)[0] or 0) > 1, what="the first pruning pass")
        wait_for(lambda: _free_pages(path) == 0, what="the free pages given back")
        assert _log(server.core.store)[2] <= 1 << 20
    shrunk = path.stat().st_size  # closed: the WAL is checkpointed into the file
    assert shrunk < grown / 8, (grown, shrunk)


def _free_pages(path: Path) -> int:
    with sqlite3.connect(path) as conn:
        (free,) = conn.execute("PRAGMA freelist_count").fetchone()
    conn.close()
    return int(free)


@pytest.mark.only_store("sqlite")
def test_an_older_sqlite_file_is_switched_to_incremental_vacuum_once(database: str) -> None:
    store = open_store(database)
    store.migrate()
    service = Service(store)
    _edits(service, 3)
    head = service.head()
    store.close()
    with sqlite3.connect(database, isolation_level=None) as conn:  # as files were made before
        conn.execute("PRAGMA auto_vacuum=NONE")
        conn.execute("VACUUM")
        assert conn.execute("PRAGMA auto_vacuum").fetchone() == (0,)
    conn.close()

    store = open_store(database)
    try:
        store.migrate()
        with store.read() as rows:
            assert rows.head() == head
            assert rows.conn.execute("PRAGMA auto_vacuum").fetchone() == (2,)  # type: ignore[attr-defined]
    finally:
        store.close()


@pytest.mark.only_store("postgresql")
async def test_nothing_holds_up_postgresql_autovacuum(settings: Settings, database: str) -> None:
    """While a core runs (its pool, its feed's LISTEN and reading connections), what it
    pruned is dead to every snapshot: VACUUM, as autovacuum runs it, can remove it all."""
    async with Core(replace(settings, prune_interval=3600)) as core:
        await core.write(lambda: _edits(core.service, 50), actor="tester")
        await core.read(core.service.list_tasks)  # the read path has run too
        deleted, _ = await core.write(lambda: core.service.prune(keep_events=5), actor="tester")
        assert deleted > 0
        notices: list[str] = []
        with psycopg.connect(database, autocommit=True) as conn:
            conn.add_notice_handler(lambda diag: notices.append(diag.message_primary or ""))
            conn.execute("VACUUM (VERBOSE) events")
        # One "tuples:" line per relation vacuumed (the table, its TOAST table).
        lines = [line.strip() for n in notices for line in n.splitlines()]
        tuples = [line for line in lines if line.startswith("tuples:")]
        assert tuples, notices
        assert all(", 0 are dead but not yet removable" in line for line in tuples), tuples
        assert not all(line.startswith("tuples: 0 removed") for line in tuples), tuples


def test_serve_takes_the_bounds_from_flags_and_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The flags, with units, reach the core's Settings (``maestro serve`` stops before
    it listens: the server class is replaced by one that records its settings)."""
    seen: list[Settings] = []
    _record_settings(monkeypatch, seen.append)
    monkeypatch.setenv("MAESTRO_EVENT_RETENTION_AGE", "36h")
    result = CliRunner().invoke(
        cli,
        [
            "serve",
            "--db",
            str(tmp_path / "m.db"),
            "--event-retention",
            "500",
            "--event-retention-size",
            "2MiB",
            "--max-write-log",
            "300KB",
        ],
    )
    assert result.exit_code == 0, result.output
    [settings] = seen
    assert settings.event_retention == 500
    assert settings.event_retention_bytes == 2 * 1024 * 1024
    assert settings.event_retention_age == 36 * 3600
    assert settings.max_write_log_bytes == 300_000
    refused = CliRunner().invoke(cli, ["serve", "--event-retention-size", "lots"])
    assert refused.exit_code == 2
    assert "is not a size" in refused.output


def _record_settings(monkeypatch: pytest.MonkeyPatch, record: Callable[[Settings], None]) -> None:
    import http_api

    def create_app(core: Core) -> None:
        record(core.settings)
        raise SystemExit(0)

    monkeypatch.setattr(http_api, "create_app", create_app)
