"""How entities look to a human: the fields of one, the rows of many."""

import time
from datetime import datetime
from typing import Any

from rich.text import Text

from maestro_mcp.core.events import CHANGED, EventType
from maestro_mcp.core.vocabulary import TREE_INDENT_LEVELS

from .output import priority_text, status_text, terminal_safe

# Characters of a text shown on one line (a message's first line, a question).
TEXT_SHOWN = 60


def when(ms: int | None) -> str | None:
    if ms is None:
        return None
    return datetime.fromtimestamp(ms / 1000).strftime("%Y-%m-%d %H:%M:%S")


def span(ms: int) -> str:
    """A length of time in its largest whole unit: ``12s``, ``5m``, ``3h``, ``2d``."""
    seconds = max(0, ms // 1000)
    for unit, size in (("d", 86_400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def now_ms() -> int:
    return int(time.time() * 1000)


def ago(ms: int) -> str:
    """How long ago ``ms`` was (``5m``)."""
    return span(now_ms() - ms)


def first_line(text: str, width: int = TEXT_SHOWN) -> str:
    """A text's first line that holds something, cut to ``width`` (``…`` if it goes on)."""
    lines = [line.strip() for line in terminal_safe(text).splitlines() if line.strip()]
    first = lines[0] if lines else ""
    if len(first) > width:
        return first[: width - 1] + "…"
    return first + ("…" if len(lines) > 1 else "")


def may_be_more(
    listed: int, limit: int, maximum: int, *hints: str, newest: bool = False
) -> Text | None:
    """The line under a listing that came back as long as ``limit`` (the oldest that
    many, or the ``newest``), so that it does not end as if it were whole; None under one
    that came back shorter. ``--limit`` is offered while it may still grow."""
    if listed < limit:
        return None
    which = "the newest" if newest else "the oldest"
    ways = [*hints, *(["--limit shows more"] if limit < maximum else [])]
    return Text(f"{which} {limit}: there may be more" + "".join(f"; {w}" for w in ways), "dim")


def sessions_badge(count: int) -> str:
    return f"[{count}x]" if count else ""


def project_fields(p: dict[str, Any]) -> list[tuple[str, Any]]:
    return [
        ("id", p["id"]),
        ("name", p["name"]),
        ("working dir", p["workingDir"]),
        ("description", p["description"] or None),
        ("version", p["version"]),
        ("created", when(p["createdAt"])),
        ("updated", when(p["updatedAt"])),
    ]


def task_fields(t: dict[str, Any]) -> list[tuple[str, Any]]:
    return [
        ("id", t["id"]),
        ("title", t["title"]),
        ("status", status_text(t["status"])),
        ("priority", priority_text(t["priority"])),
        ("project", t["projectId"]),
        ("parent", t["parentId"]),
        ("sessions", t["sessionIds"]),
        ("labels", t.get("labels")),
        ("depends on", t.get("dependsOn")),
        ("claimed by", _claim(t.get("claim"))),
        ("version", t["version"]),
        ("created", when(t["createdAt"])),
        ("updated", when(t["updatedAt"])),
        ("started", when(t["startedAt"])),
        ("completed", when(t["completedAt"])),
        ("description", t["description"] or None),
        ("prompt", t["prompt"] or None),
    ]


def _claim(claim: dict[str, Any] | None) -> str | None:
    if not claim:
        return None
    return f"{claim['sessionId']} until {when(claim['expiresAt'])}"


def session_fields(s: dict[str, Any]) -> list[tuple[str, Any]]:
    return [
        ("id", s["id"]),
        ("name", s["name"]),
        ("agent", s["agent"]),
        ("status", status_text(s["status"])),
        ("project", s["projectId"]),
        ("tasks", s["taskIds"]),
        ("version", s["version"]),
        ("created", when(s["createdAt"])),
        ("last activity", when(s["lastActivityAt"])),
        ("ended", when(s["endedAt"])),
    ]


def _tree_title(title: str, depth: int) -> str:
    """A task's title in the tree: indented under its parent, ``depth`` levels down."""
    if depth == 0:
        return title
    if depth <= TREE_INDENT_LEVELS:
        return "  " * depth + "└ " + title
    return "  " * TREE_INDENT_LEVELS + f"└[{depth}] " + title


def task_rows(tasks: list[dict[str, Any]]) -> list[list[Any]]:
    """Rows in tree order: each sub-task under its parent, indented."""
    by_parent: dict[str | None, list[dict[str, Any]]] = {}
    ids = {t["id"] for t in tasks}
    for task in tasks:
        parent = task["parentId"] if task["parentId"] in ids else None
        by_parent.setdefault(parent, []).append(task)
    rows: list[list[Any]] = []
    # Depth first with a stack of its own: a chain of sub-tasks may be deeper than
    # Python's recursion limit.
    stack = [(task, 0) for task in reversed(by_parent.get(None, []))]
    while stack:
        task, depth = stack.pop()
        rows.append(
            [
                task["id"],
                status_text(task["status"]) + (" ⚑" if task.get("claim") else ""),
                priority_text(task["priority"]),
                sessions_badge(task["sessionCount"]),
                _tree_title(task["title"], depth),
            ]
        )
        stack.extend((child, depth + 1) for child in reversed(by_parent.get(task["id"], [])))
    return rows


def session_label(session_id: str, sessions: dict[str, dict[str, Any]]) -> str:
    """A session as people know it: ``“api work” (claude-code, sess_…)``; its id alone
    if it is not among ``sessions`` (by id)."""
    found = sessions.get(session_id)
    if found is None:
        return session_id
    agent = f"{found['agent']}, " if found.get("agent") else ""
    return terminal_safe(f"“{found['name']}” ({agent}{session_id})")


def reservation_mode(r: dict[str, Any]) -> str:
    return "exclusive" if r["exclusive"] else "shared"


RESERVATION_COLUMNS = ["ID", "PATTERN", "MODE", "SESSION", "TASK", "UNTIL"]


def reservation_row(r: dict[str, Any], sessions: dict[str, dict[str, Any]]) -> list[Any]:
    return [
        r["id"],
        r["pattern"],
        reservation_mode(r),
        session_label(r["sessionId"], sessions),
        r["taskId"],
        when(r["expiresAt"]),
    ]


TASK_COLUMNS = ["ID", "STATUS", "PRIORITY", "SESSIONS", "TITLE"]
SESSION_COLUMNS = ["ID", "STATUS", "AGENT", "TASKS", "NAME"]


def session_row(s: dict[str, Any]) -> list[Any]:
    return [s["id"], status_text(s["status"]), s["agent"], len(s["taskIds"]), s["name"]]


def event_line(message: dict[str, Any]) -> Text:
    """One readable line for a feed event: time, seq, event, what it says, who."""
    stamp = when(message.get("timestamp")) or ""
    text = Text.assemble((stamp[11:], "dim"), "  ", (f"#{message.get('seq', '-')}", "dim"), "  ")
    text.append(message["event"].ljust(21), style="bold")
    text.append_text(event_summary(message))
    if message.get("actor"):
        text.append(f"  · {message['actor']}", style="dim")
    return text


def event_summary(message: dict[str, Any], subject: str | None = None) -> Text:
    """What an event says, in a few words; an update, what it changed (``status →
    in_review``). ``subject``: the entity the reader is looking at, not named again."""
    event = message["event"]
    data = message.get("data", {})
    text = Text()
    # A claim's or a link's task, unless it is the one looked at.
    task = "" if data.get("taskId") == subject else f"{data.get('taskId')} "
    if event in (EventType.SESSION_TASK_ADDED, EventType.SESSION_TASK_REMOVED):
        sign = "+" if event == EventType.SESSION_TASK_ADDED else "-"
        text.append(f"{data['sessionId']} {sign} {task or 'this task'}".rstrip())
    elif event == EventType.TASK_CLAIMED:
        text.append(f"{task}by {data['sessionId']} until {when(data['expiresAt'])}")
    elif event == EventType.TASK_RELEASED:
        text.append(f"{task}by {data['sessionId']} ({data['reason']})")
    elif event == EventType.SESSION_NOTE_ADDED:
        text.append(f"{data['sessionId']}: {data['note']['message']}")
    elif event == EventType.TOKEN_CREATED:
        text.append(f"{data['name']} ({data['scope']})")
    elif event == EventType.TOKEN_REVOKED:
        text.append(str(data["name"]))
    elif event == EventType.MESSAGE_SENT:
        sender = data.get("fromSessionId") or data.get("sender")
        about = data.get("subject") or first_line(data.get("body", ""))
        to = ", ".join(str(a) for a in data.get("to", []))
        text.append(terminal_safe(f"{sender} → {to}: {about}"))
    elif event == EventType.MESSAGE_READ:
        state = "acknowledged" if data.get("ackedAt") else "read"
        text.append(f"{data['id']} {state} by {data['recipient']}")
    elif event.startswith("question:"):
        text.append_text(_question_text(event, data, task))
    elif event.startswith("reservation:"):
        text.append_text(_reservation_text(event, data))
    elif event.startswith(("project:", "task:", "session:")):
        named = data.get("id") != subject
        if event.endswith(":deleted"):
            text.append(str(data.get("id")) if named else "deleted")
            return text
        if named:
            text.append(f"{data['id']}  ")
        changed = message.get(CHANGED)
        if event.endswith(":updated") and isinstance(changed, list):
            text.append(changes_text(changed, data))
        else:
            text.append_text(_entity_text(event, data))
    return text


def _question_text(event: str, data: dict[str, Any], task: str) -> Text:
    """A question asked (its text), answered (the answer, and by whom) or cancelled."""
    text = Text(f"{data['sessionId']} ")
    if data.get("taskId") and task:
        text.append(f"on {task}")
    if event == EventType.QUESTION_ASKED:
        text.append(f"“{first_line(data['text'])}”")
    elif event == EventType.QUESTION_ANSWERED:
        by = "its default (deadline)" if data.get("defaulted") else data.get("answeredBy")
        text.append(f"“{first_line(data['text'], VALUE_SHOWN)}” → ")
        text.append(f"“{first_line(data.get('answer') or '')}”", style="bold")
        text.append(f" by {by}")
    else:
        text.append(f"“{first_line(data['text'], VALUE_SHOWN)}” cancelled")
    return text


def _reservation_text(event: str, data: dict[str, Any]) -> Text:
    """A file reservation taken or renewed (pattern, mode, until when) or released (why)."""
    text = Text(f"{data['sessionId']} {data['pattern']}")
    if event == EventType.RESERVATION_RELEASED:
        text.append(f" ({data['reason']})")
    else:
        text.append(f" ({reservation_mode(data)}) until {(when(data.get('expiresAt')) or '')[11:]}")
    return text


def _entity_text(event: str, data: dict[str, Any]) -> Text:
    """What an entity is now: a task's status and title, a session's, a project's name."""
    if event.startswith("project:"):
        return Text(str(data["name"]))
    if event.startswith("task:"):
        text = Text.assemble(status_text(data["status"]), f"  {data['title']}")
        if data.get("sessionCount"):
            text.append(f"  {sessions_badge(data['sessionCount'])}", style="dim")
        return text
    text = Text.assemble(status_text(data["status"]), f"  {data['name']}")
    if data.get("agent"):
        text.append(f"  ({data['agent']})", style="dim")
    return text


# Fields that move along with another (a status's times, a link's count, any change's
# activity time): named only when nothing else changed.
_FOLLOWERS = frozenset({"sessionCount", "startedAt", "completedAt", "endedAt", "lastActivityAt"})
_TEXT_FIELDS = frozenset({"description", "prompt"})
VALUE_SHOWN = 40  # characters of a changed value
IDS_SHOWN = 3  # ids of a changed list


def changes_text(changed: list[str], data: dict[str, Any]) -> str:
    """What an update changed (its envelope's ``changed``), each field with its new
    value: ``status → in_review, title → “Ship it”``."""
    shown = [name for name in changed if name not in _FOLLOWERS] or changed
    if not shown:
        return "no field changed"  # its version only (a renewal at the same instant)
    return ", ".join(_change(name, data) for name in shown)


def _change(name: str, data: dict[str, Any]) -> str:
    value = data.get(name)
    if name in _TEXT_FIELDS:
        return f"{name} edited"
    if name == "claim":
        if not value:
            return "claim ended"
        return f"claim → {value['sessionId']} until {(when(value['expiresAt']) or '')[11:]}"
    if value is None or value == []:
        return f"{name} cleared"
    if name.endswith("At") and isinstance(value, int):
        return f"{name} → {(when(value) or '')[11:]}"
    if isinstance(value, list):
        more = len(value) - IDS_SHOWN
        listed = ", ".join(str(v) for v in value[:IDS_SHOWN])
        return f"{name} → {listed}" + (f" (+{more})" if more > 0 else "")
    if isinstance(value, str) and name in ("title", "name"):
        return f"{name} → “{_cut(value)}”"
    return f"{name} → {_cut(str(value))}"


def _cut(value: str) -> str:
    return value if len(value) <= VALUE_SHOWN else value[: VALUE_SHOWN - 1] + "…"
