"""SQLite queries for the event log and the idempotency records. Used by ``SqliteRows``
and by the feed's ``SqliteLogReader``.

Payloads are stored whole (the envelope encoded once, in the transaction that
commits it); the feed and every replay send those bytes unchanged.
"""

import json
import sqlite3

from ...events import PendingEvent, StoredEvent, envelope
from .. import log_sql
from ..contract import EventPage, LogFilter, LogPosition, StoredResult
from ..recent import RecentCommits, rest_of_read
from .memo import HEAD_UNREAD, TransactionMemo


def head(conn: sqlite3.Connection) -> int:
    # Retention always keeps the newest event, so MAX(seq) is the head.
    (seq,) = conn.execute("SELECT COALESCE(MAX(seq), 0) FROM events").fetchone()
    return int(seq)


def oldest(conn: sqlite3.Connection) -> int | None:
    (seq,) = conn.execute("SELECT MIN(seq) FROM events").fetchone()
    return None if seq is None else int(seq)


def read_after(
    conn: sqlite3.Connection, after: int, limit: int, *, max_bytes: int | None = None
) -> list[StoredEvent]:
    """Up to ``limit`` events after ``after``, stopping early past ``max_bytes`` of payload
    (at least one event is always returned, however large)."""
    cursor = conn.execute(
        "SELECT seq, type, project_id, payload FROM events WHERE seq > ? ORDER BY seq LIMIT ?",
        (after, limit),
    )
    found: list[StoredEvent] = []
    size = 0
    for row in cursor:
        found.append(StoredEvent(*row))
        size += len(row[3])
        if max_bytes is not None and size >= max_bytes:
            break
    cursor.close()
    return found


class LogQueries:
    __slots__ = ()
    conn: sqlite3.Connection
    memo: TransactionMemo

    def head(self) -> int:
        return head(self.conn)

    def oldest(self) -> int | None:
        return oldest(self.conn)

    def append_events(self, events: list[PendingEvent], timestamp: int) -> LogPosition:
        # BEGIN IMMEDIATE serialises writers (threads and processes), so head()+1 is
        # free and commits become visible in seq order: the feed can tail the log with
        # `seq > last` and never skip one. Inside a batch, the head its writes left.
        known = self.memo.batch_head
        seq = known if known is not None and known != HEAD_UNREAD else head(self.conn)
        rows = []
        appended = self.memo.appended
        for event in events:
            seq += 1
            payload = envelope(seq, event, timestamp)
            appended.append(StoredEvent(seq, event.type.value, event.project_id, payload))
            rows.append(
                (
                    seq,
                    timestamp,
                    event.type.value,
                    event.project_id,
                    payload,
                    event.task_id,
                    event.session_id,
                )
            )
        self.conn.executemany(
            "INSERT INTO events (seq, ts, type, project_id, payload, task_id, session_id) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
        if known is not None:  # inside a batch: its next write appends after these
            self.memo.batch_head = seq
        return LogPosition(seq)

    def read_events_after(
        self, after: int, limit: int, *, max_bytes: int | None = None
    ) -> list[StoredEvent]:
        return read_after(self.conn, after, limit, max_bytes=max_bytes)

    def read_events_before(
        self, before: int | None, limit: int, where: LogFilter, *, max_bytes: int | None = None
    ) -> EventPage:
        condition, values = log_sql.where(where, before, lambda name: f":{name}")
        cursor = self.conn.execute(
            "SELECT seq, type, project_id, payload FROM events "
            f"WHERE {condition} ORDER BY seq DESC LIMIT :limit",
            {**values, "limit": limit + 1},  # one more: whether there are older ones
        )
        found: list[StoredEvent] = []
        size = 0
        older = False
        # Row by row: a page past its bytes is not read further.
        for row in cursor:
            if len(found) == limit or (max_bytes is not None and size >= max_bytes):
                older = True
                break
            found.append(StoredEvent(*row))
            size += len(row[3].encode())  # bytes, as PostgreSQL's octet_length counts them
        cursor.close()
        return EventPage(found, older)

    def prunable(self, keep: int, *, max_bytes: int | None, before: int | None) -> int:
        newest = head(self.conn)
        through = newest - max(keep, 1)
        if before is not None:
            # From the oldest on, up to the first event young enough: as many rows as go.
            row = self.conn.execute(
                "SELECT seq FROM events WHERE seq > ? AND ts >= ? ORDER BY seq LIMIT 1",
                (through, before),
            ).fetchone()
            through = max(through, row[0] - 1 if row else newest - 1)
        if max_bytes is not None and self._may_hold_more_than(max_bytes):
            # From the newest back, up to the event that passes the bound (a read of the
            # log: outside the write lock). Bytes: the length of the UTF-8 text.
            row = self.conn.execute(
                "SELECT seq FROM (SELECT seq, SUM(length(CAST(payload AS BLOB))) OVER "
                "(ORDER BY seq DESC ROWS UNBOUNDED PRECEDING) AS total FROM events "
                "WHERE seq > ?) WHERE total > ? LIMIT 1",
                (through, max_bytes),
            ).fetchone()
            if row is not None:
                through = max(through, min(row[0], newest - 1))
        return max(through, 0)

    def _may_hold_more_than(self, size: int) -> bool:
        # The pages in use bound the log's bytes: a file smaller than the bound is not
        # read through to measure it.
        (pages,) = self.conn.execute("PRAGMA page_count").fetchone()
        (free,) = self.conn.execute("PRAGMA freelist_count").fetchone()
        (page_size,) = self.conn.execute("PRAGMA page_size").fetchone()
        return bool((pages - free) * page_size > size)

    def prune_events(self, through: int) -> int:
        through = min(through, head(self.conn) - 1)
        cursor = self.conn.execute("DELETE FROM events WHERE seq <= ?", (through,))
        return cursor.rowcount

    def reserve_idempotency(self, key: str, fingerprint: str, now: int) -> StoredResult | None:
        # One writer at a time: nobody else can be using the key while we look.
        row = self.conn.execute(
            "SELECT fingerprint, result FROM idempotency WHERE key = ?", (key,)
        ).fetchone()
        if row is None:
            return None
        stored = json.loads(row[1])  # {"value": ..., "seq": ...}
        return StoredResult(row[0], json.dumps(stored["value"]), stored["seq"])

    def save_idempotency(
        self, key: str, fingerprint: str, result: str, now: int, position: LogPosition
    ) -> None:
        stored = f'{{"value":{result},"seq":{position.seq}}}'
        self.conn.execute(
            "INSERT INTO idempotency (key, fingerprint, result, created_at) VALUES (?, ?, ?, ?)",
            (key, fingerprint, stored, now),
        )

    def lead(self, role: str) -> bool:
        return True  # one writer at a time: nobody else is doing anything now

    def prune_idempotency(self, created_before: int) -> int:
        cursor = self.conn.execute(
            "DELETE FROM idempotency WHERE created_at < ?", (created_before,)
        )
        return cursor.rowcount


class SqliteLogReader:
    """The feed's connection: ``PRAGMA data_version`` changes when any other
    connection, in this process or another, commits. What this process committed
    lately is read from memory (``recent``): a run that starts right after what the
    feed read, and then, if the log goes further (another process's commits), the
    rest from the table, in seq order."""

    def __init__(self, conn: sqlite3.Connection, recent: RecentCommits | None = None) -> None:
        self.conn = conn
        self._recent = recent or RecentCommits(0)

    def change_token(self) -> int:
        (version,) = self.conn.execute("PRAGMA data_version").fetchone()
        return int(version)

    def head(self) -> int:
        return head(self.conn)

    def oldest(self) -> int | None:
        return oldest(self.conn)

    def read_after(
        self, after: int, limit: int, *, max_bytes: int | None = None
    ) -> list[StoredEvent]:
        runs = self._recent.runs_after(after, limit, max_bytes)
        found = [event for run in runs for event in run]
        if found:
            # One cheap statement instead of reading the rows: is there more after them,
            # and are they still the log's? A backup restored in place rewinds the log
            # and its seqs are used again; a transaction's event still there as it was
            # vouches for the whole transaction (recent.py), so one per run is checked.
            checks = " AND ".join(["(SELECT payload FROM events WHERE seq = ?) IS ?"] * len(runs))
            vouchers = [value for run in runs for value in (run[-1].seq, run[-1].payload)]
            top, same = self.conn.execute(
                f"SELECT MAX(seq), {checks} FROM events", vouchers
            ).fetchone()
            if not same:
                self._recent.clear()
                return read_after(self.conn, after, limit, max_bytes=max_bytes)
            rest = rest_of_read(found, limit, max_bytes)
            if rest is None or top == found[-1].seq:
                return found
            after, limit, max_bytes = rest
        return found + read_after(self.conn, after, limit, max_bytes=max_bytes)

    def close(self) -> None:
        self.conn.close()
