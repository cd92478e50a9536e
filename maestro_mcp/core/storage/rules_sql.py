"""The domain's task rules as SQL, written once for every backend.

Readiness (what ``list_tasks(ready=…)``, ``next_ready`` and ``claim_outlook`` agree
on) and claim-next's filter are conditions over the ``tasks`` table. Backends differ
only in how a named parameter is written, which column keeps creation order and how a
label is looked up; a ``Dialect`` says that, and ``TaskRules`` builds the rest.
Status and priority literals come from the enums: the SQL cannot drift from them.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..models import TaskFilter
from ..vocabulary import TaskPriority, TaskStatus


@dataclass(frozen=True)
class Dialect:
    param: Callable[[str], str]  # a named parameter: "now" -> ":now" or "%(now)s"
    order: str  # the column that keeps creation order
    has_label: Callable[[str], str]  # "tasks.labels holds the parameter named …"
    # "column holds the LIKE pattern in the parameter named …", ignoring case; a
    # backslash escapes the pattern's % and _.
    like: Callable[[str, str], str]


class TaskRules:
    def __init__(self, dialect: Dialect) -> None:
        self.dialect = dialect
        p = dialect.param
        pending, in_progress = f"'{TaskStatus.PENDING}'", f"'{TaskStatus.IN_PROGRESS}'"
        self.unmet_dependency = (
            "EXISTS (SELECT 1 FROM task_deps d JOIN tasks dt ON dt.id = d.depends_on_id "
            f"WHERE d.task_id = tasks.id AND dt.status != '{TaskStatus.COMPLETED}')"
        )
        self.live_claim = f"(claim_expires_at IS NOT NULL AND claim_expires_at > {p('now')})"
        # A claim that ran out hands the task back (in_progress -> pending) when the
        # server reaps it; reads count it as pending already, so they never depend on
        # the reaper's timing.
        self.effectively_pending = (
            f"(status = {pending} OR (status = {in_progress} AND claim_expires_at IS NOT NULL "
            f"AND claim_expires_at <= {p('now')}))"
        )
        self.ready = (
            f"({self.effectively_pending} AND NOT {self.unmet_dependency} "
            f"AND NOT {self.live_claim})"
        )
        # Most urgent first: the enum lists priorities from least to most urgent.
        self.priority_order = (
            "CASE priority "
            + " ".join(
                f"WHEN '{priority}' THEN {rank}"
                for rank, priority in enumerate(reversed(list(TaskPriority)))
            )
            + " END"
        )

    def claim_next_filter(
        self, project_id: str, labels: list[str], parent_id: str | None
    ) -> tuple[str, dict[str, Any]]:
        """The tasks claim-next chooses among, as SQL over ``tasks`` and its parameters:
        one definition for the claim and for what it says when it finds nothing."""
        p = self.dialect.param
        clauses = [f"project_id = {p('project_id')}"]
        params: dict[str, Any] = {"project_id": project_id}
        for n, label in enumerate(labels):
            clauses.append(self.dialect.has_label(f"l{n}"))
            params[f"l{n}"] = label
        if parent_id is not None:
            clauses.append(f"parent_id = {p('parent_id')}")
            params["parent_id"] = parent_id
        return " AND ".join(clauses), params

    def list_filter(self, where: TaskFilter, now: int) -> tuple[str, dict[str, Any]]:
        """``list_tasks``' filter as SQL over ``tasks`` and its parameters."""
        p = self.dialect.param
        clauses: list[str] = []
        params: dict[str, Any] = {"now": now}
        for column, value in (
            ("project_id", where.project_id),
            ("status", where.status.value if where.status is not None else None),
            ("parent_id", where.parent_id),
        ):
            if value is not None:
                clauses.append(f"{column} = {p(column)}")
                params[column] = value
        if where.session_id is not None:
            clauses.append(
                f"id IN (SELECT task_id FROM task_sessions WHERE session_id = {p('session_id')})"
            )
            params["session_id"] = where.session_id
        if where.query is not None:
            escaped = where.query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            like = self.dialect.like
            clauses.append(f"({like('title', 'pattern')} OR {like('description', 'pattern')})")
            params["pattern"] = f"%{escaped}%"
        if where.ready is not None:
            clauses.append(self.ready if where.ready else f"NOT {self.ready}")
        if where.blocked is not None:
            unmet = self.unmet_dependency
            clauses.append(unmet if where.blocked else f"NOT {unmet}")
        if where.label is not None:
            clauses.append(self.dialect.has_label("label"))
            params["label"] = where.label
        if where.after is not None:
            order = self.dialect.order
            clauses.append(f"{order} > (SELECT {order} FROM tasks WHERE id = {p('after')})")
            params["after"] = where.after
        return " AND ".join(clauses) or "1 = 1", params
