"""Reading a plan for ``maestro task import``: JSON, or a Markdown checklist.

JSON is the API's batch: a list of tasks, or ``{"tasks": [...]}``, each with
``title`` and optionally ``ref``, ``description``, ``prompt``, ``priority``,
``labels``, ``dependsOn`` and ``parentId`` (ids, or the ``ref`` of an earlier task).

Markdown is a checklist: each ``- [ ] title`` (or ``- title``, ``1. title``) item is a
task, and an item indented under another is its sub-task. Items already checked
(``- [x]``, or any mark in the box) are left out, and their sub-items become top-level
tasks. Other lines (headings, text, fenced code, rules) are ignored.
"""

import json
import re
from typing import Any

from .errors import CliError, Exit

# A list item: "- ", "* ", "+ " or "1. " / "1) ", an optional box "[ ]" / "[x]" (any mark
# in the box), then the title.
_ITEM = re.compile(
    r"^(?P<indent>\s*)(?:[-*+]|\d+[.)])\s+(?:\[(?P<mark>.)\](?:\s+|$))?(?P<title>.*?)\s*$"
)
_FENCE = re.compile(r"^\s*(```|~~~)")
_RULE = re.compile(r"^[-*_\s]+$")  # a thematic break such as "* * *"


def read_plan(text: str, name: str) -> tuple[list[dict[str, Any]], int]:
    """The tasks of a plan file, and how many done items were left out."""
    if name.endswith(".json"):
        return _from_json(text, name), 0
    if text.lstrip().startswith(("[", "{")):
        try:
            json.loads(text)
        except json.JSONDecodeError:
            pass  # Markdown that starts with a link or a bracket
        else:
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
    fenced = False
    for number, line in enumerate(text.splitlines(), start=1):
        if _FENCE.match(line):
            fenced = not fenced
            continue
        match = None if fenced or _RULE.match(line) else _ITEM.match(line)
        if match is None or not match["title"]:
            continue
        indent = len(match["indent"].expandtabs(4))
        while open_items and open_items[-1][0] >= indent:
            open_items.pop()
        parent = open_items[-1][1] if open_items else None
        if match["mark"] not in (None, " "):  # [x], [X], [-], [~]: done or dropped
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
