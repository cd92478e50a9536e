"""The event log's vocabulary: event names, the envelope, pending and stored events.

An event's envelope is encoded once, inside the transaction that commits it,
and stored whole; the feed and every replay send those stored bytes unchanged.
How the log is stored is the storage backend's business (core/storage).

Besides its envelope, the log keeps what each event is about — its task and its
session (``subjects``, the one rule) — so that a task's history and a project's
activity are read through an index instead of every payload.
"""

import json
from collections.abc import Callable, Mapping
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
    # Coordination beyond tasks (service/messages.py, questions.py, reservations.py).
    MESSAGE_SENT = "message:sent"
    MESSAGE_READ = "message:read"
    QUESTION_ASKED = "question:asked"
    QUESTION_ANSWERED = "question:answered"
    QUESTION_CANCELLED = "question:cancelled"
    RESERVATION_CREATED = "reservation:created"
    RESERVATION_UPDATED = "reservation:updated"
    RESERVATION_RENEWED = "reservation:renewed"
    RESERVATION_RELEASED = "reservation:released"
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


# An update's envelope names the fields whose value the change made differ, in the
# entity's camelCase, under ``CHANGED`` (top level, beside ``data``): every field but
# ``ALWAYS_CHANGED``, which every change moves. ``[]``: nothing else changed (a lease
# renewed at the very millisecond of the last one). Events appended before this was
# added carry none. docs/protocol.md, "Events".
CHANGED = "changed"
ALWAYS_CHANGED = frozenset({"version", "updatedAt"})


# What each event is about: where, in its data, its task and its session are (None: not
# about one): a camelCase name, or a dotted path of them into a nested object. A task's
# update is about the session whose claim it carries, if any: the holder's own changes to
# the task it holds ("codex moved X to review") are that session's activity too.
# docs/protocol.md, "What each event is about".
_ABOUT: dict[str, tuple[str | None, str | None]] = {
    EventType.TASK_CREATED: ("id", None),
    EventType.TASK_UPDATED: ("id", "claim.sessionId"),
    EventType.TASK_DELETED: ("id", None),
    EventType.TASK_CLAIMED: ("taskId", "sessionId"),
    EventType.TASK_RELEASED: ("taskId", "sessionId"),
    EventType.SESSION_CREATED: (None, "id"),
    EventType.SESSION_UPDATED: (None, "id"),
    EventType.SESSION_DELETED: (None, "id"),
    EventType.SESSION_TASK_ADDED: ("taskId", "sessionId"),
    EventType.SESSION_TASK_REMOVED: ("taskId", "sessionId"),
    EventType.SESSION_NOTE_ADDED: (None, "sessionId"),
    # A message is about the session that sent it; its reading, about the session that
    # read it (none: a person sent or read it).
    EventType.MESSAGE_SENT: (None, "fromSessionId"),
    EventType.MESSAGE_READ: (None, "sessionId"),
    EventType.QUESTION_ASKED: ("taskId", "sessionId"),
    EventType.QUESTION_ANSWERED: ("taskId", "sessionId"),
    EventType.QUESTION_CANCELLED: ("taskId", "sessionId"),
    EventType.RESERVATION_CREATED: ("taskId", "sessionId"),
    EventType.RESERVATION_UPDATED: ("taskId", "sessionId"),
    EventType.RESERVATION_RENEWED: (None, "sessionId"),
    EventType.RESERVATION_RELEASED: ("taskId", "sessionId"),
}
# About the project only (``project_id``), or about no project at all (tokens).
ABOUT_NEITHER = frozenset(
    {
        EventType.PROJECT_CREATED,
        EventType.PROJECT_UPDATED,
        EventType.PROJECT_DELETED,
        EventType.TOKEN_CREATED,
        EventType.TOKEN_REVOKED,
    }
)


def subjects(event: str, field: Callable[[str], Any]) -> tuple[str | None, str | None]:
    """The task and the session an event of type ``event`` is about, read from its data
    by ``field`` (a camelCase name, or a dotted path of them such as ``claim.sessionId``
    -> its value, None if absent). The one rule: the log's columns are filled with it
    (Write.emit, an import), and the schema's backfill of events appended before them,
    and its trigger, say the same in SQL (tests hold them together)."""
    task_key, session_key = _ABOUT.get(event, (None, None))
    task_id = field(task_key) if task_key is not None else None
    session_id = field(session_key) if session_key is not None else None
    return (
        task_id if isinstance(task_id, str) else None,
        session_id if isinstance(session_id, str) else None,
    )


def json_fields(data: Mapping[str, Any]) -> Callable[[str], Any]:
    """Reads an event's data given as JSON (a dict) by camelCase name or dotted path, as
    ``subjects`` asks for it; None where a step is absent or not an object."""

    def read(path: str) -> Any:
        value: Any = data
        for name in path.split("."):
            if not isinstance(value, Mapping):
                return None
            value = value.get(name)
        return value

    return read


def subjects_of_payload(payload: str) -> tuple[str | None, str | None]:
    """What a stored envelope's event is about (``subjects``): for rows that come with
    their payload only (an import)."""
    envelope = json.loads(payload)
    data = envelope.get("data")
    if not isinstance(data, dict):
        return None, None
    return subjects(str(envelope.get("event")), json_fields(data))


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
    task_id: str | None = None  # what it is about (``subjects``)
    session_id: str | None = None
    changed_json: str | None = None  # an update's ``CHANGED``, as a JSON list


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
    changed = "" if event.changed_json is None else f',"{CHANGED}":{event.changed_json}'
    return (
        f',"event":"{event.type.value}","data":{event.data_json}{changed},'
        f'"timestamp":{timestamp},"actor":{event.actor_json}}}'
    )


def envelope(seq: int, event: PendingEvent, timestamp: int) -> str:
    return f"{ENVELOPE_HEAD}{seq}{envelope_tail(event, timestamp)}"
