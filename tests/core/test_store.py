import sqlite3
from pathlib import Path

import pytest

from maestro_mcp.core.schema import SCHEMA_VERSION
from maestro_mcp.core.store import Database, Durability, SchemaTooNew


def test_migrate_creates_schema_in_wal_mode(db_path: Path) -> None:
    db = Database(db_path)
    assert db.migrate() == SCHEMA_VERSION
    conn = db.conn
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"projects", "tasks", "sessions", "task_sessions", "events", "idempotency"} <= tables
    db.close()


def test_migrate_twice_is_a_no_op(db: Database) -> None:
    assert db.migrate() == SCHEMA_VERSION


def test_durability_sets_synchronous(db_path: Path) -> None:
    normal = Database(db_path)
    full = Database(db_path, durability=Durability.FULL)
    assert normal.conn.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
    assert full.conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    normal.close()
    full.close()


def test_newer_schema_is_refused(db_path: Path) -> None:
    conn = sqlite3.connect(db_path)
    conn.execute(f"PRAGMA user_version={SCHEMA_VERSION + 1}")
    conn.close()
    db = Database(db_path)
    with pytest.raises(SchemaTooNew, match="upgrade Maestro"):
        db.migrate()
    db.close()


def test_failed_write_rolls_back(db: Database) -> None:
    def failing_write() -> None:
        with db.write() as conn:
            conn.execute("INSERT INTO events (seq, ts, type, payload) VALUES (1, 0, 'x', '{}')")
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        failing_write()
    assert db.conn.execute("SELECT COUNT(*) FROM events").fetchone()[0] == 0


def test_closed_database_refuses_new_connections(db_path: Path) -> None:
    db = Database(db_path)
    db.close()
    with pytest.raises(RuntimeError, match="closed"):
        _ = db.conn
