"""The event log's vocabulary: event names, the envelope, pending and stored events.

An event's envelope is encoded once, inside the transaction that commits it,
and stored whole; the feed and every replay send those stored bytes unchanged.
How the log is stored is the storage backend's business (core/storage).
"""

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


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


# ``task:updated`` leaves out these fields where the change did not touch them (they are
# a task's bulky text: a hundred tasks linked at once must not add a hundred prompts to
# the log), and lists the ones it left out under ``OMITTED``: a client keeps its copy.
# Events that create a task, and snapshots (GET), carry every field. docs/protocol.md.
BULKY_TASK_FIELDS = ("description", "prompt")
OMITTED = "omitted"


def merged_data(held: Mapping[str, Any] | None, data: dict[str, Any]) -> dict[str, Any]:
    """The entity a client holds after an event whose data is ``data``, given its copy
    before (``held``, or None): the fields the event omitted are kept from that copy.
    Fields the copy lacks too stay listed under ``OMITTED``: what a client must fetch
    (GET) to know them. Every client that merges events uses this rule."""
    omitted = data.get(OMITTED)
    if not omitted:
        return data
    entity = {key: value for key, value in data.items() if key != OMITTED}
    missing = []
    for name in omitted:
        if held is not None and name in held:
            entity[name] = held[name]
        else:
            missing.append(name)
    if missing:
        entity[OMITTED] = missing
    return entity


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
