"""Printing for humans and for scripts.

Humans get a line per result (``✓ Task updated``) and aligned tables, with colour
only on a terminal. ``--json`` prints exactly one JSON document per command on
stdout (the API's own shapes) and errors as JSON on stderr.
"""

import json
import os
import sys
from collections.abc import Sequence
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from maestro_mcp.core.vocabulary import SessionStatus, TaskPriority, TaskStatus

from .errors import CliError

# How each value looks; which values exist is the core's (tests check each has a style).
TASK_STATUS_STYLE = {
    TaskStatus.PENDING: "yellow",
    TaskStatus.IN_PROGRESS: "cyan",
    TaskStatus.IN_REVIEW: "magenta",
    TaskStatus.BLOCKED: "red",
    TaskStatus.COMPLETED: "green",
    TaskStatus.CANCELLED: "dim",
}
SESSION_STATUS_STYLE = {
    SessionStatus.IDLE: "yellow",
    SessionStatus.WORKING: "cyan",
    SessionStatus.NEEDS_INPUT: "magenta",
    SessionStatus.COMPLETED: "green",
    SessionStatus.FAILED: "red",
    SessionStatus.STOPPED: "dim",
}
PRIORITY_STYLE = {
    TaskPriority.URGENT: "bold red",
    TaskPriority.HIGH: "red",
    TaskPriority.MEDIUM: "",
    TaskPriority.LOW: "dim",
}
# By plain value, as the API sends them; a status of both ("completed") looks the same.
_STATUS_STYLE: dict[str, str] = {
    **{status.value: style for status, style in TASK_STATUS_STYLE.items()},
    **{status.value: style for status, style in SESSION_STATUS_STYLE.items()},
}
_PRIORITY_STYLE: dict[str, str] = {p.value: style for p, style in PRIORITY_STYLE.items()}


def _console(stream: Any) -> Console:
    terminal = stream.isatty()
    return Console(
        file=stream,
        # Off a terminal: no colour, no wrapping of long titles into the next column.
        width=None if terminal else 10_000,
        no_color=not terminal or "NO_COLOR" in os.environ,
        highlight=False,
        soft_wrap=not terminal,
    )


class Printer:
    def __init__(self, json_mode: bool) -> None:
        self.json_mode = json_mode
        self.out = _console(sys.stdout)
        self.err = _console(sys.stderr)

    # --- results ------------------------------------------------------------------------

    def data(self, value: Any) -> None:
        """The machine form of a result (``--json``)."""
        sys.stdout.write(json.dumps(value, ensure_ascii=False) + "\n")
        sys.stdout.flush()

    def done(self, message: str, value: Any) -> None:
        """A write succeeded: ``✓ message`` for humans, the entity for scripts."""
        if self.json_mode:
            self.data(value)
        else:
            self.out.print(Text.assemble(("✓ ", "green"), message))

    def record(self, fields: Sequence[tuple[str, Any]], value: Any) -> None:
        """One entity as aligned ``key  value`` lines."""
        if self.json_mode:
            self.data(value)
            return
        width = max(len(k) for k, _ in fields)
        for key, shown in fields:
            text = shown if isinstance(shown, Text) else Text(_plain(shown))
            self.out.print(Text.assemble((key.ljust(width), "bold"), "  ", text))

    def table(self, columns: Sequence[str], rows: Sequence[Sequence[Any]], value: Any) -> None:
        if self.json_mode:
            self.data(value)
            return
        if not rows:
            self.err.print("(none)")
            return
        table = Table(box=None, pad_edge=False, show_edge=False, header_style="bold")
        for column in columns:
            table.add_column(column, overflow="fold")
        for row in rows:
            table.add_row(*(cell if isinstance(cell, Text) else Text(_plain(cell)) for cell in row))
        self.out.print(table)

    def line(self, text: Text | str) -> None:
        self.out.print(text)

    # --- errors ---------------------------------------------------------------------------

    def error(self, error: CliError) -> None:
        if self.json_mode:
            sys.stderr.write(json.dumps(error.as_json()) + "\n")
            return
        self.err.print(Text.assemble(("✗ ", "red"), error.message))
        if error.hint:
            self.err.print(Text.assemble(("  hint: ", "dim"), error.hint))


def terminal_safe(text: str) -> str:
    """``text`` as it may reach a terminal: what others wrote (a message's body, an
    agent's question) keeps its lines and tabs, but no control character (an escape
    sequence could redraw the screen) nor bidi mark (it could reorder what is shown)
    reaches the terminal: each is shown as U+FFFD (�)."""
    text = text.replace("\r\n", "\n")
    return "".join(c if c.isprintable() or c in "\n\t" else "\ufffd" for c in text)


def status_text(status: str) -> Text:
    return Text(status, style=_STATUS_STYLE.get(status, ""))


def priority_text(priority: str) -> Text:
    return Text(priority, style=_PRIORITY_STYLE.get(priority, ""))


def _plain(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value) or "-"
    return str(value)
