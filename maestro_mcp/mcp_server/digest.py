"""``changes_since`` for a model: what changed, in a few words per change, on a small page.

The log's events carry whole entities (a task's description and prompt where the change
touched them), so a hundred changes were ≈ 90 KB of context. By default a change is
summed up instead:
- ``{seq, event, at, by, id, …}`` (``by``: who made the change, the event's actor)
  with the few fields that say what the entity is now
  (a task's title, status, priority and holder; a session's name, status, agent;
  a note's text; a message's sender, addresses, subject and body; a question's text,
  status and answer; a file reservation's pattern, mode, session and why it ended),
  long texts cut at ``TEXT_SHOWN`` characters and marked ``cut`` (``get`` reads a
  message or a question whole);
- an update says which fields it ``changed``, as its envelope names them (an event
  older than that: when the page holds the entity's state before it); one that
  changed nothing but its clock (a heartbeat, a renewed lease) is left out (a real
  change is never hidden: an old update at a page's start, unknown, is shown);
- a page holds at most ``limit`` changes and about ``PAGE_BYTES`` of them; ``nextSince``
  continues exactly after the last change read.
``full=true`` gives every event whole instead, on a larger page (``FULL_PAGE_BYTES``).
"""

import json
from typing import Any

from maestro_mcp.core.events import CHANGED, OMITTED, EventType, json_fields, merged_data

from .render import shortened

CHANGES_PAGE_DEFAULT = 50
PAGE_BYTES = 15 * 1024  # with the envelope around it, a page stays under 16 KB
FULL_PAGE_BYTES = 64 * 1024  # whole entities, on request: larger, still bounded
TEXT_SHOWN = 200
# Fields that move with every heartbeat or lease renewal: not a change to show (a
# reservation's ``expiresAt`` is its lease, renewed by its session's heartbeat).
# (An update's list of the text it left out, kept from the state before, is no change.)
_NOISE = frozenset({"updatedAt", "lastActivityAt", "version", "claim", "expiresAt", OMITTED})

# What each kind of event is summed up with: fields of its data (a dotted path reads
# into the data), renamed where the short name says it better.
_FIELDS: dict[str, tuple[tuple[str, str], ...]] = {
    "project": (("id", "id"), ("name", "name")),
    "task": (
        ("id", "id"),
        ("title", "title"),
        ("status", "status"),
        ("priority", "priority"),
        ("claim.sessionId", "claimedBy"),
    ),
    "session": (("id", "id"), ("name", "name"), ("status", "status"), ("agent", "agent")),
    "link": (("sessionId", "sessionId"), ("taskId", "taskId")),
    "claim": (("taskId", "id"), ("sessionId", "sessionId"), ("expiresAt", "until")),
    "release": (("taskId", "id"), ("sessionId", "sessionId"), ("reason", "reason")),
    "note": (("sessionId", "sessionId"), ("note.message", "note")),
    "deleted": (("id", "id"),),
    "token": (("name", "name"), ("scope", "scope")),
    "message": (
        ("id", "id"),
        ("replyTo", "replyTo"),
        ("fromSessionId", "from"),
        ("to", "to"),
        ("subject", "subject"),
        ("body", "body"),
    ),
    "read": (("id", "id"), ("recipient", "recipient"), ("ackedAt", "ackedAt")),
    "question": (
        ("id", "id"),
        ("sessionId", "sessionId"),
        ("taskId", "taskId"),
        ("text", "text"),
        ("status", "status"),
        ("answer", "answer"),
        ("defaulted", "defaulted"),
    ),
    "reservation": (
        ("id", "id"),
        ("pattern", "pattern"),
        ("sessionId", "sessionId"),
        ("taskId", "taskId"),
        ("expiresAt", "until"),
        ("reason", "reason"),
    ),
}
_KIND = {
    "task:claimed": "claim",
    "task:released": "release",
    "session:task_added": "link",
    "session:task_removed": "link",
    "session:note_added": "note",
    "message:sent": "message",
    "message:read": "read",
}


def digest(
    events: list[dict[str, Any]], *, full: bool = False
) -> tuple[list[dict[str, Any]], int | None]:
    """The changes worth showing (summaries, or whole events with ``full``), and the seq
    of the last event read if the page's byte budget stopped it early (else None)."""
    shown: list[dict[str, Any]] = []
    last_seen: dict[str, dict[str, Any]] = {}  # entity id -> its data, as last read
    budget = FULL_PAGE_BYTES if full else PAGE_BYTES
    size = 0
    for event in events:
        name = event["event"]
        if name == EventType.RESERVATION_RENEWED and not full:
            continue  # a heartbeat's renewal: only leases' clocks moved
        data = event.get("data") or {}
        entity_id = data.get("id") if name.endswith((":created", ":updated")) else None
        changed: list[str] | None = None
        if entity_id is not None:
            before = last_seen.get(entity_id)
            merged = merged_data(before, data)  # text an update left out: as it was
            state = {k: v for k, v in merged.items() if k not in _NOISE}
            last_seen[entity_id] = state
            stated = event.get(CHANGED)
            if name.endswith(":updated") and isinstance(stated, list):
                changed = [k for k in stated if k not in _NOISE]
            elif before is not None and name.endswith(":updated"):
                # An event from before envelopes said it: the page's copy tells.
                changed = sorted(
                    k for k in state.keys() | before.keys() if state.get(k) != before.get(k)
                )
            if changed is not None and not changed and not full:
                continue  # only its clock moved: a heartbeat, a renewed lease
        change = event if full else _summary(event)
        if changed is not None and not full:
            change["changed"] = changed
        cost = _bytes(change)
        if shown and size + cost > budget:
            return shown, shown[-1]["seq"]
        shown.append(change)
        size += cost
    return shown, None


def _bytes(change: dict[str, Any]) -> int:
    # As the model gets it: UTF-8, and each time as an ISO string (a few bytes longer).
    text = json.dumps(change, separators=(",", ":"), ensure_ascii=False)
    return len(text.encode()) + 10 * text.count('At":') + 10


def _summary(event: dict[str, Any]) -> dict[str, Any]:
    name: str = event["event"]
    kind = _KIND.get(name) or ("deleted" if name.endswith(":deleted") else name.split(":")[0])
    change: dict[str, Any] = {"seq": event["seq"], "event": name, "at": event["timestamp"]}
    if event.get("actor"):
        change["by"] = event["actor"]
    data = event.get("data") or {}
    field = json_fields(data)
    for path, label in _FIELDS.get(kind, ()):
        value = field(path)
        if value is None or value is False:
            continue
        if isinstance(value, str):
            value, cut = shortened(value, TEXT_SHOWN)
            if cut:
                change["cut"] = True
        change[label] = value
    if kind == "reservation" and "exclusive" in data:  # released: the mode is gone with it
        change["mode"] = "exclusive" if data["exclusive"] else "shared"
    return change
