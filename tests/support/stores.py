"""The two stores every test that touches a database runs on: SQLite and PostgreSQL.

The rules:

- A test asks for ``database`` (a location: a file path or a ``postgresql://`` URL)
  and runs once per store; ``tests/conftest.py`` parametrises it. A test about one
  store only says so with ``@pytest.mark.only_store("sqlite")`` (or ``"postgresql"``);
  its runs on the other store are deselected, not skipped.
- PostgreSQL runs on a throwaway cluster the suite starts (``tests/support/postgres.py``),
  or on the server ``MAESTRO_TEST_PG_URL`` names. Each test gets a database of its own,
  copied from a template migrated once (a copy takes milliseconds; migrating, longer),
  and dropped after it.
- Without PostgreSQL, its runs are skipped with the reason, except under ``CI=true``:
  there they fail. CI never passes by not testing a store.
- The suite's own connection to the server outlives a restart of the cluster (tests of
  outages restart it): a broken one is opened again before its next use.
"""

import itertools
import os
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql

from maestro_mcp.core.storage.location import open_store

from . import postgres

SQLITE = "sqlite"
POSTGRESQL = "postgresql"
STORES = (SQLITE, POSTGRESQL)
TEMPLATE = "maestro_template"
DB_FILENAME = "maestro.db"


class Databases(Protocol):
    """Fresh, migrated-on-first-use databases of one store."""

    kind: str

    def create(self, directory: Path) -> str:
        """A new empty database's location (``directory`` may hold its files)."""

    def drop(self, location: str) -> None: ...
    def close(self) -> None: ...


class SqliteDatabases:
    kind = SQLITE

    def create(self, directory: Path) -> str:
        return str(directory / DB_FILENAME)

    def drop(self, location: str) -> None:
        pass  # the test's temporary directory goes with it

    def close(self) -> None:
        pass


def with_database(url: str, name: str) -> str:
    """``url`` pointing at database ``name`` instead."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))


class PostgresDatabases:
    kind = POSTGRESQL

    def __init__(self, server_url: str, cluster: postgres.Cluster | None) -> None:
        self.server_url = server_url  # any database of the server: the admin connection
        self.cluster = cluster  # None when MAESTRO_TEST_PG_URL names the server
        self._names = itertools.count(1)
        self._prefix = f"maestro_test_{os.getpid()}_"
        self._connection = psycopg.connect(server_url, autocommit=True)
        self._strategy = (
            sql.SQL(" STRATEGY FILE_COPY")  # PostgreSQL 15+: faster for small databases
            if self._connection.info.server_version >= 150000
            else sql.SQL("")
        )
        self._execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)"), TEMPLATE)
        self._execute(sql.SQL("CREATE DATABASE {}"), TEMPLATE)
        store = open_store(with_database(server_url, TEMPLATE))
        store.migrate()
        store.close()

    @classmethod
    def start(cls, directory: Path) -> "PostgresDatabases":
        url = postgres.test_cluster_url()
        if url is not None:
            return cls(url, None)
        cluster = postgres.Cluster.start(directory)
        try:
            return cls(cluster.url(), cluster)
        except BaseException:
            cluster.destroy()
            raise

    def _run(self, statement: sql.Composed) -> None:
        """Run an administrative statement; a connection that a restart of the server broke
        is noticed by its first use and opened again (the statement never reached the
        server: it is sent once more)."""
        try:
            self._connection.execute(statement)
        except psycopg.OperationalError:
            if not self._connection.broken:
                raise
            self._connection.close()
            self._connection = psycopg.connect(self.server_url, autocommit=True)
            self._connection.execute(statement)

    def _execute(self, statement: sql.SQL, name: str, tail: sql.Composable | None = None) -> None:
        composed = statement.format(sql.Identifier(name))
        if tail is not None:
            composed = sql.Composed([composed, tail])
        self._run(composed)

    def create_empty(self) -> str:
        """A new database with nothing in it, not even Maestro's schema (``create`` copies a
        migrated one): for tests of migrating."""
        name = f"{self._prefix}{next(self._names)}"
        self._execute(sql.SQL("CREATE DATABASE {}"), name)
        return with_database(self.server_url, name)

    def create(self, directory: Path) -> str:
        name = f"{self._prefix}{next(self._names)}"
        self._run(
            sql.Composed(
                [
                    sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                        sql.Identifier(name), sql.Identifier(TEMPLATE)
                    ),
                    self._strategy,
                ]
            )
        )
        return with_database(self.server_url, name)

    def drop(self, location: str) -> None:
        name = urlsplit(location).path.lstrip("/")
        self._execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)"), name)

    def close(self) -> None:
        self._execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)"), TEMPLATE)
        self._connection.close()
        if self.cluster is not None:
            self.cluster.destroy()


def unavailable_reason() -> str | None:
    """Why the PostgreSQL runs cannot happen here, or None if they can."""
    if postgres.test_cluster_url() is None and postgres.find_pg_bin("initdb") is None:
        return (
            "PostgreSQL is not installed (no initdb on PATH or in /usr/lib/postgresql/*/bin): "
            f"run scripts/ensure-postgres, or set {postgres.URL_ENV} to a server"
        )
    return None


def make_schema_newer(location: str) -> None:
    """Make ``location``'s schema look written by a Maestro newer than this one, which
    this one cannot use (migrated first if it is empty)."""
    store = open_store(location)
    store.migrate()
    store.close()
    if location.startswith(("postgresql:", "postgres:")):
        from maestro_mcp.core.storage.postgres.schema import SCHEMA_VERSION

        with psycopg.connect(location, autocommit=True) as conn:
            conn.execute(
                "UPDATE maestro_schema SET version = %s, readable_from = %s",
                (SCHEMA_VERSION + 1, SCHEMA_VERSION + 1),
            )
        return
    import sqlite3

    from maestro_mcp.core.storage.sqlite.schema import SCHEMA_VERSION as SQLITE_VERSION

    newer = sqlite3.connect(location)
    newer.execute(f"PRAGMA user_version={SQLITE_VERSION + 1}")
    newer.close()


def rewind_log(location: str, to_seq: int) -> None:
    """Put ``location``'s log back to ``to_seq``, as restoring an older backup into the
    same database would (its epoch stays: a restore in place keeps it)."""
    if location.startswith(("postgresql:", "postgres:")):
        with psycopg.connect(location, autocommit=True) as conn, conn.transaction():
            conn.execute("DELETE FROM events WHERE seq > %s", (to_seq,))
            conn.execute("UPDATE event_head SET seq = %s", (to_seq,))
        return
    import sqlite3

    file = sqlite3.connect(location)
    with file:
        file.execute("DELETE FROM events WHERE seq > ?", (to_seq,))
    file.close()


def give_new_history(location: str) -> None:
    """Give ``location``'s log a new epoch, as restoring a backup into it would."""
    if location.startswith(("postgresql:", "postgres:")):
        with psycopg.connect(location, autocommit=True) as conn:
            conn.execute("UPDATE maestro_schema SET epoch = md5(random()::text)")
        return
    import sqlite3

    file = sqlite3.connect(location)
    with file:
        file.execute("UPDATE history SET epoch = lower(hex(randomblob(8)))")
    file.close()


def is_postgres(location: str) -> bool:
    return location.startswith(("postgresql:", "postgres:"))


def run_sql(location: str, statement: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Run one statement on ``location`` outside any store, as another program (or an
    older Maestro) would, and return its rows; ``?`` marks a parameter on both stores."""
    if is_postgres(location):
        with psycopg.connect(location, autocommit=True) as conn:
            cursor = conn.execute(statement.replace("?", "%s"), params)
            return cursor.fetchall() if cursor.description else []
    import sqlite3

    file = sqlite3.connect(location)
    try:
        with file:
            return file.execute(statement, params).fetchall()
    finally:
        file.close()


def empty_database(databases: Databases, directory: Path) -> str:
    """A database with nothing in it, not even Maestro's schema; drop it with ``databases``."""
    if isinstance(databases, PostgresDatabases):
        return databases.create_empty()
    return str(directory / f"empty-{next(_EMPTY)}.db")


_EMPTY = itertools.count(1)


def old_schema(location: str, version: int) -> None:
    """Give the empty database at ``location`` the schema an older Maestro left: its
    store's first ``version`` migrations, and nothing newer."""
    if is_postgres(location):
        from maestro_mcp.core.storage.postgres.schema import MIGRATIONS as PG_MIGRATIONS

        with psycopg.connect(location) as conn, conn.transaction():
            for migration in PG_MIGRATIONS[:version]:
                conn.execute(migration)
            # As that Maestro recorded it (it could not be used by code older than itself).
            conn.execute(
                "UPDATE maestro_schema SET version = %s, readable_from = %s", (version, version)
            )
        return
    import sqlite3

    from maestro_mcp.core.storage.sqlite.schema import MIGRATIONS as SQLITE_MIGRATIONS

    file = sqlite3.connect(location, isolation_level=None)
    try:
        for migration in SQLITE_MIGRATIONS[:version]:
            file.executescript(migration)
        file.execute(f"PRAGMA user_version={version}")
    finally:
        file.close()
