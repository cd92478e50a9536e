"""Rules every domain module shares: lookups that must find, version checks, merging."""

from typing import Any, TypeVar

from ..errors import InvalidInput, NotFound, VersionConflict
from ..models import ENDED_SESSION_STATUSES, Entity, Project, Session, Task, TaskStatus
from ..storage import Rows

E = TypeVar("E", Project, Task, Session)


def require_project(rows: Rows, project_id: str) -> Project:
    project = rows.get_project(project_id)
    if project is None:
        raise NotFound(f"project {project_id} not found", details={"id": project_id})
    return project


def require_task(rows: Rows, task_id: str) -> Task:
    task = rows.get_task(task_id)
    if task is None:
        raise NotFound(f"task {task_id} not found", details={"id": task_id})
    return task


def require_session(rows: Rows, session_id: str) -> Session:
    session = rows.get_session(session_id)
    if session is None:
        raise NotFound(f"session {session_id} not found", details={"id": session_id})
    return session


def require_active_session(rows: Rows, session_id: str, to: str) -> Session:
    """A session that has not ended: an ended one claims, asks and reserves nothing
    (``to``: what it meant to do, for the message)."""
    session = require_session(rows, session_id)
    if session.status in ENDED_SESSION_STATUSES:
        raise InvalidInput(
            f"session {session_id} has ended ({session.status.value}); start a new one to {to}",
            {"field": "sessionId"},
        )
    return session


def require_same_project(task: Task, project_id: str) -> None:
    if task.project_id != project_id:
        raise InvalidInput(
            f"task {task.id} belongs to project {task.project_id}, not {project_id}; "
            "a session only holds tasks of its own project",
            details={"taskId": task.id},
        )


def check_version(current: Entity, expected: int | None) -> None:
    if expected is not None and expected != current.version:
        raise VersionConflict(current, expected)


def merged(current: E, changes: dict[str, Any], now: int) -> E:
    """``current`` with ``changes`` applied and its version bumped; ``current`` itself
    when the changes change nothing, so a repeated PATCH emits no event."""
    effective = {k: v for k, v in changes.items() if getattr(current, k) != v}
    if not effective:
        return current
    return current.model_copy(
        update={**effective, "updated_at": now, "version": current.version + 1}
    )


def touched_task(task: Task, now: int) -> Task:
    # For a task whose links or claim changed; the caller passes it as re-read after the change.
    return task.model_copy(update={"updated_at": now, "version": task.version + 1})


def touched_session(session: Session, now: int) -> Session:
    return session.model_copy(
        update={"updated_at": now, "last_activity_at": now, "version": session.version + 1}
    )


def task_times(
    started_at: int | None, completed_at: int | None, status: TaskStatus, now: int
) -> tuple[int | None, int | None]:
    """startedAt is set when work first starts and cleared when a task is reset to pending;
    completedAt is set on completion and cleared when the task leaves ``completed``."""
    if status is TaskStatus.PENDING:
        return None, None
    if status is TaskStatus.IN_PROGRESS and started_at is None:
        started_at = now
    if status is TaskStatus.COMPLETED:
        return started_at, completed_at or now
    return started_at, None


def unique(values: list[str]) -> list[str]:
    return list(dict.fromkeys(values))
