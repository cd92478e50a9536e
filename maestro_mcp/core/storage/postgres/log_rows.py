"""PostgreSQL queries for the event log and the idempotency records, and the feed's
``PgLogReader``.

Appending is staged: ``append_events`` hands the events to the transaction, which
appends them all in its last statement (store.py), where the seqs are taken.
"""

import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import psycopg

from ...events import PendingEvent, StoredEvent
from .. import log_sql
from ..contract import EventPage, LogFilter, LogPosition, StoredResult, StoreUnavailable
from ..recent import RecentCommits, rest_of_read
from .locks import lock_key

if TYPE_CHECKING:
    from .store import Transaction

log = logging.getLogger(__name__)

# NOTIFY is a wake-up, carrying the new head and the committing instance's name (so
# that it can skip its own); every instance reads the rows itself.
NOTIFY_CHANNEL = "maestro_events"
LISTEN_WAIT_S = 0.5  # how often the listener looks up from its wait (to stop)
RECONNECT_MAX_S = 2.0

Connection = psycopg.Connection[tuple[Any, ...]]


def deleted(conn: Connection, delete: str, params: tuple[Any, ...]) -> int:
    """Run ``delete`` and count its rows. Counted in SQL, not by ``rowcount``: in
    pipeline mode that is known only once the statement's result was read."""
    row = conn.execute(f"WITH gone AS ({delete} RETURNING 1) SELECT count(*) FROM gone", params)
    found = row.fetchone()
    return int(found[0]) if found else 0


def head(conn: Connection) -> int:
    row = conn.execute("SELECT seq FROM event_head").fetchone()
    return 0 if row is None else int(row[0])


def oldest(conn: Connection) -> int | None:
    row = conn.execute("SELECT MIN(seq) FROM events").fetchone()
    return None if row is None or row[0] is None else int(row[0])


def read_after(
    conn: Connection, after: int, limit: int, *, max_bytes: int | None = None
) -> list[StoredEvent]:
    """Up to ``limit`` events after ``after``, stopping early past ``max_bytes`` of payload
    (at least one event is always returned, however large)."""
    rows = conn.execute(
        "SELECT seq, type, project_id, payload FROM events WHERE seq > %s ORDER BY seq LIMIT %s",
        (after, limit),
    ).fetchall()
    found: list[StoredEvent] = []
    size = 0
    for row in rows:
        found.append(StoredEvent(int(row[0]), row[1], row[2], row[3]))
        size += len(row[3])
        if max_bytes is not None and size >= max_bytes:
            break
    return found


class LogQueries:
    __slots__ = ()
    conn: Connection
    tx: "Transaction | None"

    def head(self) -> int:
        return head(self.conn)

    def oldest(self) -> int | None:
        return oldest(self.conn)

    def append_events(self, events: list[PendingEvent], timestamp: int) -> LogPosition:
        assert self.tx is not None, "events are appended by write transactions only"
        return self.tx.stage(events, timestamp)

    def read_events_after(
        self, after: int, limit: int, *, max_bytes: int | None = None
    ) -> list[StoredEvent]:
        return read_after(self.conn, after, limit, max_bytes=max_bytes)

    def read_events_before(
        self, before: int | None, limit: int, where: LogFilter, *, max_bytes: int | None = None
    ) -> EventPage:
        condition, values = log_sql.where(where, before, lambda name: f"%({name})s")
        # The running size is summed as the index is walked: the rows past the page's
        # bytes come without their payload (only the first of them is looked at), and the
        # walk stops at one more than the page (whether there are older ones).
        rows = self.conn.execute(
            "SELECT seq, type, project_id, "
            "CASE WHEN %(max_bytes)s::bigint IS NULL OR total - size < %(max_bytes)s "
            "THEN payload END "
            "FROM (SELECT seq, type, project_id, payload, octet_length(payload) AS size, "
            "sum(octet_length(payload)) OVER (ORDER BY seq DESC ROWS UNBOUNDED PRECEDING) "
            f"AS total FROM events WHERE {condition} ORDER BY seq DESC LIMIT %(limit)s) AS page "
            "ORDER BY seq DESC",
            {**values, "limit": limit + 1, "max_bytes": max_bytes},
        ).fetchall()
        found: list[StoredEvent] = []
        for seq, kind, project_id, payload in rows:
            if len(found) == limit or payload is None:
                break
            found.append(StoredEvent(int(seq), kind, project_id, payload))
        return EventPage(found, len(rows) > len(found))

    def prunable(self, keep: int, *, max_bytes: int | None, before: int | None) -> int:
        newest = head(self.conn)
        through = newest - max(keep, 1)
        if before is not None:
            # From the oldest on, up to the first event young enough: as many rows as go.
            row = self.conn.execute(
                "SELECT seq FROM events WHERE seq > %s AND ts >= %s ORDER BY seq LIMIT 1",
                (through, before),
            ).fetchone()
            through = max(through, int(row[0]) - 1 if row else newest - 1)
        if max_bytes is not None:
            # From the newest back, up to the event that passes the bound. octet_length
            # reads a TOASTed payload's size from its header, not the payload itself.
            row = self.conn.execute(
                "SELECT seq FROM (SELECT seq, sum(octet_length(payload)) OVER "
                "(ORDER BY seq DESC ROWS UNBOUNDED PRECEDING) AS total FROM events "
                "WHERE seq > %s) AS newest WHERE total > %s LIMIT 1",
                (through, max_bytes),
            ).fetchone()
            if row is not None:
                through = max(through, min(int(row[0]), newest - 1))
        return max(through, 0)

    def prune_events(self, through: int) -> int:
        return deleted(
            self.conn,
            "DELETE FROM events WHERE seq <= LEAST(%s, (SELECT seq FROM event_head) - 1)",
            (through,),
        )

    def reserve_idempotency(self, key: str, fingerprint: str, now: int) -> StoredResult | None:
        # Inserted first: a transaction inserting the same key right now (another
        # instance) makes this wait on the unique index until it ends. The write keeps
        # the keys it reserved (Transaction.reserved): one that fails without a
        # savepoint deletes them, and is not counted as having written for that.
        assert self.tx is not None, "keys are reserved by write transactions only"
        inserted = self.tx.conn.execute(
            "INSERT INTO idempotency (key, fingerprint, created_at) VALUES (%s, %s, %s) "
            "ON CONFLICT (key) DO NOTHING RETURNING key",
            (key, fingerprint, now),
        ).fetchone()
        if inserted is not None:
            self.tx.reserved.append(key)
            return None
        row = self.conn.execute(
            "SELECT fingerprint, result, seq FROM idempotency WHERE key = %s", (key,)
        ).fetchone()
        assert row is not None
        if row[1] is None:
            # Reserved earlier in this very transaction (a retry in the same batch): its
            # result is staged, with a seq that is known at COMMIT.
            result, position = self.tx.staged_result(key)
            return StoredResult(row[0], result, position)
        return StoredResult(row[0], row[1], int(row[2]))

    def save_idempotency(
        self, key: str, fingerprint: str, result: str, now: int, position: LogPosition
    ) -> None:
        assert self.tx is not None
        self.tx.stage_result(key, result, position)

    def lead(self, role: str) -> bool:
        """A transaction-level advisory lock, tried without waiting."""
        key = lock_key(role)
        row = self.conn.execute("SELECT pg_try_advisory_xact_lock(%s)", (key,)).fetchone()
        got = bool(row and row[0])
        if got and self.tx is not None:
            self.tx.held.add(key)  # a lock the batch holds, as its project locks are
        return got

    def prune_idempotency(self, created_before: int) -> int:
        return deleted(
            self.conn, "DELETE FROM idempotency WHERE created_at < %s", (created_before,)
        )


def _notified_head(payload: str) -> int | None:
    """The head a NOTIFY says its commit reached (``"<head> <instance>"``)."""
    first = payload.split(" ", 1)[0]
    return int(first) if first.isdigit() else None


class PgLogReader:
    """The feed's connections: one to read the log (autocommit: every query sees the
    newest commits) and, when the feed wants wake-ups, one that LISTENs in a thread and
    calls ``on_change`` for every NOTIFY. The head is also the change token, which the
    feed polls: if the listener is cut off, delivery goes on at the poll's pace while
    it reconnects."""

    def __init__(
        self,
        connect: Callable[[str], Connection],
        on_change: Callable[[int | None], None] | None,
        recent: RecentCommits | None = None,
        instance: str = "",
    ) -> None:
        self._connect = connect
        self._recent = recent or RecentCommits(0)
        self._own_notice = f" {instance}" if instance else None
        # The newest head this reader has heard of (NOTIFYs, its own head queries): a
        # run from memory that ends before it is not all there is to read.
        self._heard = 0
        self._conn: Connection | None = None
        self._on_change = on_change
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        if on_change is not None:
            self._thread = threading.Thread(target=self._listen, name="maestro-listen", daemon=True)
            self._thread.start()

    def _reading(self) -> Connection:
        conn = self._conn
        if conn is None or conn.closed or conn.broken:
            if conn is not None:
                conn.close()
            self._conn = conn = self._connect("maestro-feed")
        return conn

    def _query(self, run: Callable[[Connection], Any]) -> Any:
        try:
            return run(self._reading())
        except psycopg.OperationalError as exc:
            if self._conn is not None and (self._conn.broken or self._conn.closed):
                self._recent.clear()
                raise StoreUnavailable(f"the feed's connection was lost: {exc}") from exc
            raise

    def change_token(self) -> int:
        return self.head()

    def head(self) -> int:
        value: int = self._query(head)
        self._hear(value)
        return value

    def _hear(self, seq: int) -> None:
        if seq > self._heard:  # from the listener's thread and the feed's: a max
            self._heard = seq

    def oldest(self) -> int | None:
        value: int | None = self._query(oldest)
        return value

    def read_after(
        self, after: int, limit: int, *, max_bytes: int | None = None
    ) -> list[StoredEvent]:
        found = self._recent.after(after, limit, max_bytes)
        if found:
            rest = rest_of_read(found, limit, max_bytes)
            if rest is None or found[-1].seq >= self._heard:
                return found
            # Others committed after this run (heard of): the rest comes from the table.
            after, limit, max_bytes = rest
        read: list[StoredEvent] = self._query(
            lambda conn: read_after(conn, after, limit, max_bytes=max_bytes)
        )
        return found + read

    def _told_already(self, payload: str) -> bool:
        """Whether a NOTIFY is the echo of this instance's own commit, whose feed was
        woken by the commit itself (the poll backs that up)."""
        return self._own_notice is not None and payload.endswith(self._own_notice)

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(LISTEN_WAIT_S * 4)
            self._thread = None
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _listen(self) -> None:
        assert self._on_change is not None
        wait = 0.05
        while not self._stop.is_set():
            try:
                with self._connect("maestro-listen") as conn:
                    conn.execute(f"LISTEN {NOTIFY_CHANNEL}")
                    if wait > 0.05:
                        log.warning("feed: listening for commits again")
                    wait = 0.05
                    self._on_change(None)  # commits may have landed while nobody listened
                    while not self._stop.is_set():
                        for notice in conn.notifies(timeout=LISTEN_WAIT_S):
                            seq = _notified_head(notice.payload)
                            if seq is not None:
                                self._hear(seq)  # before the wake-up it causes
                            if not self._told_already(notice.payload):
                                self._on_change(seq)
            except (psycopg.Error, StoreUnavailable) as exc:
                if self._stop.is_set():
                    return
                if wait == 0.05:
                    log.warning("feed: lost the LISTEN connection (%s); polling meanwhile", exc)
                self._stop.wait(wait)
                wait = min(wait * 2, RECONNECT_MAX_S)
