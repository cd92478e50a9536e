"""What tools return: small, typed shapes that always say which project was touched."""

from typing import Any

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

from maestro_mcp.core.models import (
    NothingReady,
    Project,
    Session,
    SessionNote,
    SessionStatus,
    Task,
    TaskPriority,
    TaskStatus,
)


class _Out(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)


class ProjectRef(_Out):
    id: str
    name: str

    @classmethod
    def of(cls, project: Project) -> "ProjectRef":
        return cls(id=project.id, name=project.name)


class TaskSummary(_Out):
    id: str
    title: str
    status: TaskStatus
    priority: TaskPriority
    parent_id: str | None
    claimed_by: str | None  # the session holding a claim on it, if any
    depends_on: list[str]  # so an agent sees why a task waits
    labels: list[str]
    session_count: int
    version: int

    @classmethod
    def of(cls, task: Task) -> "TaskSummary":
        return cls(
            id=task.id,
            title=task.title,
            status=task.status,
            priority=task.priority,
            parent_id=task.parent_id,
            claimed_by=task.claim.session_id if task.claim else None,
            depends_on=task.depends_on,
            labels=task.labels,
            session_count=task.session_count,
            version=task.version,
        )


class ClaimedTask(TaskSummary):
    """A claimed task with what its agent needs to start: no `get` after a claim."""

    description: str
    prompt: str

    @classmethod
    def of(cls, task: Task) -> "ClaimedTask":
        summary = TaskSummary.of(task).model_dump()
        return cls(**summary, description=task.description, prompt=task.prompt)


class SessionSummary(_Out):
    id: str
    name: str
    agent: str | None
    status: SessionStatus
    task_ids: list[str]
    version: int

    @classmethod
    def of(cls, session: Session) -> "SessionSummary":
        return cls(
            id=session.id,
            name=session.name,
            agent=session.agent,
            status=session.status,
            task_ids=session.task_ids,
            version=session.version,
        )


class ProjectsResult(_Out):
    projects: list[Project]
    seq: int


class ProjectResult(_Out):
    project: Project
    seq: int


class TaskResult(_Out):
    # A summary: the caller just sent the long fields; `get` returns them all.
    project: ProjectRef
    task: TaskSummary
    seq: int


class TasksResult(_Out):
    # What create_tasks made, in the order asked (summaries, as TaskResult).
    project: ProjectRef
    tasks: list[TaskSummary]
    seq: int


class TaskListResult(_Out):
    project: ProjectRef | None
    tasks: list[TaskSummary]
    truncated: bool
    next_cursor: str | None = None  # pass as cursor for the next page
    seq: int


class SessionResult(_Out):
    # A summary, like TaskResult; `get` returns the session with its notes.
    project: ProjectRef
    session: SessionSummary
    seq: int


class ItemResult(_Out):
    # One entity by id: the task or the session (list_projects has the projects).

    project: ProjectRef
    task: Task | None = None
    session: Session | None = None
    notes: list[SessionNote] = []
    seq: int


class DeletedResult(_Out):
    project: ProjectRef
    deleted: str
    seq: int


class Granted(_Out):
    task: ClaimedTask
    claim_token: str
    expires_at: int


class ClaimsResult(_Out):
    project: ProjectRef
    claims: list[Granted]
    nothing_ready: NothingReady | None = None  # with no claims: the counts that say why
    seq: int


class ChangesResult(_Out):
    project: ProjectRef | None  # the filter, if any
    events: list[dict[str, Any]]
    next_since: int
    head: int
    expired: bool
    note: str | None = None
