"""Reading a plan for ``maestro task import``: JSON, or a Markdown checklist.

JSON is the API's batch: a list of tasks, or ``{"tasks": [...]}``, each with
``title`` and optionally ``ref``, ``description``, ``prompt``, ``priority``,
``labels``, ``dependsOn`` and ``parentId`` (ids, or the ``ref`` of an earlier task).

Markdown is a checklist: each ``- [ ] title`` (or ``- title``) item is a task, and an
item indented under another is its sub-task. Items already checked (``- [x]``) are
done: they are left out. Other lines (headings, text) are ignored.
"""

import json
import re
from typing import Any

from .errors import CliError, Exit

_ITEM = re.compile(r"^(?P<indent>\s*)[-*+]\s+(?:\[(?P<mark>[ xX])\]\s+)?(?P<title>\S.*?)\s*$")


def read_plan(text: str, name: str) -> tuple[list[dict[str, Any]], int]:
    """The tasks of a plan file, and how many done items were left out."""
    stripped = text.lstrip()
    if name.endswith(".json") or stripped.startswith(("[", "{")):
        return _from_json(text, name), 0
    return _from_markdown(text, name)


def _from_json(text: str, name: str) -> list[dict[str, Any]]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CliError(f"{name} is not valid JSON: {exc}", exit_code=Exit.INVALID) from None
    tasks = data.get("tasks") if isinstance(data, dict) else data
    if not isinstance(tasks, list) or not all(isinstance(t, dict) for t in tasks):
        raise CliError(
            f'{name}: expected a list of tasks, or {{"tasks": [...]}}',
            exit_code=Exit.INVALID,
        )
    return tasks


def _from_markdown(text: str, name: str) -> tuple[list[dict[str, Any]], int]:
    tasks: list[dict[str, Any]] = []
    done = 0
    open_items: list[tuple[int, str | None]] = []  # (indent, ref) of the items above
    for number, line in enumerate(text.splitlines(), start=1):
        match = _ITEM.match(line)
        if match is None:
            continue
        indent = len(match["indent"].expandtabs(4))
        while open_items and open_items[-1][0] >= indent:
            open_items.pop()
        parent = open_items[-1][1] if open_items else None
        if match["mark"] in ("x", "X"):
            done += 1
            open_items.append((indent, None))  # its sub-items have no parent to go under
            continue
        ref = f"line {number}"
        task: dict[str, Any] = {"ref": ref, "title": match["title"]}
        if parent is not None:
            task["parentId"] = parent
        tasks.append(task)
        open_items.append((indent, ref))
    if not tasks and not done:
        raise CliError(
            f"{name} has no checklist items (lines such as '- [ ] Write the tests')",
            exit_code=Exit.INVALID,
        )
    return tasks, done
