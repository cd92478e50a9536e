"""The event log: names, the envelope, and appending and reading rows.

An event's envelope is encoded once, inside the transaction that commits it,
and stored whole; the feed and every replay send those stored bytes unchanged.
"""

import sqlite3
from dataclasses import dataclass
from enum import StrEnum


class EventType(StrEnum):
    PROJECT_CREATED = "project:created"
    PROJECT_UPDATED = "project:updated"
    PROJECT_DELETED = "project:deleted"
    TASK_CREATED = "task:created"
    TASK_UPDATED = "task:updated"
    TASK_DELETED = "task:deleted"
    SESSION_CREATED = "session:created"
    SESSION_UPDATED = "session:updated"
    SESSION_DELETED = "session:deleted"
    SESSION_TASK_ADDED = "session:task_added"
    SESSION_TASK_REMOVED = "session:task_removed"
    SESSION_NOTE_ADDED = "session:note_added"
    TASK_CLAIMED = "task:claimed"
    TASK_RELEASED = "task:released"


# Control messages of the live feeds: not in the log, carry no seq.
SYNC_READY = "sync:ready"
SYNC_RESET = "sync:reset"


@dataclass(frozen=True, slots=True)
class PendingEvent:
    type: EventType
    project_id: str | None
    data_json: str


@dataclass(frozen=True, slots=True)
class StoredEvent:
    seq: int
    type: str
    project_id: str | None
    payload: str  # the complete envelope, as sent to clients


def envelope(seq: int, event: str, data_json: str, timestamp: int) -> str:
    # Event names are fixed ASCII identifiers, so no escaping is needed.
    return f'{{"seq":{seq},"event":"{event}","data":{data_json},"timestamp":{timestamp}}}'


def head(conn: sqlite3.Connection) -> int:
    """The seq of the newest event, 0 for an empty log. Retention always keeps the newest."""
    (seq,) = conn.execute("SELECT COALESCE(MAX(seq), 0) FROM events").fetchone()
    return int(seq)


def oldest(conn: sqlite3.Connection) -> int | None:
    (seq,) = conn.execute("SELECT MIN(seq) FROM events").fetchone()
    return None if seq is None else int(seq)


def append(conn: sqlite3.Connection, events: list[PendingEvent], timestamp: int) -> int:
    """Append events with consecutive seqs; returns the last seq (the head if none).

    Must run inside a write transaction: BEGIN IMMEDIATE serialises writers, so
    head()+1 is free and commits become visible in seq order, which is what lets
    the feed tail the log with ``seq > last`` and never skip one.
    """
    seq = head(conn)
    rows = []
    for event in events:
        seq += 1
        payload = envelope(seq, event.type.value, event.data_json, timestamp)
        rows.append((seq, timestamp, event.type.value, event.project_id, payload))
    conn.executemany(
        "INSERT INTO events (seq, ts, type, project_id, payload) VALUES (?, ?, ?, ?, ?)", rows
    )
    return seq


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


def prune(conn: sqlite3.Connection, keep: int) -> int:
    """Delete all but the newest ``keep`` events (at least one is always kept)."""
    keep = max(keep, 1)
    cursor = conn.execute("DELETE FROM events WHERE seq <= ?", (head(conn) - keep,))
    return cursor.rowcount
