"""The agent's tools: eleven calls into the service layer, the same write path as REST.

Descriptions are one or two sentences: every host loads them into the model's
context on every turn. The longer how-to lives in the server instructions and
the ``maestro://guide`` resource.
"""

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Annotated, Any, ParamSpec, TypeVar

from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.mcpserver.tools import Tool
from mcp.types import ToolAnnotations
from pydantic import Field

from maestro_mcp.core.errors import MaestroError, VersionConflict
from maestro_mcp.core.models import (
    AGENT_MAX,
    CLAIM_NEXT_MAX,
    DEFAULT_LEASE_S,
    LEASE_MAX_S,
    LEASE_MIN_S,
    NAME_MAX,
    NOTE_MAX,
    PATH_MAX,
    PROMPT_MAX,
    QUERY_MAX,
    TEXT_MAX,
    TITLE_MAX,
    ClaimNextRequest,
    ClaimRequest,
    Project,
    ProjectCreate,
    ReleaseRequest,
    SessionCreate,
    SessionPatch,
    SessionStatus,
    TaskCreate,
    TaskFilter,
    TaskPatch,
    TaskPriority,
    TaskStatus,
)
from maestro_mcp.core.service import Service

from .results import (
    ChangesResult,
    ClaimsResult,
    DeletedResult,
    Granted,
    ItemResult,
    ProjectRef,
    ProjectResult,
    ProjectsResult,
    SessionResult,
    SessionSummary,
    TaskListResult,
    TaskResult,
    TaskSummary,
)
from .schemas import compact

P = ParamSpec("P")
R = TypeVar("R")

NOTES_SHOWN = 20

# Shared parameter types: the Field descriptions are what the model reads.
ProjectArg = Annotated[
    str | None,
    Field(description="Project id or name (default: the only or configured one)."),
]
TaskId = Annotated[str, Field(description="A task id (task_…).", max_length=100)]
SessionId = Annotated[str, Field(description="A session id (sess_…).", max_length=100)]
ExpectedVersion = Annotated[
    int | None,
    Field(description="The version you read; the write fails if the entity changed since.", ge=1),
]
DependsOnArg = Annotated[
    list[str] | None, Field(description="Tasks that must be completed first.", max_length=100)
]
LabelsArg = Annotated[list[str] | None, Field(max_length=20)]
RequestId = Annotated[
    str | None,
    Field(description="Any unique id: a retry with it changes nothing.", max_length=200),
]
Title = Annotated[str, Field(min_length=1, max_length=TITLE_MAX)]
Text = Annotated[str, Field(max_length=TEXT_MAX)]
Prompt = Annotated[str, Field(max_length=PROMPT_MAX)]

READ = ToolAnnotations(read_only_hint=True, open_world_hint=False)
WRITE = ToolAnnotations(read_only_hint=False, destructive_hint=False, open_world_hint=False)
IDEMPOTENT_WRITE = ToolAnnotations(
    read_only_hint=False, destructive_hint=False, idempotent_hint=True, open_world_hint=False
)
DESTRUCTIVE = ToolAnnotations(
    read_only_hint=False, destructive_hint=True, idempotent_hint=True, open_world_hint=False
)


def actionable(fn: Callable[P, R]) -> Callable[P, R]:
    """Turn domain errors into tool errors that tell the model what to do next."""

    @wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except VersionConflict as exc:
            raise ToolError(
                f"{exc.message}. Call get for the current state, then retry with "
                f"expectedVersion={exc.current.version}."
            ) from None
        except MaestroError as exc:
            raise ToolError(exc.message) from None

    return wrapper


@dataclass(frozen=True)
class ToolEnv:
    service: Service
    default_project: str | None = None

    def project(self, ref: str | None) -> Project:
        return self.service.resolve_project(ref or self.default_project).value

    def project_of(self, project_id: str) -> ProjectRef:
        return ProjectRef.of(self.service.get_project(project_id).value)


def build_tools(env: ToolEnv) -> list[Tool]:
    """The tools, with compacted schemas (see schemas.py)."""
    service = env.service
    tools: list[Tool] = []

    def tool(annotations: ToolAnnotations) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        def register(fn: Callable[..., Any]) -> Callable[..., Any]:
            built = Tool.from_function(fn, annotations=annotations)
            compacted = compact(built.parameters)
            built.parameters.clear()
            built.parameters.update(compacted)
            if built.fn_metadata.output_schema is not None:
                built.fn_metadata.output_schema = compact(
                    built.fn_metadata.output_schema, output=True
                )
            tools.append(built)
            return fn

        return register

    @tool(READ)
    @actionable
    def list_projects() -> ProjectsResult:
        """List all projects."""
        result = service.list_projects()
        return ProjectsResult(projects=result.value, seq=result.seq)

    @tool(IDEMPOTENT_WRITE)
    @actionable
    def create_project(
        name: Annotated[str, Field(min_length=1, max_length=NAME_MAX)],
        workingDir: Annotated[str | None, Field(max_length=PATH_MAX)] = None,
        description: Text = "",
        requestId: RequestId = None,
    ) -> ProjectResult:
        """Create a project (usually one per repository; set workingDir to its path)."""
        data = ProjectCreate(name=name, working_dir=workingDir, description=description)
        result = service.create_project(data, idempotency_key=requestId)
        return ProjectResult(project=result.value, seq=result.seq)

    @tool(IDEMPOTENT_WRITE)
    @actionable
    def create_task(
        title: Title,
        project: ProjectArg = None,
        description: Text = "",
        prompt: Annotated[Prompt, Field(description="Instructions for the agent doing it.")] = "",
        priority: TaskPriority = TaskPriority.MEDIUM,
        status: TaskStatus = TaskStatus.PENDING,
        parentId: Annotated[
            str | None, Field(description="Make it a sub-task of this task.")
        ] = None,
        dependsOn: DependsOnArg = None,
        labels: LabelsArg = None,
        requestId: RequestId = None,
    ) -> TaskResult:
        """Create a task in a project."""
        target = env.project(project)
        data = TaskCreate(
            project_id=target.id,
            title=title,
            description=description,
            prompt=prompt,
            priority=priority,
            status=status,
            parent_id=parentId,
            depends_on=dependsOn or [],
            labels=labels or [],
        )
        result = service.create_task(data, idempotency_key=requestId)
        return TaskResult(
            project=ProjectRef.of(target), task=TaskSummary.of(result.value), seq=result.seq
        )

    @tool(IDEMPOTENT_WRITE)
    @actionable
    def update_task(
        taskId: TaskId,
        status: TaskStatus | None = None,
        title: Title | None = None,
        description: Text | None = None,
        prompt: Prompt | None = None,
        priority: TaskPriority | None = None,
        parentId: Annotated[
            str | None, Field(description='Move under this task; "" = top level.')
        ] = None,
        dependsOn: DependsOnArg = None,
        labels: LabelsArg = None,
        expectedVersion: ExpectedVersion = None,
        claimToken: Annotated[
            str | None, Field(description="Needed to change the status of a task you claimed.")
        ] = None,
        release: Annotated[bool, Field(description="Give your claim up.")] = False,
    ) -> TaskResult:
        """Change a task's status or fields; only the fields you pass change."""
        given: dict[str, Any] = {
            "status": status,
            "title": title,
            "description": description,
            "prompt": prompt,
            "priority": priority,
        }
        changes = {k: v for k, v in given.items() if v is not None}
        if parentId is not None:
            changes["parent_id"] = parentId or None
        if dependsOn is not None:
            changes["depends_on"] = dependsOn
        if labels is not None:
            changes["labels"] = labels
        result = service.update_task(
            taskId, TaskPatch(**changes), expected_version=expectedVersion, claim_token=claimToken
        )
        if release:
            result = service.release_task(taskId, ReleaseRequest(claim_token=claimToken))
        task = result.value
        return TaskResult(
            project=env.project_of(task.project_id), task=TaskSummary.of(task), seq=result.seq
        )

    @tool(DESTRUCTIVE)
    @actionable
    def delete_task(taskId: TaskId, expectedVersion: ExpectedVersion = None) -> DeletedResult:
        """Delete a task and its sub-tasks."""
        result = service.delete_task(taskId, expected_version=expectedVersion)
        project = env.project_of(result.value.project_id)
        return DeletedResult(project=project, deleted=taskId, seq=result.seq)

    @tool(READ)
    @actionable
    def list_tasks(
        project: ProjectArg = None,
        status: TaskStatus | None = None,
        query: Annotated[
            str | None, Field(description="Text in the title or description.", max_length=QUERY_MAX)
        ] = None,
        parentId: str | None = None,
        sessionId: str | None = None,
        ready: Annotated[
            bool | None, Field(description="true: only tasks free to claim now.")
        ] = None,
        label: str | None = None,
        limit: Annotated[int, Field(ge=1, le=500)] = 100,
    ) -> TaskListResult:
        """Find tasks of a project (summaries; use get for all fields)."""
        target = env.project(project)
        where = TaskFilter(
            project_id=target.id,
            status=status,
            query=query or None,
            parent_id=parentId,
            session_id=sessionId,
            ready=ready,
            label=label or None,
            limit=limit + 1,
        )
        result = service.list_tasks(where)
        tasks = [TaskSummary.of(t) for t in result.value[:limit]]
        return TaskListResult(
            project=ProjectRef.of(target),
            tasks=tasks,
            truncated=len(result.value) > limit,
            seq=result.seq,
        )

    @tool(READ)
    @actionable
    def get(id: Annotated[str, Field(description="A task_… or sess_… id.")]) -> ItemResult:
        """Get one task, or one session with its latest notes, by id (all fields)."""
        if id.startswith("sess_"):
            session = service.get_session(id)
            notes = service.list_session_notes(id, limit=NOTES_SHOWN).value
            project = env.project_of(session.value.project_id)
            return ItemResult(project=project, session=session.value, notes=notes, seq=session.seq)
        task = service.get_task(id)
        return ItemResult(
            project=env.project_of(task.value.project_id), task=task.value, seq=task.seq
        )

    @tool(IDEMPOTENT_WRITE)
    @actionable
    def start_session(
        name: Annotated[
            str, Field(min_length=1, max_length=NAME_MAX, description="What you are doing.")
        ],
        project: ProjectArg = None,
        agent: Annotated[
            str | None, Field(max_length=AGENT_MAX, description="Your kind, e.g. claude-code.")
        ] = None,
        taskIds: Annotated[list[str], Field(max_length=100)] = [],  # noqa: B006 - never mutated
        requestId: RequestId = None,
    ) -> SessionResult:
        """Register your working session, optionally on tasks; report with update_session."""
        target = env.project(project)
        data = SessionCreate(
            project_id=target.id,
            name=name,
            agent=agent,
            status=SessionStatus.WORKING,
            task_ids=taskIds,
        )
        result = service.create_session(data, idempotency_key=requestId)
        return SessionResult(
            project=ProjectRef.of(target), session=SessionSummary.of(result.value), seq=result.seq
        )

    @tool(WRITE)
    @actionable
    def update_session(
        sessionId: SessionId,
        status: SessionStatus | None = None,
        note: Annotated[
            str | None, Field(max_length=NOTE_MAX, description="A progress note for the log.")
        ] = None,
        name: Annotated[str | None, Field(max_length=NAME_MAX)] = None,
        addTasks: Annotated[list[str], Field(max_length=100)] = [],  # noqa: B006 - never mutated
        removeTasks: Annotated[list[str], Field(max_length=100)] = [],  # noqa: B006
        expectedVersion: ExpectedVersion = None,
        requestId: RequestId = None,
    ) -> SessionResult:
        """Set your session's status, log a note, add/remove tasks; each call renews your claims."""
        changes = {k: v for k, v in {"status": status, "name": name}.items() if v is not None}
        result = service.update_session(
            sessionId, SessionPatch(**changes), expected_version=expectedVersion
        )
        seq = result.seq
        if note is not None:
            seq = service.add_session_note(sessionId, note, idempotency_key=requestId).seq
        for task_id in addTasks:
            seq = max(seq, service.add_task_to_session(sessionId, task_id).seq)
        for task_id in removeTasks:
            seq = max(seq, service.remove_task_from_session(sessionId, task_id).seq)
        seq = max(seq, service.heartbeat(sessionId).seq)
        session = service.get_session(sessionId).value
        return SessionResult(
            project=env.project_of(session.project_id), session=SessionSummary.of(session), seq=seq
        )

    @tool(IDEMPOTENT_WRITE)
    @actionable
    def claim_tasks(
        sessionId: SessionId,
        taskId: Annotated[
            str | None, Field(description="This task; omit to take the next ready ones.")
        ] = None,
        count: Annotated[int, Field(ge=1, le=CLAIM_NEXT_MAX)] = 1,
        labels: LabelsArg = None,
        parentId: str | None = None,
        leaseSeconds: Annotated[int, Field(ge=LEASE_MIN_S, le=LEASE_MAX_S)] = DEFAULT_LEASE_S,
        requestId: RequestId = None,
    ) -> ClaimsResult:
        """Claim a task, or the next ready ones (most urgent first), for your session alone."""
        if taskId is not None:
            request = ClaimRequest(session_id=sessionId, lease_seconds=leaseSeconds)
            grants = [service.claim_task(taskId, request, idempotency_key=requestId).value]
        else:
            wanted = ClaimNextRequest(
                count=count, lease_seconds=leaseSeconds, labels=labels or [], parent_id=parentId
            )
            grants = service.claim_next(sessionId, wanted, idempotency_key=requestId).value
        session = service.get_session(sessionId)
        claims = [
            Granted(task=TaskSummary.of(g.task), claim_token=g.claim_token, expires_at=g.expires_at)
            for g in grants
        ]
        project = env.project_of(session.value.project_id)
        return ClaimsResult(project=project, claims=claims, seq=session.seq)

    @tool(READ)
    @actionable
    def changes_since(
        since: Annotated[int, Field(ge=0, description="A seq from an earlier result; 0 = all.")],
        project: ProjectArg = None,
        limit: Annotated[int, Field(ge=1, le=500)] = 100,
    ) -> ChangesResult:
        """What changed after a seq (by anyone: humans, other agents); continue from nextSince."""
        project_id = env.project(project).id if (project or env.default_project) else None
        changes = service.changes_since(since, project_id=project_id, limit=limit).value
        return ChangesResult(
            project=env.project_of(project_id) if project_id else None,
            events=changes.events,
            next_since=changes.next_since,
            head=changes.head,
            expired=changes.expired,
        )

    return tools
