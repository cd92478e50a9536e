"""The embedded SQLite store: connections, pragmas, transactions and migrations.

It implements ``Store`` of the storage contract (core/storage/contract.py).
Every thread gets its own connection. Writes run in ``BEGIN IMMEDIATE``
transactions, so writers (threads or other processes on the same file) are
serialised by SQLite itself and never fail half-way with SQLITE_BUSY on upgrade.

A batch (group commit) runs its writes careful, each in a savepoint, or careless,
without one (``batch(careful=False)``, how group commit runs a batch first): two
statements fewer per write. A careless write that fails having changed no row
(``total_changes``: triggers included) left nothing to undo; one that fails after
changing rows undoes the whole batch (``BatchUndone``), which group commit runs again
carefully. Most failures come before a write changes anything (not found, a stale
``If-Match``, a rule): they cost nothing more.

Within a transaction a connection's queries remember what no other connection can
change meanwhile (memo.py): inside a batch, the log's head once a write appended
events (one ``MAX(seq)`` per batch, not per write); the task rows as read, so that
saving a task writes only the columns that changed; and the events it appended, which
the feed of this process then reads from memory once they are committed (recent.py).
"""

import contextlib
import logging
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ....private_files import private_directory, private_file, tighten
from ...clock import now_ms
from ..contract import BatchUndone, Durability, SchemaTooNew
from ..recent import RecentCommits
from . import transfer_rows
from .id_lists import PARAMETERS_MAX
from .log_rows import SqliteLogReader
from .memo import HEAD_UNREAD
from .rows import SqliteRows
from .schema import MIGRATIONS, RENEW_EPOCH, SCHEMA_VERSION

log = logging.getLogger(__name__)

# Free pages are given back to the file system (incremental vacuum) once they are this
# share of the file: the few a pruning pass frees are reused by the next writes instead
# of the file shrinking and growing again every minute.
RECLAIM_SHARE = 0.25

# The files SQLite keeps beside the database in WAL mode.
SIDECARS = ("-wal", "-shm")


class BatchAborted(sqlite3.OperationalError):
    """SQLite rolled back a batch's whole transaction (disk full, I/O error...):
    none of its writes was kept. The cause, when known, is ``__cause__``."""

    def __init__(self, cause: BaseException | None) -> None:
        super().__init__(f"the batch's transaction was rolled back: {cause or 'lost'}")
        self.__cause__ = cause


@dataclass
class _Batch:
    careful: bool = True  # each write in a savepoint (module docstring)
    callbacks: list[Callable[[], None]] = field(default_factory=list)
    lost: BaseException | None = None  # the error under which SQLite dropped the transaction

    def check(self, conn: sqlite3.Connection) -> None:
        """Raise ``BatchAborted`` if the batch's transaction is gone."""
        if self.lost is not None or not conn.in_transaction:
            raise BatchAborted(self.lost)


class SqliteStore:
    def __init__(
        self,
        path: Path | str,
        *,
        durability: Durability = Durability.NORMAL,
        busy_timeout_ms: int = 10_000,
    ) -> None:
        self.path = Path(path)
        self.durability = Durability(durability)
        self.busy_timeout_ms = busy_timeout_ms
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._closed = False
        self._private = False  # the database's files were made private (_make_private)
        self._recent = RecentCommits()  # what this process committed, for its feed
        self._epoch_seen = ""

    @property
    def location(self) -> str:
        return str(self.path)

    # --- connections --------------------------------------------------------

    def connect(self) -> sqlite3.Connection:
        """A new connection with Maestro's pragmas. The caller owns it."""
        with self._lock:
            if not self._private:
                self._make_private()
                self._private = True
        conn = sqlite3.connect(
            self.path,
            isolation_level=None,  # we issue BEGIN/COMMIT ourselves
            check_same_thread=False,  # closed from the owner at shutdown; never shared
            timeout=self.busy_timeout_ms / 1000,
        )
        # In a new file, before anything is written: lets reclaim() shrink the file (an
        # older file is switched once, by migrate). Only there: on a file that exists,
        # setting it writes its header, which takes the write lock.
        (pages,) = conn.execute("PRAGMA page_count").fetchone()
        if pages == 0:
            conn.execute("PRAGMA auto_vacuum=INCREMENTAL")
        conn.execute("PRAGMA journal_mode=WAL")
        # A checkpoint truncates the WAL back to this size: after a big pruning pass the
        # space its pages took goes back to the file system, not only the database's.
        conn.execute(f"PRAGMA journal_size_limit={WAL_SIZE_LIMIT}")
        # WAL + synchronous=NORMAL: a commit survives the process being killed; the last
        # commits may be lost on power failure. FULL also fsyncs the WAL on every commit.
        conn.execute(f"PRAGMA synchronous={self.durability.value.upper()}")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute(f"PRAGMA busy_timeout={self.busy_timeout_ms}")
        # The same limit on every build (id_lists.py): a statement that binds one
        # parameter per row fails here, in tests, not only on some users' builds.
        conn.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, PARAMETERS_MAX)
        return conn

    def _make_private(self) -> None:
        """Before the first connection: the database file is created with mode 0600 (not
        by SQLite, which would make it 0644), in a directory made 0700 if missing; files
        found looser are tightened. SQLite gives the -wal and -shm files it makes the
        database's mode; ones left by an older Maestro are tightened too."""
        private_directory(self.path.parent, ours=False)
        private_file(self.path)
        for sidecar in SIDECARS:
            with contextlib.suppress(FileNotFoundError):
                tighten(Path(f"{self.path}{sidecar}"))

    @property
    def rows(self) -> SqliteRows:
        """This thread's queries, over its own connection, opened on first use."""
        rows: SqliteRows | None = getattr(self._local, "rows", None)
        if rows is None:
            if self._closed:
                raise RuntimeError("database is closed")
            rows = SqliteRows(self.connect())
            self._local.rows = rows
            with self._lock:
                self._all.append(rows.conn)
        return rows

    @property
    def conn(self) -> sqlite3.Connection:
        """This thread's connection."""
        return self.rows.conn

    def log_reader(self, on_change: Callable[[int | None], None] | None = None) -> SqliteLogReader:
        """A connection of the feed's own (closed by the feed). SQLite has no way to be
        told of others' commits: the feed polls ``change_token``."""
        return SqliteLogReader(self.connect(), self._recent)

    def clock(self) -> int:
        # One machine, one clock.
        return now_ms()

    def epoch(self) -> str:
        """Set when the database file was created (migration 5)."""
        with self.read() as rows:
            (value,) = rows.conn.execute("SELECT epoch FROM history").fetchone()
        epoch = str(value)
        if epoch != self._epoch_seen:
            self._recent.clear()  # commits remembered from another history
            self._epoch_seen = epoch
        return epoch

    def renew_epoch(self, expected: str) -> str:
        """Name the history anew if its epoch is still ``expected`` (processes that find
        the same rewound log at once renew it once); returns the epoch now."""
        with self.write() as rows:
            rows.conn.execute(f"{RENEW_EPOCH} WHERE epoch = ?", (expected,))
        return self.epoch()

    def close(self) -> None:
        self._closed = True
        with self._lock:
            conns, self._all = self._all, []
        for conn in conns:
            conn.close()

    # --- transactions -------------------------------------------------------

    @contextmanager
    def write(self) -> Iterator[SqliteRows]:
        """One write transaction; committed when the block exits normally.

        Inside ``batch()`` on the same thread it is a savepoint of the batch instead:
        its changes are undone alone if it fails, and committed with the batch.
        """
        rows = self.rows
        batch = self._open_batch()
        if batch is not None:
            guard = self._savepoint if batch.careful else self._careless
            with guard(rows, batch):
                yield rows
            return
        with self._immediate(rows.conn):
            yield rows

    @contextmanager
    def batch(self, *, careful: bool = True, reads: tuple[str, ...] = ()) -> Iterator[None]:
        """One transaction for every ``write()`` this thread makes inside the block.

        This is group commit: the writes share one BEGIN and one COMMIT, each in its
        own savepoint (``careful``) or, careless, without one: a careless write that
        fails after changing rows undoes the batch with ``BatchUndone`` (module
        docstring). If SQLite rolled the whole transaction back under one of them,
        the block raises ``BatchAborted`` at its end and nothing of it was kept.
        Callbacks given to ``after_commit`` inside run once the COMMIT has succeeded,
        and are dropped if it fails. ``reads`` changes nothing here: a read in process
        costs no round trip worth saving.
        """
        rows = self.rows
        conn = rows.conn
        batch = _Batch(careful=careful)
        with self._immediate(conn):
            self._local.batch = batch
            rows.memo.batch_head = HEAD_UNREAD
            try:
                yield
                batch.check(conn)
            finally:
                self._local.batch = None
        for callback in batch.callbacks:
            # Committed already: a failing callback must neither undo that in the
            # caller's eyes nor keep the others from running.
            try:
                callback()
            except Exception:
                log.exception("a callback after a batch's COMMIT failed")

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` once this thread's changes are committed: now, unless a
        ``batch()`` is open, then after its COMMIT."""
        batch = self._open_batch()
        if batch is None:
            callback()
        else:
            batch.callbacks.append(callback)

    def _open_batch(self) -> "_Batch | None":
        batch: _Batch | None = self._local.__dict__.get("batch")
        return batch

    @contextmanager
    def _immediate(self, conn: sqlite3.Connection) -> Iterator[None]:
        """A ``BEGIN IMMEDIATE`` transaction, committed when the block exits normally."""
        # Threads of this process queue here rather than in SQLite: a writer that finds
        # the file locked sleeps in SQLite's busy handler (milliseconds at a time), while
        # one waiting on this lock runs the moment the previous commit is done. Other
        # processes still meet at BEGIN IMMEDIATE, under busy_timeout.
        memo = self.rows.memo
        with self._write_lock:
            conn.execute("BEGIN IMMEDIATE")
            memo.forget()
            generation = self._recent.generation
            try:
                with self._opened():
                    yield
                conn.execute("COMMIT")
                # Committed: the feed may read these from memory (recent.py), before any
                # callback wakes it.
                self._recent.add(memo.appended, generation)
            except BaseException:
                # Also when COMMIT itself fails (disk full): never leave this thread's
                # connection inside a transaction, holding the write lock.
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
            finally:
                memo.forget()  # what it remembered held within the transaction only

    @contextmanager
    def _opened(self) -> Iterator[None]:
        """Mark this thread as inside a transaction this store opened (reads join it)."""
        self._local.depth = self._depth() + 1
        try:
            yield
        finally:
            self._local.depth -= 1

    def _depth(self) -> int:
        depth: int = self._local.__dict__.get("depth", 0)
        return depth

    @contextmanager
    def _savepoint(self, rows: SqliteRows, batch: "_Batch") -> Iterator[None]:
        # Outside a transaction SAVEPOINT would start one of its own, committed on
        # RELEASE: a write that must share the batch's fate would be kept alone.
        conn = rows.conn
        batch.check(conn)
        head = rows.memo.batch_head
        appended = len(rows.memo.appended)
        conn.execute("SAVEPOINT write")
        try:
            yield
        except BaseException as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK TO write")
                conn.execute("RELEASE write")
                rows.memo.batch_head = head  # its events went with it
                del rows.memo.appended[appended:]
                rows.memo.tasks_read.clear()  # rows may be back to what they were before
            else:
                # Some errors (disk full, I/O error, out of memory) make SQLite roll back
                # the whole transaction: every write of the batch is gone.
                batch.lost = exc
            raise
        conn.execute("RELEASE write")

    @contextmanager
    def _careless(self, rows: SqliteRows, batch: "_Batch") -> Iterator[None]:
        """A write of a careless batch, without a savepoint (module docstring)."""
        conn = rows.conn
        batch.check(conn)
        # SQLite counts a statement's rows once it has run to its end: a write reads
        # any RETURNING to its end (fetchone on one row does) before it can fail.
        changes = conn.total_changes
        memo = rows.memo
        head, appended = memo.batch_head, len(memo.appended)
        try:
            yield
        except BaseException as exc:
            if not conn.in_transaction:
                batch.lost = exc  # as in _savepoint: the whole transaction is gone
            elif conn.total_changes != changes:
                # It changed rows before it failed: only undoing the batch undoes them.
                raise BatchUndone(f"a write failed after changing rows: {exc!r}") from exc
            else:
                # Nothing of it is in the database: nor in what the batch remembers (an
                # append that failed as a statement had counted its events already).
                memo.batch_head = head
                del memo.appended[appended:]
            raise

    @contextmanager
    def read(self) -> Iterator[SqliteRows]:
        """One read transaction: every query inside sees the same snapshot.

        Inside a transaction this store opened on this thread (a read, a write, a
        batch) it is part of that one: the same snapshot, and the writes made so far.
        A connection left inside a transaction some other way is not joined: BEGIN
        then fails loudly instead of reading a stale snapshot forever.
        """
        rows = self.rows
        if self._depth():
            yield rows
            return
        conn = rows.conn
        conn.execute("BEGIN")
        rows.memo.forget()
        try:
            with self._opened():
                yield rows
        finally:
            rows.memo.forget()
            conn.execute("COMMIT")

    def reclaim(self) -> int:
        """Give free pages back to the file system once they are ``RECLAIM_SHARE`` of the
        file (a big pruning pass, a deleted project); returns the bytes given back. The
        file itself shrinks when the WAL is next checkpointed."""
        conn = self.conn
        assert not conn.in_transaction, "reclaim runs outside transactions"
        (free,) = conn.execute("PRAGMA freelist_count").fetchone()
        (pages,) = conn.execute("PRAGMA page_count").fetchone()
        if free == 0 or free < pages * RECLAIM_SHARE:
            return 0
        (page_size,) = conn.execute("PRAGMA page_size").fetchone()
        left = free
        while left > 0:
            # In steps of RECLAIM_STEP pages, each its own short transaction: the writes
            # that come meanwhile take the lock between two steps instead of waiting for
            # all of it.
            with self._write_lock:
                try:
                    # One sqlite3_exec: the pragma frees a page per step, and only a
                    # script steps it to the end (execute() stops after the first).
                    conn.executescript(
                        f"BEGIN IMMEDIATE; PRAGMA incremental_vacuum({RECLAIM_STEP}); COMMIT;"
                    )
                except BaseException:
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
                    raise
            (now_free,) = conn.execute("PRAGMA freelist_count").fetchone()
            if now_free >= left:  # nothing more to give back (another writer's pages)
                break
            left = now_free
        freed = (free - left) * page_size
        log.info("gave %d bytes of free pages back to the file system", freed)
        return int(freed)

    def load(self, rows: Iterable[tuple[str, dict[str, Any]]]) -> None:
        """Fill this empty database with rows of the transfer format, in one write
        transaction (transfer_rows.py)."""
        with self.write() as opened:
            transfer_rows.load(opened.conn, rows)

    # --- schema -------------------------------------------------------------

    def migrate(self) -> int:
        """Bring the schema up to date; returns the schema version. A file made before
        Maestro set ``auto_vacuum`` is then switched to it, once (a VACUUM: it rewrites
        the file, so it takes a while on a big one and needs its size free on disk); if
        that fails, the database is used as it is, and the next start tries again."""
        with self.write() as rows:
            conn = rows.conn
            (current,) = conn.execute("PRAGMA user_version").fetchone()
            if current > SCHEMA_VERSION:
                raise SchemaTooNew(
                    f"{self.path} has schema version {current}, newer than this Maestro "
                    f"({SCHEMA_VERSION}); upgrade Maestro"
                )
            for number in range(current, SCHEMA_VERSION):
                for statement in _statements(MIGRATIONS[number]):
                    conn.execute(statement)
            conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        self._switch_to_incremental_vacuum()
        return SCHEMA_VERSION

    def _switch_to_incremental_vacuum(self) -> None:
        conn = self.conn
        (mode,) = conn.execute("PRAGMA auto_vacuum").fetchone()
        if mode == _INCREMENTAL:  # a new file: connect() set it before anything was written
            return
        log.warning(
            "%s: switching to incremental vacuum, once (rewrites the file; on a large "
            "database this takes a while)",
            self.path,
        )
        with self._write_lock:
            try:
                conn.execute("PRAGMA auto_vacuum=INCREMENTAL")
                conn.execute("VACUUM")
            except sqlite3.Error as exc:
                # Not enough disk for the copy, or another process busy on the file: the
                # log's space is then reused rather than given back, until a start that
                # can switch.
                log.warning(
                    "%s: could not switch to incremental vacuum (%s); using it as it is, "
                    "the next start tries again",
                    self.path,
                    exc,
                )


_INCREMENTAL = 2  # PRAGMA auto_vacuum's value for INCREMENTAL
# Pages one step of reclaim() frees (4 KiB each: 4 MiB a step).
RECLAIM_STEP = 1024
# The WAL's size a checkpoint leaves at most (journal_size_limit).
WAL_SIZE_LIMIT = 64 * 1024 * 1024


def _statements(script: str) -> list[str]:
    # executescript() would COMMIT our transaction; run statement by statement instead.
    statements, buffer = [], ""
    for line in script.splitlines(keepends=True):
        if line.strip().startswith("--"):
            continue
        buffer += line
        if sqlite3.complete_statement(buffer):
            statements.append(buffer.strip())
            buffer = ""
    return [s for s in statements if s]
