"""The event log's vocabulary: event names, the envelope, pending and stored events.

An event's envelope is encoded once, inside the transaction that commits it,
and stored whole; the feed and every replay send those stored bytes unchanged.
How the log is stored is the storage backend's business (core/storage).
"""

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
    # Named tokens: their name and scope, never their secret (core/access.py).
    TOKEN_CREATED = "token:created"
    TOKEN_REVOKED = "token:revoked"


# At most this many events per read of the log (feed, replay, changes_since), so a
# long catch-up is read in bounded steps.
READ_BATCH = 1000

# Control messages of the live feeds: not in the log, carry no seq.
SYNC_READY = "sync:ready"
SYNC_RESET = "sync:reset"


@dataclass(frozen=True, slots=True)
class PendingEvent:
    type: EventType
    project_id: str | None
    data_json: str
    actor_json: str  # who made the change (core/access.py), as a JSON string


@dataclass(frozen=True, slots=True)
class StoredEvent:
    seq: int
    type: str
    project_id: str | None
    payload: str  # the complete envelope, as sent to clients


ENVELOPE_HEAD = '{"seq":'


def envelope_tail(event: PendingEvent, timestamp: int) -> str:
    """The envelope after its seq: a backend that learns the seq only in SQL builds the
    envelope there as ``ENVELOPE_HEAD || seq || tail``."""
    # Event names are fixed ASCII identifiers, so no escaping is needed.
    return (
        f',"event":"{event.type.value}","data":{event.data_json},'
        f'"timestamp":{timestamp},"actor":{event.actor_json}}}'
    )


def envelope(seq: int, event: PendingEvent, timestamp: int) -> str:
    return f"{ENVELOPE_HEAD}{seq}{envelope_tail(event, timestamp)}"
