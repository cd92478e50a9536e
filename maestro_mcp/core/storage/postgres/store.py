"""The PostgreSQL store: connections, transactions, locks, the seq, the clock, migrations.

It implements ``Store`` of the storage contract (core/storage/contract.py) so that
any number of Maestro instances on one database behave as one server
(docs/storage.md, "The PostgreSQL backend"):

- **Seq.** A transaction's events are staged while it runs and appended by ONE
  statement at its very end, which also advances the one-row ``event_head``. That
  row's lock is held until COMMIT, so seq order is commit order and every visible
  prefix of the log is gap-free. Never inside a savepoint: rolling one back would
  drop the lock. The same statement fills the transaction's idempotency records
  (their seqs are known only then) and queues ``NOTIFY`` (sent at COMMIT).
- **Serialisable domain rules.** A write transaction locks the project of every row
  it reads or writes (``pg_advisory_xact_lock``) before reading it, and reads under
  READ COMMITTED, so it sees the newest committed state of what it locked. Writes
  of one project are serialised across instances; writes of different projects run
  side by side. Inside a batch, an operation that would wait for a lock while the
  batch holds another one raises ``Contended`` instead (undone alone, run again at
  the head of the next batch): instances never deadlock on each other's batches.
- **Reads** run in REPEATABLE READ READ ONLY transactions: one snapshot.
- **Time.** ``clock()`` is the database server's clock (an offset to the host's,
  measured now and then), so every instance agrees on leases.
- **Outages.** A lost connection or an unreachable server raises ``StoreUnavailable``
  (nothing was written; ``OutcomeUnknown`` if it was lost as a COMMIT went unanswered);
  the pool opens new connections once the server is back.
"""

import contextlib
import hashlib
import logging
import secrets
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, NamedTuple, cast

import psycopg
import psycopg.errors
import psycopg_pool

from ...events import ENVELOPE_HEAD, PendingEvent, StoredEvent, envelope_tail
from ..contract import (
    BatchUndone,
    Contended,
    Durability,
    LogPosition,
    OutcomeUnknown,
    SchemaTooNew,
    StoreUnavailable,
    UnstorableText,
)
from ..location import masked
from ..recent import RecentCommits
from . import locks, transfer_rows
from .locks import lock_key
from .log_rows import NOTIFY_CHANNEL, PgLogReader
from .rows import PgRows
from .schema import MIGRATIONS, READABLE_FROM, RENEW_EPOCH, SCHEMA_VERSION
from .task_rows import ReadAhead

log = logging.getLogger(__name__)

Connection = psycopg.Connection[tuple[Any, ...]]

APPLICATION_NAME = "maestro"
CONNECT_TIMEOUT_S = 5
# How long a caller waits for a pooled connection before it is told the store is down.
POOL_TIMEOUT_S = 5.0
# How long the pool goes on retrying one failed connection attempt (its delays double:
# 1 s, 2 s, ...) before it gives up; the next caller that waits starts a new one at once.
# Without a bound the delays grew with the outage, and an instance went on answering 503
# for as long again after the database was back.
RECONNECT_S = 5.0
POOL_MAX = 16
CLOCK_RESYNC_S = 30.0
CLOCK_RETRY_S = 5.0  # after a failed sync, the last offset serves this long before a retry
LOCK_TIMEOUT_S = 10
IDLE_IN_TRANSACTION_S = 60


@dataclass(slots=True)
class _Staged:
    type: str
    project_id: str | None
    tail: str  # the envelope after its seq
    ts: int
    task_id: str | None  # what it is about (events.subjects)
    session_id: str | None


class _Mark(NamedTuple):
    """How far a transaction had got when a write began (Transaction.undo_to)."""

    events: int
    positions: int
    results: int
    reserved: int
    held: frozenset[int]


@dataclass
class Transaction:
    """One write transaction in progress: its connection, the events and idempotency
    results it will append at its end, and the project locks it holds."""

    conn: Connection
    batch: bool  # a group-commit batch: operations run in savepoints
    instance: str  # the store's name in its NOTIFYs
    # Each operation waits for its statements at its end, so that their errors are its
    # own; otherwise only where it reads a result (store.py, _savepoint).
    careful: bool = True
    events: list[_Staged] = field(default_factory=list)
    positions: list[tuple[LogPosition, int]] = field(default_factory=list)  # (position, offset)
    results: list[tuple[str, str, int]] = field(default_factory=list)  # (key, result, offset)
    result_positions: dict[str, tuple[str, LogPosition]] = field(default_factory=dict)
    held: set[int] = field(default_factory=set)  # lock keys held
    held_before: frozenset[int] = frozenset()  # held when the current operation began
    callbacks: list[Callable[[], None]] = field(default_factory=list)
    pipeline: psycopg.Pipeline | None = None  # the connection's pipeline (store.py)
    undone: "BatchUndone | None" = None  # a careless batch met a failure it cannot pin
    # A careless write ended without waiting for its statements: until a later sync, a
    # database error may be theirs.
    unsynced: bool = False
    committed: bool = False  # COMMIT answered: whatever fails after, the batch is kept
    wrote: bool = False  # the current write (without a savepoint) sent anything but a read
    reserved: list[str] = field(default_factory=list)  # idempotency keys it inserted
    writing: bool = False  # inside a write of the batch (they do not nest)
    read_ahead: ReadAhead = field(default_factory=ReadAhead)  # task_rows.py

    def sync(self) -> None:
        """Wait for every statement sent so far, raising the first one's error."""
        if self.pipeline is not None:
            self.pipeline.sync()
        self.unsynced = False

    def stage(self, events: list[PendingEvent], timestamp: int) -> LogPosition:
        for event in events:
            tail = envelope_tail(event, timestamp)
            self.events.append(
                _Staged(
                    event.type.value,
                    event.project_id,
                    tail,
                    timestamp,
                    event.task_id,
                    event.session_id,
                )
            )
        position = LogPosition()
        self.positions.append((position, len(self.events)))
        return position

    def stage_result(self, key: str, result: str, position: LogPosition) -> None:
        offset = next(o for p, o in reversed(self.positions) if p is position)
        self.results.append((key, result, offset))
        self.result_positions[key] = (result, position)

    def staged_result(self, key: str) -> tuple[str, LogPosition]:
        """The result an earlier operation of this transaction recorded for ``key``."""
        return self.result_positions[key]

    def lock(self, key: int) -> None:
        """Hold the advisory lock ``key`` until the transaction ends."""
        if key in self.held:
            return
        if self.batch and self.held_before:
            # Waiting while earlier operations of this batch hold locks could deadlock
            # with another instance's batch: give way instead.
            (got,) = one(self.conn, "SELECT pg_try_advisory_xact_lock(%s)", (key,))
            if not got:
                raise Contended("a project this write needs is locked by another transaction")
        else:
            self.conn.execute("SELECT pg_advisory_xact_lock(%s)", (key,))
        self.held.add(key)

    def commit(self) -> list[StoredEvent]:
        """Append the staged events, fill the idempotency results and COMMIT, in one
        round trip: the append is the transaction's last statement, taking the seqs
        under ``event_head``'s row lock, and its row is read once COMMIT has answered."""
        n = len(self.events)
        appended: psycopg.Cursor[tuple[Any, ...]] | None = None
        if n or self.results:
            appended = self.conn.execute(
                _APPEND,
                {
                    "n": n,
                    "head": ENVELOPE_HEAD,
                    "types": [e.type for e in self.events],
                    "projects": [e.project_id for e in self.events],
                    "tails": [e.tail for e in self.events],
                    "tss": [e.ts for e in self.events],
                    "task_ids": [e.task_id for e in self.events],
                    "session_ids": [e.session_id for e in self.events],
                    "keys": [k for k, _, _ in self.results],
                    "results": [r for _, r, _ in self.results],
                    "ats": [o for _, _, o in self.results],
                    "channel": NOTIFY_CHANNEL,
                    "instance": self.instance,
                },
            )
        elif self.positions:  # writes that emitted nothing: their position is the head
            appended = self.conn.execute("SELECT seq FROM event_head")
        committing = self.conn.execute("COMMIT")
        try:
            self.sync()
        except psycopg.Error as exc:
            # The connection may fail after COMMIT answered (the server shutting down as
            # it flushed the commit): then the batch is kept, and running it again would
            # apply it twice. Lost before that answer, the outcome is unknown.
            if not _commit_answered(committing):
                if self.conn.broken or _connection_lost(exc):
                    raise OutcomeUnknown(str(exc)) from exc  # named by PgStore._transaction
                raise  # the server answered with an error: nothing was made
        self.committed = True
        if appended is None:
            return []
        row = appended.fetchone()
        assert row is not None
        base = int(row[0])
        for position, offset in self.positions:
            position.settle(base + offset)
        # The events as the log now holds them, byte for byte (see _APPEND).
        return [
            StoredEvent(seq, e.type, e.project_id, f"{ENVELOPE_HEAD}{seq}{e.tail}")
            for seq, e in enumerate(self.events, base + 1)
        ]

    def mark(self) -> "_Mark":
        return _Mark(
            len(self.events),
            len(self.positions),
            len(self.results),
            len(self.reserved),
            frozenset(self.held),
        )

    def undo_to(self, mark: "_Mark", *, rolled_back: bool = True) -> None:
        """Forget what an operation staged. When its savepoint was rolled back, that
        also released its locks and removed its idempotency reservations; without a
        savepoint its locks stay held, and its reservations are deleted here."""
        del self.events[mark.events :]
        del self.positions[mark.positions :]
        for key, _, _ in self.results[mark.results :]:
            del self.result_positions[key]
        del self.results[mark.results :]
        reserved = self.reserved[mark.reserved :]
        del self.reserved[mark.reserved :]
        if rolled_back:
            self.held = set(mark.held)
            # Rows read ahead since may be its changes, or rows of a project whose lock
            # the rollback gave back. Without a savepoint it wrote nothing (else the
            # batch is undone) and its locks stay: the rows stay true.
            self.read_ahead.forget()
        elif reserved and not self.conn.broken:
            # Sent without waiting: should it fail, the next sync undoes the batch.
            self.conn.execute("DELETE FROM idempotency WHERE key = ANY(%s)", (reserved,))


# One statement: advance the head by n (its row lock held until COMMIT), append the
# events with the seqs that follow the old head, fill the idempotency results, and
# queue the wake-up for the other instances (NOTIFY is sent at COMMIT). The arrays go
# in binary (%b): as text, every quote in every payload would be escaped in Python.
_APPEND = """
WITH head AS (
    UPDATE event_head SET seq = seq + %(n)s RETURNING seq - %(n)s AS base
), appended AS (
    INSERT INTO events (seq, ts, type, project_id, payload, task_id, session_id)
    SELECT head.base + e.n, e.ts, e.type, e.project_id, %(head)s || (head.base + e.n) || e.tail,
           e.task_id, e.session_id
    FROM head, unnest(%(types)b::text[], %(projects)b::text[], %(tails)b::text[],
                      %(tss)b::bigint[], %(task_ids)b::text[], %(session_ids)b::text[])
        WITH ORDINALITY AS e(type, project_id, tail, ts, task_id, session_id, n)
), filled AS (
    UPDATE idempotency SET result = k.result, seq = head.base + k.at
    FROM head, unnest(%(keys)b::text[], %(results)b::text[], %(ats)b::bigint[])
        AS k(key, result, at)
    WHERE idempotency.key = k.key
)
SELECT base, CASE WHEN %(n)s > 0
    THEN pg_notify(%(channel)s, (base + %(n)s)::text || ' ' || %(instance)s) END
FROM head
"""


def _identity(conn: Connection) -> tuple[int, int]:
    """The database's identity in its cluster (a restore into a new database makes a new
    one) and the cluster's timeline (a failover or point-in-time recovery starts one)."""
    (oid,) = one(conn, "SELECT oid FROM pg_database WHERE datname = current_database()")
    try:
        (timeline,) = one(conn, "SELECT timeline_id FROM pg_control_checkpoint()")
    except psycopg.errors.InsufficientPrivilege:
        timeline = 0  # a role without pg_monitor: the other two still tell
    return int(oid), int(timeline)


def _epoch(name: str, oid: int, timeline: int) -> str:
    return hashlib.blake2b(f"{name}:{oid}:{timeline}".encode(), digest_size=8).hexdigest()


def _monotonic_ms() -> int:
    return time.monotonic_ns() // 1_000_000


def one(conn: Connection, query: str, params: Any = None) -> tuple[Any, ...]:
    """The one row ``query`` returns."""
    row = conn.execute(query, params).fetchone()
    assert row is not None, query
    return row


def _own_failure(tx: Transaction, exc: BaseException) -> bool:
    """Whether a careless batch's write failed on its own, so that undoing its
    savepoint is enough. So it is when no earlier write left statements nobody waited
    for (the first write of a batch, which alone may wait for a lock: its lock timeout
    or deadlock is its own), or when the error was raised in Python (a domain rule,
    ``Contended``, a value psycopg refused to send) and every statement sent before it
    succeeded. Otherwise a database error may be an earlier write's."""
    if not tx.unsynced:
        return True
    seen: set[int] = set()
    cause: BaseException | None = exc
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        if isinstance(cause, psycopg.Error) and cause.sqlstate is not None:
            return False  # the server's: maybe an earlier write's statement
        if isinstance(cause, psycopg.OperationalError):
            return False  # the connection: nothing can be pinned on anyone
        cause = cause.__cause__ if cause.__cause__ is not None else cause.__context__
    try:
        tx.sync()
    except psycopg.Error:
        return False
    return True


class _Watched:
    """The batch's connection as its writes see it: every statement goes to the
    connection, and one that is not a SELECT marks the write as having written (without
    a savepoint, its failure then undoes the batch: nothing else can undo it alone) and
    may make rows read ahead stale (``ReadAhead.changed``)."""

    __slots__ = ("_tx",)

    def __init__(self, tx: Transaction) -> None:
        self._tx = tx

    def execute(self, query: Any, params: Any = None, **options: Any) -> Any:
        tx = self._tx
        if not _reads_only(query):
            tx.wrote = True
            tx.read_ahead.changed(query, params)
        return tx.conn.execute(query, params, **options)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._tx.conn, name)


_WRITING_WORDS = ("INSERT", "UPDATE", "DELETE", "MERGE", "TRUNCATE")


def _reads_only(query: Any) -> bool:
    """Whether a statement only reads: a SELECT, or a WITH query none of whose parts
    writes (the rows' statements hold no literals: values are parameters). Anything
    else, and anything that is not plain text, counts as a write."""
    if not isinstance(query, str):
        return False
    text = query.lstrip()
    start = text[:6].upper()
    if start == "SELECT":
        return True  # the usual case, decided on six characters (it runs per statement)
    upper = text.upper()
    return start.startswith("WITH") and not any(word in upper for word in _WRITING_WORDS)


def _undo_batch(tx: Transaction, exc: BaseException) -> BatchUndone:
    """The whole careless batch is void: a statement failed that cannot be pinned on
    one write (a SAVEPOINT or RELEASE that raised an earlier statement's error counts)."""
    tx.undone = BatchUndone(f"a statement of this batch failed: {exc}")
    return tx.undone


def _commit_answered(committing: psycopg.Cursor[tuple[Any, ...]]) -> bool:
    """Whether the server answered a COMMIT as committed (not ROLLBACK, as it answers
    for a transaction that had failed)."""
    result = committing.pgresult
    return (
        result is not None
        and result.status == psycopg.pq.ExecStatus.COMMAND_OK
        and committing.statusmessage == "COMMIT"
    )


def _roll_back(conn: Connection) -> None:
    """End a failed transaction, unless the connection is gone (the pool drops it)."""
    if not conn.broken and conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
        conn.execute("ROLLBACK")


def _connection_lost(exc: psycopg.Error) -> bool:
    """Whether no answer came back: the connection broke, or the server ended it (shut
    down, crashed). Not an error the server answered with (a cancelled statement, out of
    memory): then it did not commit."""
    if isinstance(exc, psycopg.errors.PipelineAborted):
        return False  # skipped behind an earlier statement's error: that one answered
    state = exc.sqlstate or ""
    return (
        (not state and isinstance(exc, psycopg.OperationalError))
        or state.startswith("08")
        or state in {"57P01", "57P02", "57P03"}
    )


def _unavailable(exc: psycopg.Error) -> bool:
    """Whether an error means the server is gone or unreachable (not a bad statement)."""
    if isinstance(exc, psycopg_pool.PoolTimeout):
        return True
    state = exc.sqlstate or ""
    # 08: connection exceptions; 53: out of disk, memory or connections; 57P01-03: shut
    # down by an administrator, crash, cannot connect now (starting up); 57014: cancelled;
    # 25006: a read-only server (the URL now names a standby); no state at all: the
    # connection broke.
    return (
        state.startswith(("08", "53"))
        or state in {"57P01", "57P02", "57P03", "57014", "25006"}
        or (not state and isinstance(exc, psycopg.OperationalError))
    )


class PgStore:
    def __init__(
        self,
        url: str,
        *,
        durability: Durability = Durability.NORMAL,
        pool_max: int = POOL_MAX,
        application_name: str = APPLICATION_NAME,
    ) -> None:
        self.url = url
        # PostgreSQL flushes its WAL at every COMMIT (synchronous_commit=on, its
        # default): both levels are met by the server's own settings, which we keep.
        self.durability = Durability(durability)
        self.application_name = application_name
        self._pool = psycopg_pool.ConnectionPool(
            url,
            min_size=1,
            max_size=pool_max,
            kwargs=self._connect_kwargs(),
            open=False,
            timeout=POOL_TIMEOUT_S,
            reconnect_timeout=RECONNECT_S,
            name="maestro",
        )
        self._pool_lock = threading.Lock()
        self._opened = False
        self._closed = False
        self._local = threading.local()
        self._clock_lock = threading.Lock()
        self._clock_offset = 0
        self._clock_known = False
        self._clock_due = float("-inf")
        # Which project a task, session, message, question or reservation belongs to never
        # changes: remembered to lock it without asking again.
        self.project_of: dict[str, str] = {}
        self._readers: list[PgLogReader] = []
        self._recent = RecentCommits()  # what this instance committed, for its feed
        # Its name in the NOTIFYs it sends: its own feed hears of its commits from them
        # directly, and skips their echo.
        self.instance = secrets.token_hex(8)
        self._epoch_seen = ""

    def _connect_kwargs(self) -> dict[str, Any]:
        settings = {
            # A lock wait is bounded: past it the write is Contended (retried, then 503),
            # never a hang behind an instance that stopped mid-transaction.
            "lock_timeout": f"{LOCK_TIMEOUT_S}s",
            # A backend whose instance vanished mid-transaction gives its locks back.
            "idle_in_transaction_session_timeout": f"{IDLE_IN_TRANSACTION_S}s",
        }
        if self.durability is Durability.FULL:
            settings["synchronous_commit"] = "on"  # whatever the server's default says
        return {
            "autocommit": True,  # transactions are ours: BEGIN ... COMMIT
            "application_name": self.application_name,
            "connect_timeout": CONNECT_TIMEOUT_S,
            "options": " ".join(f"-c {name}={value}" for name, value in settings.items()),
            # A peer that went silent (a partition, a paused host) is noticed in seconds,
            # not after the kernel's two hours.
            "keepalives": 1,
            "keepalives_idle": 10,
            "keepalives_interval": 5,
            "keepalives_count": 3,
        }

    @property
    def location(self) -> str:
        return masked(self.url)

    # --- connections ------------------------------------------------------------------

    def connect(self, application_name: str | None = None) -> Connection:
        """A new connection of the caller's own (the feed's), outside the pool."""
        kwargs = self._connect_kwargs()
        if application_name:
            kwargs["application_name"] = application_name
        try:
            return psycopg.connect(self.url, **kwargs)
        except psycopg.Error as exc:
            raise self._unavailable(exc) from exc

    def _unavailable(self, exc: BaseException) -> StoreUnavailable:
        self._recent.clear()  # what comes back may be another database (a restore)
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return StoreUnavailable(f"cannot reach the database at {self.location}: {reason}")

    @contextmanager
    def _connection(self) -> Iterator[Connection]:
        if self._closed:
            raise RuntimeError("database is closed")
        self._open_pool()
        try:
            with self._pool.connection() as conn:
                yield conn
        except psycopg.Error as exc:
            if _unavailable(exc):
                raise self._unavailable(exc) from exc
            raise

    def _open_pool(self) -> None:
        if self._opened:
            return
        with self._pool_lock:
            if not self._opened:
                self._pool.open(wait=False)
                self._opened = True

    def log_reader(self, on_change: Callable[[int | None], None] | None = None) -> PgLogReader:
        reader = PgLogReader(self.connect, on_change, self._recent, self.instance)
        self._readers.append(reader)
        return reader

    def close(self) -> None:
        self._closed = True
        for reader in self._readers:
            reader.close()
        self._readers.clear()
        if self._opened:
            self._pool.close()

    # --- transactions -----------------------------------------------------------------

    def _current(self) -> "Transaction | None":
        tx: Transaction | None = self._local.__dict__.get("tx")
        return tx

    @contextmanager
    def write(self) -> Iterator[PgRows]:
        """One write transaction, committed when the block exits normally; inside
        ``batch()`` on this thread, a savepoint of the batch's transaction."""
        tx = self._current()
        if tx is not None and tx.batch:
            if tx.writing:
                # A write without a savepoint keeps one record of what it wrote: an inner
                # write would overwrite it.
                raise RuntimeError("a write inside a write of a batch")
            tx.writing = True
            try:
                # The connection as the write's rows see it: it notes their writes.
                watched = cast(Connection, _Watched(tx))
                if tx.careful or not tx.unsynced:
                    with self._savepoint(tx):
                        yield PgRows(watched, tx, self)
                else:
                    with self._without_savepoint(tx):
                        yield PgRows(watched, tx, self)
            finally:
                tx.writing = False
            return
        if tx is not None:
            raise RuntimeError("a write inside a write: use batch()")
        with self._transaction(batch=False) as tx:
            yield PgRows(tx.conn, tx, self)
        for callback in tx.callbacks:
            callback()

    @contextmanager
    def batch(self, *, careful: bool = True, reads: tuple[str, ...] = ()) -> Iterator[None]:
        """One transaction for every ``write()`` this thread makes inside the block, each
        in its own savepoint; the callbacks of ``after_commit`` run after its COMMIT.

        ``careful=False`` saves a round trip per write: a write's statements whose
        results it does not read (an upsert, RELEASE) are checked with the next one it
        or a later write reads, or at COMMIT. A failure found there cannot be pinned on
        one write, so the whole batch is rolled back and raises ``BatchUndone``; the
        caller runs it again carefully. The writes after the first also go without a
        savepoint (``_without_savepoint``). Failures are rare (the domain's rules are
        checked before anything is written), so what is saved pays for them.

        ``reads``: what the writes will read; the tasks among them are fetched with the
        batch's first read of a task (task_rows.py, "Read-ahead"): one round trip."""
        with self._transaction(batch=True, careful=careful) as tx:
            tx.read_ahead = ReadAhead(reads)
            yield
            if tx.undone is not None:
                # A write swallowed the BatchUndone it was given: the batch is void all
                # the same.
                raise BatchUndone(str(tx.undone)) from tx.undone
        for callback in tx.callbacks:
            try:
                callback()
            except Exception:
                log.exception("a callback after a batch's COMMIT failed")

    def after_commit(self, callback: Callable[[], None]) -> None:
        tx = self._current()
        if tx is None:
            callback()
        else:
            tx.callbacks.append(callback)

    @contextmanager
    def _transaction(self, *, batch: bool, careful: bool = True) -> Iterator[Transaction]:
        if self._current() is not None or self._depth():
            raise RuntimeError("this thread is inside a transaction already")
        with self._connection() as conn:
            tx = Transaction(conn, batch=batch, instance=self.instance, careful=careful)
            self._local.tx = tx
            generation = self._recent.generation
            committed: list[StoredEvent] = []
            try:
                # Pipeline mode: a statement whose result nobody reads (BEGIN, SAVEPOINT,
                # an upsert, RELEASE, COMMIT) goes out with the next one that is read,
                # instead of costing a round trip of its own.
                with self._errors():
                    try:
                        with conn.pipeline() as pipeline:
                            tx.pipeline = pipeline
                            conn.execute("BEGIN ISOLATION LEVEL READ COMMITTED")
                            yield tx
                            try:
                                committed = tx.commit()
                            except psycopg.Error as exc:
                                # Careless, the failure may be any write's: undo them all.
                                # Not so when the server is gone: the outcome is unknown.
                                if careful or conn.broken or _unavailable(exc):
                                    raise
                                raise BatchUndone(str(exc)) from exc
                    except psycopg.Error:
                        if not tx.committed:
                            raise
                        # Leaving pipeline mode failed after COMMIT answered (the
                        # connection went): the batch is committed; the pool drops it.
            except OutcomeUnknown as lost:
                self._recent.clear()  # as after an outage: the feed reads the table
                raise OutcomeUnknown(
                    f"the connection to the database at {self.location} was lost as these "
                    f"writes were committed: they may or may not have been made ({lost})"
                ) from lost
            except BaseException:
                _roll_back(conn)
                raise
            finally:
                self._local.tx = None
        self._recent.add(committed, generation)

    @contextmanager
    def _savepoint(self, tx: Transaction) -> Iterator[None]:
        mark = tx.mark()
        tx.held_before = mark.held
        with self._errors():
            try:
                # In pipeline mode an execute may raise an earlier statement's error.
                tx.conn.execute("SAVEPOINT write")  # sent with the write's first query
            except psycopg.Error as exc:
                if tx.careful or tx.conn.broken:
                    raise
                raise _undo_batch(tx, exc) from exc
            try:
                yield
                if tx.careful:
                    # The write's statements whose results it did not read: their
                    # errors are this write's, not the next one's.
                    tx.sync()
            except BatchUndone:
                raise
            except BaseException as exc:
                if not tx.careful and not tx.conn.broken and not _own_failure(tx, exc):
                    raise _undo_batch(tx, exc) from exc
                if not tx.conn.broken:
                    with contextlib.suppress(psycopg.Error):
                        tx.sync()  # whatever was queued behind the failure was skipped
                    tx.conn.execute("ROLLBACK TO SAVEPOINT write")
                    tx.conn.execute("RELEASE SAVEPOINT write")
                    tx.sync()
                tx.undo_to(mark)
                raise
            try:
                tx.conn.execute("RELEASE SAVEPOINT write")  # sent with the next write's query
            except psycopg.Error as exc:
                if tx.careful or tx.conn.broken:
                    raise
                raise _undo_batch(tx, exc) from exc
            if not tx.careful:
                tx.unsynced = True

    @contextmanager
    def _without_savepoint(self, tx: Transaction) -> Iterator[None]:
        """A later write of a careless batch, without a savepoint of its own (two
        statements fewer). A write that fails before it wrote anything, on an error
        raised in Python while everything sent before it succeeded, left nothing to
        undo in the database (the locks it took stay held until COMMIT, and are
        counted as held); any other failure undoes the whole batch, which runs again
        carefully."""
        mark = tx.mark()
        tx.held_before = mark.held
        tx.wrote = False
        with self._errors():
            try:
                yield
            except BatchUndone:
                raise
            except BaseException as exc:
                if not tx.conn.broken and (tx.wrote or not _own_failure(tx, exc)):
                    raise _undo_batch(tx, exc) from exc
                tx.undo_to(mark, rolled_back=False)
                raise
        tx.unsynced = True

    @contextmanager
    def _errors(self) -> Iterator[None]:
        """Name the errors the core handles: a contended lock, an unreachable server."""
        try:
            yield
        except (psycopg.errors.TransactionRollback, psycopg.errors.LockNotAvailable) as exc:
            # A deadlock, a serialisation failure, a lock wait past lock_timeout.
            raise Contended(str(exc)) from exc
        except psycopg.DataError as exc:
            if "NUL" in str(exc):  # psycopg refuses to send it: a value, not the server
                raise UnstorableText(str(exc)) from exc
            raise
        except psycopg.Error as exc:
            if _unavailable(exc):
                raise self._unavailable(exc) from exc
            raise

    @contextmanager
    def read(self) -> Iterator[PgRows]:
        """One snapshot. Inside a transaction of this thread it joins that one."""
        # A joined read names errors too: its caller (the service) handles them, not
        # the transaction that began elsewhere.
        tx = self._current()
        if tx is not None:
            with self._errors():
                yield PgRows(tx.conn, tx, self)
            return
        current: PgRows | None = self._local.__dict__.get("reading")
        if current is not None:
            self._local.depth += 1
            try:
                with self._errors():
                    yield current
            finally:
                self._local.depth -= 1
            return
        with self._connection() as conn:
            rows = PgRows(conn, None, self)
            self._local.reading, self._local.depth = rows, 1
            try:
                # Not in pipeline mode: it would save BEGIN's round trip, but an export
                # reads through a server-side cursor, which pipeline mode cannot have.
                with self._errors():
                    conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
                    yield rows
                    conn.execute("COMMIT")
            except BaseException:
                _roll_back(conn)
                raise
            finally:
                self._local.reading, self._local.depth = None, 0

    def _depth(self) -> int:
        depth: int = self._local.__dict__.get("depth", 0)
        return depth

    # --- the clock and the epoch -------------------------------------------------------

    def clock(self) -> int:
        """The database server's clock, in epoch ms: an offset to this host's monotonic
        clock (which no NTP step moves), measured every ``CLOCK_RESYNC_S``."""
        if time.monotonic() >= self._clock_due:
            self._sync_clock()
        return _monotonic_ms() + self._clock_offset

    def _sync_clock(self) -> None:
        with self._clock_lock:
            if time.monotonic() < self._clock_due:
                return
            # A connection of its own: the caller may hold one of the pool's already.
            try:
                with self.connect("maestro-clock") as conn:
                    before = _monotonic_ms()
                    (server,) = one(
                        conn, "SELECT (extract(epoch FROM clock_timestamp()) * 1000)::bigint"
                    )
                    after = _monotonic_ms()
            except StoreUnavailable:
                if not self._clock_known:
                    raise
                # Keep the last offset (it drifts by milliseconds a day); try again soon.
                self._clock_due = time.monotonic() + CLOCK_RETRY_S
                return
            self._clock_offset = int(server) - (before + after) // 2
            self._clock_known = True
            self._clock_due = time.monotonic() + CLOCK_RESYNC_S

    def epoch(self) -> str:
        """The log's history: the random name given when the database was made, the
        database's identity in its cluster (a restore makes a new one) and the cluster's
        timeline (a failover or point-in-time recovery starts a new one)."""
        with self._connection() as conn:
            (name,) = one(conn, "SELECT epoch FROM maestro_schema")
            epoch = _epoch(name, *_identity(conn))
        if epoch != self._epoch_seen:
            self._recent.clear()  # commits remembered from another history
            self._epoch_seen = epoch
        return epoch

    def renew_epoch(self, expected: str) -> str:
        """Name the history anew if its epoch is still ``expected``: instances that find
        the same rewound log at once renew it once. Returns the epoch now."""
        with self._connection() as conn, self._errors():
            identity = _identity(conn)
            conn.execute("BEGIN")
            try:
                (name,) = one(conn, "SELECT epoch FROM maestro_schema FOR UPDATE")
                if _epoch(name, *identity) == expected:
                    conn.execute(RENEW_EPOCH)
                conn.execute("COMMIT")
            except BaseException:
                _roll_back(conn)
                raise
        return self.epoch()

    # --- moving a whole database ---------------------------------------------------------

    def reclaim(self) -> int:
        """Nothing to do: autovacuum makes deleted rows' space reusable by new ones (the
        files keep their size; VACUUM FULL would give it back to the file system, under
        an exclusive lock). Nothing of Maestro's holds it up: every connection is in
        autocommit between transactions, none stays idle in one."""
        return 0

    def load(self, rows: Iterable[tuple[str, dict[str, Any]]]) -> None:
        """Fill this empty database with rows of the transfer format, in one transaction
        on a connection of its own (transfer_rows.py)."""
        with self.connect("maestro-import") as conn, self._errors():
            conn.execute("BEGIN")
            try:
                transfer_rows.load(conn, rows)
                conn.execute("COMMIT")
            except BaseException:
                _roll_back(conn)
                raise

    # --- schema -----------------------------------------------------------------------

    def migrate(self) -> int:
        """Bring the schema up to date under an advisory lock (instances starting
        together apply each migration once); returns the schema version. It is the
        store's first use, on a connection of its own: a server that cannot be reached
        is named at once, with the reason."""
        with self.connect("maestro-migrate") as conn, self._errors():
            conn.execute("BEGIN")
            try:
                conn.execute("SELECT pg_advisory_xact_lock(%s)", (lock_key(locks.MIGRATIONS),))
                current, readable_from = self._schema_version(conn)
                if current > SCHEMA_VERSION and readable_from > SCHEMA_VERSION:
                    raise SchemaTooNew(
                        f"{self.location} has schema version {current}, which Maestro "
                        f"{SCHEMA_VERSION} cannot use; upgrade Maestro"
                    )
                for number in range(current, SCHEMA_VERSION):
                    conn.execute(MIGRATIONS[number])
                if current < SCHEMA_VERSION:
                    conn.execute(
                        "UPDATE maestro_schema SET version = %s, "
                        "readable_from = GREATEST(readable_from, %s)",
                        (SCHEMA_VERSION, READABLE_FROM),
                    )
                conn.execute("COMMIT")
            except BaseException:
                _roll_back(conn)
                raise
        return max(current, SCHEMA_VERSION)

    @staticmethod
    def _schema_version(conn: Connection) -> tuple[int, int]:
        (exists,) = one(conn, "SELECT to_regclass('maestro_schema') IS NOT NULL")
        if not exists:
            return 0, 0
        row = one(conn, "SELECT version, readable_from FROM maestro_schema")
        return int(row[0]), int(row[1])
