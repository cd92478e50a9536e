"""``changes_since`` for a model: what changed, in a few words per change, on a small page.

The log's events carry whole entities (a task with its description and prompt), so a
hundred changes were ≈ 90 KB of context. By default a change is summed up instead:
- ``{seq, event, at, id, …}`` with the few fields that say what the entity is now
  (a task's title, status, priority and holder; a session's name, status, agent;
  a note's text), long texts cut at ``TEXT_SHOWN`` characters and marked ``cut``;
- no repeats: an update that leaves that summary as the page last showed it (a
  heartbeat, a renewed lease, a version bump) is left out;
- a page holds at most ``limit`` changes and about ``PAGE_BYTES`` of them; ``nextSince``
  continues exactly after the last change read.
``full=true`` gives the events as stored instead.
"""

import json
from typing import Any

CHANGES_PAGE_DEFAULT = 50
PAGE_BYTES = 15 * 1024  # with the envelope around it, a page stays under 16 KB
TEXT_SHOWN = 200

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
}
_KIND = {
    "task:claimed": "claim",
    "task:released": "release",
    "session:task_added": "link",
    "session:task_removed": "link",
    "session:note_added": "note",
}


def digest(
    events: list[dict[str, Any]], *, page_bytes: int = PAGE_BYTES
) -> tuple[list[dict[str, Any]], int | None]:
    """The changes worth showing, and the seq of the last event read, if the byte budget
    stopped the page early (else None: every event was read)."""
    shown: list[dict[str, Any]] = []
    last_seen: dict[str, dict[str, Any]] = {}  # entity id -> its last summary on the page
    size = 0
    for event in events:
        change = _summary(event)
        key = change.get("id")
        if event["event"].endswith((":created", ":updated")) and key is not None:
            what = {k: v for k, v in change.items() if k not in ("seq", "at", "event")}
            if event["event"].endswith(":updated") and last_seen.get(key) == what:
                continue  # nothing the summary shows changed
            last_seen[key] = what
        cost = len(json.dumps(change, separators=(",", ":")))
        if shown and size + cost > page_bytes:
            return shown, shown[-1]["seq"]
        shown.append(change)
        size += cost
    return shown, None


def _summary(event: dict[str, Any]) -> dict[str, Any]:
    name: str = event["event"]
    kind = _KIND.get(name) or ("deleted" if name.endswith(":deleted") else name.split(":")[0])
    change: dict[str, Any] = {"seq": event["seq"], "event": name, "at": event["timestamp"]}
    data = event.get("data") or {}
    for path, label in _FIELDS.get(kind, ()):
        value = _at(data, path)
        if value is None:
            continue
        if isinstance(value, str) and len(value) > TEXT_SHOWN:
            value = value[:TEXT_SHOWN] + "…"
            change["cut"] = True
        change[label] = value
    return change


def _at(data: dict[str, Any], path: str) -> Any:
    value: Any = data
    for part in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value
