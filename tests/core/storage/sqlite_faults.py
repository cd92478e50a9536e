"""Writes that make SQLite fail the way it fails in production, for tests of the write path."""

from maestro_mcp.core.storage.sqlite import SqliteStore


def fill_the_disk(db: SqliteStore) -> None:
    """A write that gets SQLITE_FULL, as on a full disk: SQLite then rolls back the
    whole transaction, not just the statement (a statement on a table without triggers:
    one with a trigger, like ``events``, keeps a statement journal and loses only
    itself). Raises ``sqlite3.OperationalError``."""
    with db.write() as rows:
        conn = rows.conn
        (pages,) = conn.execute("PRAGMA page_count").fetchone()
        conn.execute(f"PRAGMA max_page_count={pages + 20}")
        try:
            conn.execute(
                "INSERT INTO idempotency (key, fingerprint, result, created_at) "
                "VALUES ('full', 'x', zeroblob(10000000), 0)"
            )
        finally:
            conn.execute("PRAGMA max_page_count=1073741823")


def poison_the_commit(db: SqliteStore) -> None:
    """A write that succeeds, but makes the COMMIT of its transaction fail: a foreign
    key checked only at COMMIT (``sqlite3.IntegrityError`` then)."""
    with db.write() as rows:
        conn = rows.conn
        conn.execute("PRAGMA defer_foreign_keys=ON")
        conn.execute(
            "INSERT INTO sessions (id, project_id, name, agent, status, created_at, "
            "updated_at, last_activity_at, version) "
            "VALUES ('s', 'no such project', 'n', 'a', 'active', 0, 0, 0, 1)"
        )
