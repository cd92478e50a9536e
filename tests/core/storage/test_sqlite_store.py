import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any
from unittest.mock import patch

import pytest

from maestro_mcp.core.events import EventType, PendingEvent
from maestro_mcp.core.models import ProjectCreate, Task, TaskCreate
from maestro_mcp.core.service import Service
from maestro_mcp.core.storage import BatchUndone, Durability, SchemaTooNew
from maestro_mcp.core.storage.sqlite import BatchAborted, SqliteStore
from maestro_mcp.core.storage.sqlite.log_rows import SqliteLogReader
from maestro_mcp.core.storage.sqlite.schema import SCHEMA_VERSION
from tests.core.storage.sqlite_faults import fill_the_disk, poison_the_commit

pytestmark = pytest.mark.only_store("sqlite")


@pytest.fixture
def db_path(database: str) -> Path:
    return Path(database)


def test_migrate_creates_schema_in_wal_mode(db_path: Path) -> None:
    db = SqliteStore(db_path)
    assert db.migrate() == SCHEMA_VERSION
    conn = db.conn
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"projects", "tasks", "sessions", "task_sessions", "events", "idempotency"} <= tables
    db.close()


def test_migrate_twice_is_a_no_op(db: SqliteStore) -> None:
    assert db.migrate() == SCHEMA_VERSION


def test_durability_sets_synchronous(db_path: Path) -> None:
    normal = SqliteStore(db_path)
    full = SqliteStore(db_path, durability=Durability.FULL)
    assert normal.conn.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
    assert full.conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    normal.close()
    full.close()


def test_newer_schema_is_refused(db_path: Path) -> None:
    conn = sqlite3.connect(db_path)
    conn.execute(f"PRAGMA user_version={SCHEMA_VERSION + 1}")
    conn.close()
    db = SqliteStore(db_path)
    with pytest.raises(SchemaTooNew, match="upgrade Maestro"):
        db.migrate()
    db.close()


def test_failed_write_rolls_back(db: SqliteStore) -> None:
    def failing_write() -> None:
        with db.write() as rows:
            conn = rows.conn
            conn.execute("INSERT INTO events (seq, ts, type, payload) VALUES (1, 0, 'x', '{}')")
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        failing_write()
    assert db.conn.execute("SELECT COUNT(*) FROM events").fetchone()[0] == 0


def test_closed_database_refuses_new_connections(db_path: Path) -> None:
    db = SqliteStore(db_path)
    db.close()
    with pytest.raises(RuntimeError, match="closed"):
        _ = db.conn


def _insert_event(db: SqliteStore, seq: int, *, fail: bool = False) -> None:
    with db.write() as rows:
        conn = rows.conn
        conn.execute("INSERT INTO events (seq, ts, type, payload) VALUES (?, 0, 'x', '{}')", (seq,))
        if fail:
            raise RuntimeError("boom")


def _seqs(db: SqliteStore) -> list[int]:
    return [row[0] for row in db.conn.execute("SELECT seq FROM events ORDER BY seq")]


def test_writes_in_a_batch_commit_together_and_fail_alone(db: SqliteStore, db_path: Path) -> None:
    other = SqliteStore(db_path)  # another connection sees only committed data
    committed: list[str] = []
    with db.batch():
        _insert_event(db, 1)
        with pytest.raises(RuntimeError):
            _insert_event(db, 2, fail=True)  # undone alone, in its savepoint
        _insert_event(db, 3)
        db.after_commit(lambda: committed.append("notified"))
        with db.read() as rows:  # reads inside the batch see its writes
            assert rows.conn.execute("SELECT COUNT(*) FROM events").fetchone()[0] == 2
        assert _seqs(other) == []
        assert committed == []
    assert _seqs(other) == [1, 3]
    assert committed == ["notified"]
    other.close()


def _append(db: SqliteStore, *, fail: bool = False, project: str = "proj_x") -> int:
    """One event appended as the service appends it; returns its seq."""
    with db.write() as rows:
        data = f'{{"id":"{project}"}}'
        event = PendingEvent(EventType.PROJECT_DELETED, project, data, '"t"')
        seq = rows.append_events([event], 0).seq
        if fail:
            raise RuntimeError("boom")
    return seq


def _read_then_fail(db: SqliteStore) -> None:
    with db.write() as rows:
        rows.conn.execute("SELECT COUNT(*) FROM events").fetchone()
        raise RuntimeError("refused before writing")


def test_a_careless_batch_s_write_fails_alone_until_it_changes_rows(db: SqliteStore) -> None:
    """Without a savepoint, a write that fails before changing a row leaves nothing to
    undo: the batch goes on. One that fails after changing rows undoes the batch."""
    with db.batch(careful=False):
        _insert_event(db, 1)
        with pytest.raises(RuntimeError, match="before writing"):
            _read_then_fail(db)
        _insert_event(db, 2)
    assert _seqs(db) == [1, 2]

    def undone() -> None:
        with db.batch(careful=False):
            _insert_event(db, 3)
            _insert_event(db, 4, fail=True)

    with pytest.raises(BatchUndone):
        undone()
    assert _seqs(db) == [1, 2]
    assert not db.conn.in_transaction


def test_a_careless_batch_whose_transaction_sqlite_dropped_keeps_nothing(
    db: SqliteStore,
) -> None:
    def batch() -> None:
        with db.batch(careful=False):
            _insert_event(db, 1)
            with pytest.raises(sqlite3.OperationalError, match="full"):
                fill_the_disk(db)
            with pytest.raises(BatchAborted):
                _insert_event(db, 3)

    with pytest.raises(BatchAborted, match="full"):
        batch()
    assert _seqs(db) == []


def test_a_batch_reads_the_log_s_head_once(db: SqliteStore, db_path: Path) -> None:
    """Its writes append after the head the batch's earlier writes left, without asking
    the log; a write undone in its savepoint takes its seqs with it; the next batch reads
    the head again (another process may have appended in between)."""
    statements: list[str] = []
    db.conn.set_trace_callback(statements.append)
    with db.batch():
        first = _append(db)
        with pytest.raises(RuntimeError):
            _append(db, fail=True)
        second = _append(db)
    assert second == first + 1
    assert sum("MAX(seq)" in statement for statement in statements) == 1
    other = SqliteStore(db_path)
    assert _append(other) == second + 1  # another connection, after the batch
    assert _append(db) == second + 2  # a write of its own
    assert _append(other) == second + 3
    with db.batch(careful=False):
        assert _append(db) == second + 4
    other.close()
    db.conn.set_trace_callback(None)
    assert _seqs(db) == [first, second, *range(second + 1, second + 5)]


@pytest.fixture
def task(db: SqliteStore) -> Task:
    service = Service(db)
    project = service.create_project(ProjectCreate(name="p")).value
    return service.create_task(TaskCreate(project_id=project.id, title="t", prompt="p")).value


def _stored(db: SqliteStore, task_id: str) -> Task:
    with db.read() as rows:
        found = rows.get_task(task_id)
    assert found is not None
    return found


def test_a_task_read_then_saved_writes_only_what_changed(db: SqliteStore, task: Task) -> None:
    statements: list[str] = []
    with db.write() as rows:
        read = rows.get_task(task.id)
        assert read is not None
        rows.conn.set_trace_callback(statements.append)
        rows.save_task(read.model_copy(update={"title": "new", "version": 2}))
        rows.conn.set_trace_callback(None)
    assert [s.split(" WHERE")[0] for s in statements] == [
        "UPDATE tasks SET title = 'new', version = 2"
    ]
    assert _stored(db, task.id) == read.model_copy(update={"title": "new", "version": 2})


def test_a_task_changed_since_it_was_read_is_saved_whole(db: SqliteStore, task: Task) -> None:
    """Whatever changed a row after the read (here a statement of another kind), the
    saved task is what is stored, every column of it."""
    with db.write() as rows:
        read = rows.get_task(task.id)
        assert read is not None
        rows.conn.execute("UPDATE tasks SET prompt = 'meanwhile' WHERE id = ?", (task.id,))
        rows.save_task(read.model_copy(update={"title": "new"}))
    assert _stored(db, task.id) == read.model_copy(update={"title": "new"})


def test_a_row_read_in_another_transaction_is_not_remembered(
    db: SqliteStore, db_path: Path, task: Task
) -> None:
    """Between two transactions another connection may change the row."""
    read = _stored(db, task.id)
    other = SqliteStore(db_path)
    with other.write() as rows:
        rows.conn.execute("UPDATE tasks SET prompt = 'elsewhere' WHERE id = ?", (task.id,))
    other.close()
    with db.write() as rows:
        rows.save_task(read.model_copy(update={"title": "new"}))
    assert _stored(db, task.id) == read.model_copy(update={"title": "new"})


def test_a_write_undone_in_its_savepoint_leaves_no_row_remembered(
    db: SqliteStore, task: Task
) -> None:
    """A row read after a change that its savepoint then undid is not the stored one."""

    def changes_reads_fails() -> None:
        with db.write() as rows:
            rows.save_task(task.model_copy(update={"prompt": "undone", "version": 2}))
            rows.get_task(task.id)  # reads the row as this write changed it
            raise RuntimeError("boom")

    with db.batch():
        with pytest.raises(RuntimeError):
            changes_reads_fails()
        with db.write() as rows:
            rows.save_task(task.model_copy(update={"prompt": "undone", "version": 3}))
    assert _stored(db, task.id) == task.model_copy(update={"prompt": "undone", "version": 3})


def _reads_of_rows(statements: list[str]) -> int:
    return sum("FROM events WHERE seq >" in statement for statement in statements)


def test_the_feed_reads_this_process_s_commits_from_memory(db: SqliteStore, db_path: Path) -> None:
    """Its reader takes what this process committed from memory, in seq order, then what
    another process committed after it from the table; events undone in a savepoint
    were never committed and are not remembered."""
    reader = db.log_reader()
    statements: list[str] = []
    reader.conn.set_trace_callback(statements.append)
    with db.batch():
        first = _append(db)
        with pytest.raises(RuntimeError):
            _append(db, fail=True)
        second = _append(db)
    assert [e.seq for e in reader.read_after(first - 1, 100)] == [first, second]
    assert _reads_of_rows(statements) == 0  # one read of the head, no rows
    other = SqliteStore(db_path)  # another process, as far as the reader can tell
    elsewhere = _append(other)
    other.close()
    third = _append(db)
    events = reader.read_after(first - 1, 100)
    assert [e.seq for e in events] == [first, second, elsewhere, third]
    assert _reads_of_rows(statements) == 1  # from the other's commit on
    with db.read() as rows:
        assert rows.read_events_after(first - 1, 100) == events  # the same, byte for byte
    reader.close()


def test_a_log_found_rewound_forgets_what_this_process_committed(db: SqliteStore) -> None:
    reader = db.log_reader()
    statements: list[str] = []
    reader.conn.set_trace_callback(statements.append)
    seq = _append(db)
    db.renew_epoch(db.epoch())
    assert [e.seq for e in reader.read_after(seq - 1, 100)] == [seq]
    assert _reads_of_rows(statements) == 1
    reader.close()


def _restore(backup: Path, db_path: Path) -> None:
    """A backup restored in place, as `sqlite3 .restore` does: same file, same epoch."""
    with closing(sqlite3.connect(backup)) as source, closing(sqlite3.connect(db_path)) as target:
        source.backup(target)


def _back_up(db: SqliteStore, path: Path) -> Path:
    with closing(sqlite3.connect(path)) as copy:
        db.conn.backup(copy)
    return path


def _table_and_memory(db: SqliteStore, reader: SqliteLogReader, after: int) -> tuple[Any, Any]:
    with db.read() as rows:
        return rows.read_events_after(after, 100), reader.read_after(after, 100)


def test_a_log_rewound_in_place_is_read_from_the_table(
    db: SqliteStore, db_path: Path, tmp_path: Path
) -> None:
    """A backup restored in place keeps the epoch and reuses seqs: what this process
    remembers of the dead history is never served for the new one's seqs, whoever
    commits them, and however this process's new commits link to the dead ones."""
    reader = db.log_reader()
    start = _append(db)
    backup = _back_up(db, tmp_path / "backup.db")
    for _ in range(4):
        _append(db, project="proj_dead")
    _restore(backup, db_path)
    _append(db, project="proj_new")  # seqs of the dead history again
    other = SqliteStore(db_path)
    _append(other, project="proj_other")
    table, memory = _table_and_memory(db, reader, start)
    assert [e.project_id for e in table] == ["proj_new", "proj_other"]
    assert memory == table

    for _ in range(4):
        _append(db, project="proj_dead")  # remembered by this process
    _restore(backup, db_path)
    _append(other, project="proj_other")  # only another process commits
    table, memory = _table_and_memory(db, reader, start)
    assert [e.project_id for e in table] == ["proj_other"]
    assert memory == table

    start = _append(db)
    backup = _back_up(db, tmp_path / "backup-2.db")
    for _ in range(3):
        _append(db, project="proj_dead")
    _restore(backup, db_path)
    for _ in range(3):
        _append(other, project="proj_other")  # the dead seqs, used again by another
    _append(db, project="proj_new")  # right after them: linked to the dead runs in memory
    table, memory = _table_and_memory(db, reader, start)
    assert [e.project_id for e in table] == ["proj_other"] * 3 + ["proj_new"]
    assert memory == table
    checks: list[str] = []
    reader.conn.set_trace_callback(checks.append)
    assert reader.read_after(start, 100) == table
    assert not any(" IS " in statement for statement in checks)  # forgotten: nothing to check
    other.close()
    reader.close()


def test_a_careless_append_refused_leaves_nothing_in_memory(db: SqliteStore) -> None:
    """An append that fails as a statement changed no row: the careless batch goes on,
    and the events it had counted are not committed into the feed's memory."""
    db.conn.execute(
        "CREATE TRIGGER refuse BEFORE INSERT ON events WHEN NEW.project_id = 'proj_bad' "
        "BEGIN SELECT RAISE(ABORT, 'refused'); END"
    )
    reader = db.log_reader()
    before = _append(db)
    with db.batch(careful=False):
        _append(db, project="proj_a")
        with pytest.raises(sqlite3.IntegrityError, match="refused"):
            _append(db, project="proj_bad")
        _append(db, project="proj_b")
    table, memory = _table_and_memory(db, reader, before)
    assert [e.project_id for e in table] == ["proj_a", "proj_b"]
    assert memory == table
    reader.close()


def test_a_batch_whose_commit_fails_writes_nothing_and_notifies_no_one(db: SqliteStore) -> None:
    notified: list[str] = []

    def batch() -> None:
        with db.batch():
            _insert_event(db, 1)
            poison_the_commit(db)
            db.after_commit(lambda: notified.append("notified"))

    with pytest.raises(sqlite3.IntegrityError):
        batch()
    assert _seqs(db) == []
    assert notified == []
    assert not db.conn.in_transaction
    _insert_event(db, 1)  # and the connection works on
    assert _seqs(db) == [1]


def test_after_commit_outside_a_batch_runs_at_once(db: SqliteStore) -> None:
    ran: list[int] = []
    db.after_commit(lambda: ran.append(1))
    assert ran == [1]


def test_a_batch_whose_transaction_sqlite_dropped_keeps_nothing(db: SqliteStore) -> None:
    def batch() -> None:
        with db.batch():
            _insert_event(db, 1)
            with pytest.raises(sqlite3.OperationalError, match="full"):
                fill_the_disk(db)
            # SQLite rolled back the whole transaction: a SAVEPOINT now would start a
            # transaction of its own, committed alone. It is refused instead.
            with pytest.raises(BatchAborted):
                _insert_event(db, 3)

    with pytest.raises(BatchAborted, match="full"):
        batch()
    assert _seqs(db) == []
    assert not db.conn.in_transaction


def test_a_failing_callback_after_commit_does_not_undo_the_batch(db: SqliteStore) -> None:
    ran: list[str] = []

    def broken() -> None:
        raise RuntimeError("a subscriber's bug")

    with patch("maestro_mcp.core.storage.sqlite.store.log.exception") as logged, db.batch():
        _insert_event(db, 1)
        db.after_commit(broken)
        db.after_commit(lambda: ran.append("second"))
    assert _seqs(db) == [1]
    assert ran == ["second"]
    logged.assert_called_once()


def test_a_read_joins_only_transactions_the_store_opened(db: SqliteStore) -> None:
    with db.write() as rows, db.read() as inner:  # a read inside a write sees its writes
        rows.conn.execute("INSERT INTO events (seq, ts, type, payload) VALUES (1, 0, 'x', '{}')")
        assert inner.head() == 1
    # A transaction left open on the connection some other way is not joined silently.
    db.conn.execute("BEGIN")
    with pytest.raises(sqlite3.OperationalError, match="within a transaction"), db.read():
        pass
    db.conn.execute("ROLLBACK")
    with db.read() as rows:
        assert rows.head() == 1


def test_a_newer_schema_is_refused_before_anything_rewrites_the_file(tmp_path: Path) -> None:
    """The one-time switch to incremental vacuum comes after the schema check: a file a
    newer Maestro made is refused as it was found, never rewritten first."""
    path = tmp_path / "newer.db"
    with closing(sqlite3.connect(path)) as conn:
        conn.execute("CREATE TABLE t (x)")
        conn.execute(f"PRAGMA user_version={SCHEMA_VERSION + 1}")
        conn.commit()
        (mode_before,) = conn.execute("PRAGMA auto_vacuum").fetchone()
    store = SqliteStore(path)
    with pytest.raises(SchemaTooNew):
        store.migrate()
    store.close()
    with closing(sqlite3.connect(path)) as conn:
        assert conn.execute("PRAGMA auto_vacuum").fetchone() == (mode_before,)
