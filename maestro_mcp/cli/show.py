"""How entities look to a human: the fields of one, the rows of many."""

from datetime import datetime
from typing import Any

from rich.text import Text

from maestro_mcp.core.events import EventType
from maestro_mcp.core.vocabulary import TREE_INDENT_LEVELS

from .output import priority_text, status_text


def when(ms: int | None) -> str | None:
    if ms is None:
        return None
    return datetime.fromtimestamp(ms / 1000).strftime("%Y-%m-%d %H:%M:%S")


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


TASK_COLUMNS = ["ID", "STATUS", "PRIORITY", "SESSIONS", "TITLE"]
SESSION_COLUMNS = ["ID", "STATUS", "AGENT", "TASKS", "NAME"]


def session_row(s: dict[str, Any]) -> list[Any]:
    return [s["id"], status_text(s["status"]), s["agent"], len(s["taskIds"]), s["name"]]


def event_line(message: dict[str, Any]) -> Text:
    """One readable line for a feed event."""
    event = message["event"]
    data = message.get("data", {})
    stamp = when(message.get("timestamp")) or ""
    text = Text.assemble((stamp[11:], "dim"), "  ", (f"#{message.get('seq', '-')}", "dim"), "  ")
    text.append(event.ljust(21), style="bold")
    if event in (EventType.SESSION_TASK_ADDED, EventType.SESSION_TASK_REMOVED):
        sign = "+" if event == EventType.SESSION_TASK_ADDED else "-"
        text.append(f"{data['sessionId']} {sign} {data['taskId']}")
    elif event == EventType.TASK_CLAIMED:
        text.append(f"{data['taskId']} by {data['sessionId']} until {when(data['expiresAt'])}")
    elif event == EventType.TASK_RELEASED:
        text.append(f"{data['taskId']} by {data['sessionId']} ({data['reason']})")
    elif event == EventType.SESSION_NOTE_ADDED:
        text.append(f"{data['sessionId']}: {data['note']['message']}")
    elif event.endswith(":deleted"):
        text.append(str(data.get("id")))
    elif event.startswith("task:"):
        text.append(f"{data['id']}  ")
        text.append_text(status_text(data["status"]))
        text.append(f"  {data['title']}")
        if data.get("sessionCount"):
            text.append(f"  {sessions_badge(data['sessionCount'])}", style="dim")
    elif event.startswith("session:"):
        text.append(f"{data['id']}  ")
        text.append_text(status_text(data["status"]))
        text.append(f"  {data['name']}")
        if data.get("agent"):
            text.append(f"  ({data['agent']})", style="dim")
    elif event.startswith("project:"):
        text.append(f"{data['id']}  {data['name']}")
    elif event == EventType.TOKEN_CREATED:
        text.append(f"{data['name']} ({data['scope']})")
    elif event == EventType.TOKEN_REVOKED:
        text.append(str(data["name"]))
    if message.get("actor"):
        text.append(f"  · {message['actor']}", style="dim")
    return text
