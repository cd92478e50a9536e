"""Reading the log back in time, as SQL written once for every backend.

A page is the newest events a ``LogFilter`` keeps below a seq, in seq order from the
newest: each filter is an equality on one of the log's columns, and each column has an
index by (column, seq) — migrations "what each event is about" — so the database
walks one index backwards and stops after the page. Backends differ only in how a
named parameter is written (``param``).
"""

from collections.abc import Callable
from typing import Any

from .contract import LogFilter


def where(
    about: LogFilter, before: int | None, param: Callable[[str], str]
) -> tuple[str, dict[str, Any]]:
    """The condition that keeps the events ``about`` names below seq ``before``, and its
    parameters by name."""
    clauses: list[str] = []
    values: dict[str, Any] = {}

    def equal(column: str, value: str | int | None, op: str = "=") -> None:
        if value is not None:
            clauses.append(f"{column} {op} {param(column)}")
            values[column] = value

    equal("seq", before, "<")
    equal("task_id", about.task_id)
    equal("session_id", about.session_id)
    equal("project_id", about.project_id)
    if about.agent is not None:
        if about.project_id is None:
            raise ValueError("an agent's sessions are those of one project: give project_id")
        # The agent's sessions that exist: a session's agent is on its row, not its events.
        clauses.append(
            "session_id IN (SELECT id FROM sessions "
            f"WHERE project_id = {param('project_id')} AND agent = {param('agent')})"
        )
        values["agent"] = about.agent
    return " AND ".join(clauses) or "TRUE", values
