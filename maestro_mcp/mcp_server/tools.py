"""The agent's tools: twelve calls into the service layer, on the same write path as REST.

Every tool is async and one call is one transaction of the core (``core.write``,
group commit), however much it changes: ``update_session`` with a status, a note,
links, a question and file reservations, ``claim_tasks`` with the paths it reserves,
``message`` marking messages read and sending one, or ``update_task`` with
``release``, is all or nothing, and a ``requestId`` replays the whole call. Reads run
off the event loop (``core.read``); what a tool shows after its write (an inbox, the
files a session holds) is read in one snapshot after the commit.

Descriptions are one or two sentences: every host loads them into the model's
context on every turn. The longer how-to lives in the server instructions and
the ``maestro://guide`` resource.
"""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial, wraps
from typing import Annotated, Any, ParamSpec, TypeVar

from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.mcpserver.tools import Tool
from mcp.types import CallToolResult, ToolAnnotations
from pydantic import BaseModel, Field, ValidationError, WithJsonSchema
from pydantic.alias_generators import to_camel

from maestro_mcp.core.access import Scope
from maestro_mcp.core.errors import MaestroError, NoProjectYet, VersionConflict
from maestro_mcp.core.ids import (
    MESSAGE_PREFIX,
    PROJECT_PREFIX,
    QUESTION_PREFIX,
    RESERVATION_PREFIX,
    SESSION_PREFIX,
    TASK_PREFIX,
)
from maestro_mcp.core.models import (
    ADDRESSES_MAX,
    AGENT_ADDRESS_PREFIX,
    AGENT_MAX,
    CLAIM_NEXT_MAX,
    DEFAULT_LEASE_S,
    DEPS_MAX,
    HUMANS,
    ID_MAX,
    IDEMPOTENCY_KEY_MAX,
    LABELS_MAX,
    LEASE_MAX_S,
    LEASE_MIN_S,
    LINKS_PER_CALL_MAX,
    MESSAGE_MAX,
    MESSAGES_PER_CALL_MAX,
    NAME_MAX,
    NOTE_MAX,
    NOTES_SHOWN,
    PAGE_LIMIT_DEFAULT,
    PAGE_LIMIT_MAX,
    PATH_MAX,
    PATTERNS_PER_CALL_MAX,
    PROJECT_ADDRESS,
    PROMPT_MAX,
    QUERY_MAX,
    TASKS_PER_BATCH_MAX,
    TEXT_MAX,
    TITLE_MAX,
    ClaimNextRequest,
    ClaimRequest,
    MessageExchange,
    MessageFilter,
    MessageSend,
    Project,
    ProjectCreate,
    QuestionAsk,
    ReservationFilter,
    SessionCreate,
    SessionReport,
    SessionStatus,
    TaskBatch,
    TaskDraft,
    TaskFilter,
    TaskPatch,
    TaskPriority,
    TaskStatus,
)
from maestro_mcp.core.runtime import Core
from maestro_mcp.core.storage import Contended, OutcomeUnknown, StoreUnavailable

from .callers import caller, caller_of, calling
from .digest import CHANGES_PAGE_DEFAULT, digest
from .render import render
from .results import (
    BODY_SHOWN,
    INBOX_SHOWN,
    Answer,
    ChangesResult,
    ClaimedTask,
    ClaimsResult,
    DeletedResult,
    Granted,
    Held,
    InboxMessage,
    ItemResult,
    MessageResult,
    ProjectRef,
    ProjectResult,
    ProjectsResult,
    SentMessage,
    SessionResult,
    SessionSummary,
    TaskListResult,
    TaskResult,
    TasksResult,
    TaskSummary,
)
from .schemas import compact

P = ParamSpec("P")
R = TypeVar("R")

# What ``get`` reads, by the prefix of their ids.
_GOTTEN = f"{TASK_PREFIX}…, {SESSION_PREFIX}…, {MESSAGE_PREFIX}… or {QUESTION_PREFIX}…"

# Shared parameter types: the Field descriptions are what the model reads.
ProjectArg = Annotated[
    str | None,
    Field(description="Project id or name (default: the only one)."),
]

# An id parameter is bounded as every id is, its schema saying only what it names: the
# model passes ids it was given; their length is ours to check, not its to know.
_ID = Field(min_length=1, max_length=ID_MAX)
TaskId = Annotated[
    str, _ID, WithJsonSchema({"type": "string", "description": f"A task id ({TASK_PREFIX}…)."})
]
SessionId = Annotated[
    str,
    _ID,
    WithJsonSchema({"type": "string", "description": f"A session id ({SESSION_PREFIX}…)."}),
]
ExpectedVersion = Annotated[
    int | None,
    Field(description="Version you read: refused if changed since.", ge=1),
]
DependsOnArg = Annotated[
    list[str] | None,
    Field(description="Tasks that must be completed first.", max_length=DEPS_MAX),
]
LabelsArg = Annotated[list[str] | None, Field(max_length=LABELS_MAX)]
TaskIdsArg = Annotated[list[str], Field(max_length=LINKS_PER_CALL_MAX)]
PathsArg = Annotated[list[str], Field(max_length=PATTERNS_PER_CALL_MAX)]
MessageIdsArg = Annotated[list[str], Field(max_length=MESSAGES_PER_CALL_MAX)]
RequestId = Annotated[
    str | None,
    Field(
        description="Unique id: a retry changes nothing.",
        max_length=IDEMPOTENCY_KEY_MAX,
    ),
]
Title = Annotated[str, Field(min_length=1, max_length=TITLE_MAX)]
Text = Annotated[str, Field(max_length=TEXT_MAX)]
Prompt = Annotated[str, Field(max_length=PROMPT_MAX)]
SharedArg = Annotated[bool, Field(description="Reserve shared, not exclusive.")]
PageLimit = Annotated[int, Field(ge=1, le=PAGE_LIMIT_MAX)]

# idempotentHint only where the same call again changes nothing more, without a
# requestId too: creates and reports add again (a requestId makes a retry safe).
# readOnlyHint is said only where true: false is its default (as the MCP schema
# defines the hints), and every byte of tools/list is in the model's context.
READ = ToolAnnotations(read_only_hint=True, open_world_hint=False)
WRITE = ToolAnnotations(destructive_hint=False, open_world_hint=False)
IDEMPOTENT_WRITE = ToolAnnotations(
    destructive_hint=False, idempotent_hint=True, open_world_hint=False
)
DESTRUCTIVE = ToolAnnotations(destructive_hint=True, idempotent_hint=True, open_world_hint=False)


def actionable(fn: Callable[P, Awaitable[BaseModel]]) -> Callable[P, Awaitable[CallToolResult]]:
    """Render the result for the model (render.py), and turn domain errors into tool
    errors that tell the model what to do next."""

    @wraps(fn)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> CallToolResult:
        try:
            return render(await fn(*args, **kwargs))
        except NoProjectYet:
            raise ToolError("there is no project yet: create one with create_project") from None
        except VersionConflict as exc:
            raise ToolError(
                f"{exc.message}. Call get for the current state, then retry with "
                f"expectedVersion={exc.current.version}."
            ) from None
        except MaestroError as exc:
            raise ToolError(exc.message) from None
        except ValidationError as exc:  # an argument the tool's schema let through
            raise ToolError(invalid_input(exc)) from None
        except OutcomeUnknown:
            raise ToolError(
                "the connection to the database was lost as this change was committed: it "
                "may or may not have been made. In a moment, look before you call again; a "
                "call with the same requestId is made once."
            ) from None
        except (StoreUnavailable, Contended):
            raise ToolError(
                "the database is unavailable right now; nothing was changed. Retry the same "
                "call (with the same requestId) in a moment."
            ) from None

    return wrapper


def invalid_input(exc: ValidationError) -> str:
    """What was wrong with the arguments: each field by its parameter name, the rule it
    broke (pydantic's words, without its links and dumps)."""
    problems = []
    for error in exc.errors(include_url=False, include_input=False, include_context=False):
        where = ".".join(to_camel(p) if isinstance(p, str) else str(p) for p in error["loc"])
        problems.append(f"{where}: {error['msg']}" if where else error["msg"])
    return "invalid input: " + "; ".join(problems)


class MaestroTool(Tool):
    """A tool whose argument errors read like its own: the SDK would put pydantic's
    whole report (with links to pydantic's site) in front of the model."""

    async def run(
        self, arguments: dict[str, Any], context: Any, convert_result: bool = False
    ) -> Any:
        who = caller_of(context)
        needed = Scope.READ if self.annotations and self.annotations.read_only_hint else Scope.WRITE
        if not who.principal.scope.allows(needed):
            raise ToolError(
                f"Error executing tool {self.name}: the token {who.principal.name!r} may only "
                f"{who.principal.scope.value}; this tool changes things (scope {needed.value})"
            )
        try:
            with calling(who):
                return await super().run(arguments, context, convert_result)
        except ToolError as exc:
            # The SDK raises its argument check's ValidationError as the cause; errors of
            # the tool body reach here as ToolErrors already (see ``actionable``).
            if not isinstance(exc.__cause__, ValidationError):
                raise
            message = invalid_input(exc.__cause__)
            raise ToolError(f"Error executing tool {self.name}: {message}") from None


@dataclass(frozen=True)
class ToolEnv:
    core: Core

    @property
    def default_project(self) -> str | None:
        return self.core.settings.default_project

    async def project(self, ref: str | None) -> Project:
        resolve = partial(self.core.service.resolve_project, ref or self.default_project)
        return (await self.core.read(resolve)).value

    async def write(self, operation: Callable[[], R], *, reads: tuple[str, ...] = ()) -> R:
        """A write of the calling tool, made as its caller (callers.py)."""
        return await self.core.write(operation, actor=caller().actor, reads=reads)

    async def project_of(self, project_id: str) -> ProjectRef:
        found = await self.core.read(partial(self.core.service.get_project, project_id))
        return ProjectRef.of(found.value)

    def held(self, session_id: str) -> list[Held]:
        """The session's live file reservations (a read of the service: call it inside
        ``core.read``)."""
        where = ReservationFilter(session_id=session_id)
        return [Held.of(r) for r in self.core.service.list_reservations(where).value]


def build_tools(env: ToolEnv) -> list[Tool]:
    """The tools, with compacted schemas (see schemas.py)."""
    core = env.core
    service = core.service
    tools: list[Tool] = []

    def tool(
        title: str, annotations: ToolAnnotations
    ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        def register(fn: Callable[..., Any]) -> Callable[..., Any]:
            built = MaestroTool.from_function(fn, title=title, annotations=annotations)
            compacted = compact(built.parameters)
            built.parameters.clear()
            built.parameters.update(compacted)
            # Results are one compact JSON text (render.py): no structured copy, so no
            # output schema, which was 44 % of tools/list.
            built.fn_metadata.output_schema = None
            tools.append(built)
            return fn

        return register

    @tool("List projects", READ)
    @actionable
    async def list_projects() -> ProjectsResult:
        """List all projects."""
        result = await core.read(service.list_projects)
        return ProjectsResult(projects=result.value, seq=result.seq)

    @tool("Create a project", WRITE)
    @actionable
    async def create_project(
        name: Annotated[str, Field(min_length=1, max_length=NAME_MAX)],
        workingDir: Annotated[str | None, Field(max_length=PATH_MAX)] = None,
        description: Text = "",
        allowDuplicate: Annotated[
            bool, Field(description="true: even if a project has this name.")
        ] = False,
        requestId: RequestId = None,
    ) -> ProjectResult:
        """Create a project (usually one per repository; set workingDir to its path)."""
        data = ProjectCreate(
            name=name,
            working_dir=workingDir,
            description=description,
            allow_duplicate=allowDuplicate,
        )
        result = await env.write(partial(service.create_project, data, idempotency_key=requestId))
        return ProjectResult(project=result.value, seq=result.seq)

    @tool("Create tasks", WRITE)
    @actionable
    async def create_tasks(
        tasks: Annotated[
            list[TaskDraft],
            Field(
                min_length=1,
                max_length=TASKS_PER_BATCH_MAX,
                description="In order; dependsOn/parentId may name an earlier one's ref.",
            ),
        ],
        project: ProjectArg = None,
        requestId: RequestId = None,
    ) -> TasksResult:
        """Create one task, or several (a plan), all or none; each starts pending."""
        target = await env.project(project)
        batch = TaskBatch(project_id=target.id, tasks=tasks)
        result = await env.write(partial(service.create_tasks, batch, idempotency_key=requestId))
        return TasksResult(
            project=ProjectRef.of(target),
            tasks=[TaskSummary.of(t) for t in result.value],
            seq=result.seq,
        )

    @tool("Update a task", IDEMPOTENT_WRITE)
    @actionable
    async def update_task(
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
        result = await env.write(
            partial(
                service.update_task,
                taskId,
                TaskPatch(**changes),
                expected_version=expectedVersion,
                claim_token=claimToken,
                release=release,
            ),
            reads=(taskId,),
        )
        task = result.value
        return TaskResult(
            project=await env.project_of(task.project_id),
            task=TaskSummary.of(task),
            seq=result.seq,
        )

    @tool("Delete a task", DESTRUCTIVE)
    @actionable
    async def delete_task(taskId: TaskId, expectedVersion: ExpectedVersion = None) -> DeletedResult:
        """Delete a task and its sub-tasks."""
        result = await env.write(
            partial(service.delete_task, taskId, expected_version=expectedVersion),
            reads=(taskId,),
        )
        project = await env.project_of(result.value.project_id)
        return DeletedResult(project=project, deleted=taskId, seq=result.seq)

    @tool("Find tasks", READ)
    @actionable
    async def list_tasks(
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
        limit: PageLimit = PAGE_LIMIT_DEFAULT,
        cursor: Annotated[str | None, Field(description="nextCursor of the page before.")] = None,
    ) -> TaskListResult:
        """Find tasks of a project (summaries; use get for all fields)."""
        target = await env.project(project)
        where = TaskFilter(
            project_id=target.id,
            status=status,
            query=query or None,  # "" = no filter, as when it is left out
            parent_id=parentId or None,
            session_id=sessionId or None,
            ready=ready,
            label=label or None,
            limit=limit + 1,
            after=cursor or None,
        )
        result = await core.read(partial(service.list_tasks, where))
        tasks = [TaskSummary.of(t) for t in result.value[:limit]]
        more = len(result.value) > limit
        return TaskListResult(
            project=ProjectRef.of(target),
            tasks=tasks,
            truncated=more,
            next_cursor=tasks[-1].id if more else None,
            seq=result.seq,
        )

    @tool("Get by id", READ)
    @actionable
    async def get(
        id: Annotated[
            str,
            Field(description=f"A {_GOTTEN} id.", min_length=1, max_length=ID_MAX),
        ],
    ) -> ItemResult:
        """Get a task, a session (with its latest notes), a message or a question, whole."""

        if id.startswith(PROJECT_PREFIX):
            raise ToolError(
                f"{id} is a project id: get takes a {_GOTTEN} id (list_projects shows projects)"
            )
        if id.startswith(RESERVATION_PREFIX):
            raise ToolError(
                f"{id} is a file reservation: get takes a {_GOTTEN} id (your session's "
                "reservations are in get(sessionId) and its resource)"
            )

        def read() -> ItemResult:  # one snapshot: the item, its notes and its project
            if id.startswith(MESSAGE_PREFIX):
                message = service.get_message(id)
                project = service.get_project(message.value.project_id).value
                return ItemResult(
                    project=ProjectRef.of(project), message=message.value, seq=message.seq
                )
            if id.startswith(QUESTION_PREFIX):
                question = service.get_question(id)
                project = service.get_project(question.value.project_id).value
                return ItemResult(
                    project=ProjectRef.of(project), question=question.value, seq=question.seq
                )
            if id.startswith(SESSION_PREFIX):
                session = service.get_session(id)
                notes = service.list_session_notes(id, limit=NOTES_SHOWN).value
                project = service.get_project(session.value.project_id).value
                return ItemResult(
                    project=ProjectRef.of(project),
                    session=session.value,
                    notes=notes,
                    seq=session.seq,
                )
            task = service.get_task(id)
            project = service.get_project(task.value.project_id).value
            return ItemResult(project=ProjectRef.of(project), task=task.value, seq=task.seq)

        return await core.read(read)

    @tool("Start your session", WRITE)
    @actionable
    async def start_session(
        name: Annotated[
            str, Field(min_length=1, max_length=NAME_MAX, description="What you are doing.")
        ],
        project: ProjectArg = None,
        agent: Annotated[
            str | None, Field(max_length=AGENT_MAX, description="Your kind, e.g. claude-code.")
        ] = None,
        taskIds: Annotated[
            list[str],
            Field(
                max_length=LINKS_PER_CALL_MAX,
                description="Link these tasks (no claim: claim with claim_tasks).",
            ),
        ] = [],  # noqa: B006 - never mutated
        requestId: RequestId = None,
    ) -> SessionResult:
        """Register your working session, optionally on tasks; report with update_session."""
        target = await env.project(project)
        data = SessionCreate(
            project_id=target.id,
            name=name,
            agent=agent,
            status=SessionStatus.WORKING,
            task_ids=taskIds,
        )
        result = await env.write(partial(service.create_session, data, idempotency_key=requestId))
        return SessionResult(
            project=ProjectRef.of(target), session=SessionSummary.of(result.value), seq=result.seq
        )

    @tool("Report on your session", WRITE)
    @actionable
    async def update_session(
        sessionId: SessionId,
        status: SessionStatus | None = None,
        note: Annotated[
            str | None, Field(max_length=NOTE_MAX, description="A progress note for the log.")
        ] = None,
        name: Annotated[str | None, Field(max_length=NAME_MAX)] = None,
        addTasks: TaskIdsArg = [],  # noqa: B006 - never mutated
        removeTasks: TaskIdsArg = [],  # noqa: B006
        ask: Annotated[
            QuestionAsk | None,
            Field(description="Ask a person; you wait (needs_input) for the answer."),
        ] = None,
        reserve: Annotated[
            PathsArg, Field(description="Files/globs to reserve; dir/ for a dir.")
        ] = [],  # noqa: B006 - never mutated
        shared: SharedArg = False,
        release: Annotated[PathsArg, Field(description="Reserved patterns to free.")] = [],  # noqa: B006
        expectedVersion: ExpectedVersion = None,
        requestId: RequestId = None,
    ) -> SessionResult:
        """Status, note, tasks, a question, file reservations; renews your claims, gives answers."""
        if shared and not reserve:
            raise ToolError("shared goes with reserve: the paths to reserve shared")
        report = SessionReport(
            status=status,
            name=name,
            note=note,
            add_tasks=addTasks,
            remove_tasks=removeTasks,
            ask=ask,
            reserve=reserve,
            shared=shared,
            release=release,
        )
        result = await env.write(
            partial(
                service.report,
                sessionId,
                report,
                expected_version=expectedVersion,
                idempotency_key=requestId,
            )
        )
        reported = result.value
        session = reported.session
        reserved: list[Held] = []
        if reserve or release:  # what the session holds now, said back
            reserved = await core.read(partial(env.held, sessionId))
        return SessionResult(
            project=await env.project_of(session.project_id),
            session=SessionSummary.of(session),
            answers=[Answer.of(q) for q in reported.answers],
            unread=reported.unread or None,
            asked=reported.asked.id if reported.asked is not None else None,
            reserved=reserved,
            seq=result.seq,
        )

    @tool("Claim tasks", WRITE)
    @actionable
    async def claim_tasks(
        sessionId: SessionId,
        taskId: Annotated[
            str | None, Field(description="This task; omit to take the next ready ones.")
        ] = None,
        count: Annotated[int, Field(ge=1, le=CLAIM_NEXT_MAX)] = 1,
        labels: LabelsArg = None,
        parentId: str | None = None,
        leaseSeconds: Annotated[int, Field(ge=LEASE_MIN_S, le=LEASE_MAX_S)] = DEFAULT_LEASE_S,
        paths: Annotated[
            PathsArg, Field(description="Files/globs to reserve with it; dir/ for a dir.")
        ] = [],  # noqa: B006 - never mutated
        shared: SharedArg = False,
        requestId: RequestId = None,
    ) -> ClaimsResult:
        """Claim a task (yours again: renewed), or the next ready ones, for your session alone."""
        if taskId is not None:
            request = ClaimRequest(
                session_id=sessionId, lease_seconds=leaseSeconds, paths=paths, shared=shared
            )
            one = await env.write(
                partial(service.claim_task, taskId, request, idempotency_key=requestId)
            )
            grants, seq, nothing_ready = [one.value], one.seq, None
        else:
            wanted = ClaimNextRequest(
                count=count,
                lease_seconds=leaseSeconds,
                labels=labels or [],
                parent_id=parentId or None,  # "" = any parent, as when it is left out
                paths=paths,
                shared=shared,
            )
            some = await env.write(
                partial(service.claim_next, sessionId, wanted, idempotency_key=requestId)
            )
            grants, seq = some.value.claims, some.seq
            nothing_ready = some.value.nothing_ready

        def after() -> tuple[Project, list[Held], int]:  # one snapshot after the claim
            session = service.get_session(sessionId)
            project = service.get_project(session.value.project_id).value
            return project, env.held(sessionId) if paths and grants else [], session.seq

        project, reserved, read_at = await core.read(after)
        claims = [
            Granted(task=ClaimedTask.of(g.task), claim_token=g.claim_token, expires_at=g.expires_at)
            for g in grants
        ]
        return ClaimsResult(
            project=ProjectRef.of(project),
            claims=claims,
            nothing_ready=nothing_ready,
            reserved=reserved,
            seq=max(seq, read_at),
        )

    @tool("Messages", WRITE)
    @actionable
    async def message(
        sessionId: SessionId,
        to: Annotated[
            list[str],
            Field(
                max_length=ADDRESSES_MAX,
                description=f"{SESSION_PREFIX}… ids, {AGENT_ADDRESS_PREFIX}NAME, {HUMANS} "
                f"or {PROJECT_ADDRESS}.",
            ),
        ] = [],  # noqa: B006 - never mutated
        body: Annotated[
            str | None, Field(max_length=MESSAGE_MAX, description="Markdown: sends it.")
        ] = None,
        subject: Annotated[str | None, Field(max_length=TITLE_MAX)] = None,
        replyTo: Annotated[
            str | None, Field(description="A message id: reply in its thread.")
        ] = None,
        read: Annotated[MessageIdsArg, Field(description="Ids to mark read.")] = [],  # noqa: B006
        ack: Annotated[MessageIdsArg, Field(description="Ids to acknowledge (read too).")] = [],  # noqa: B006
        requestId: RequestId = None,
    ) -> MessageResult:
        """Send a message, mark yours read or acknowledged; returns your unread inbox."""
        if body is None and (to or subject is not None or replyTo is not None):
            raise ToolError("to, subject and replyTo go with a body: pass body to send a message")
        sent, seq = None, 0
        if body is not None or read or ack:
            send = None
            if body is not None:
                send = MessageSend(to=to, subject=subject or "", body=body, reply_to=replyTo)
            exchange = MessageExchange(read=read, ack=ack, send=send)
            done = await env.write(
                partial(service.exchange_messages, sessionId, exchange, idempotency_key=requestId)
            )
            sent, seq = done.value.sent, done.seq

        def inbox() -> MessageResult:  # one snapshot: the session, its unread messages
            session = service.get_session(sessionId)
            project = service.get_project(session.value.project_id).value
            unread = MessageFilter(recipient=sessionId, unread=True, limit=INBOX_SHOWN)
            return MessageResult(
                project=ProjectRef.of(project),
                sent=SentMessage.of(sent) if sent is not None else None,
                inbox=[InboxMessage.of(m, BODY_SHOWN) for m in service.list_messages(unread).value],
                unread=service.unread_count(sessionId).value,
                seq=max(seq, session.seq),
            )

        return await core.read(inbox)

    @tool("What changed", READ)
    @actionable
    async def changes_since(
        since: Annotated[int, Field(ge=0, description="A seq from an earlier result; 0 = all.")],
        project: ProjectArg = None,
        limit: PageLimit = CHANGES_PAGE_DEFAULT,
        full: Annotated[bool, Field(description="true: whole events, not summaries.")] = False,
    ) -> ChangesResult:
        """What changed after a seq (by anyone: humans, other agents); continue from nextSince."""
        project_id = (await env.project(project)).id if (project or env.default_project) else None
        found = await core.read(
            partial(service.changes_since, since, project_id=project_id, limit=limit)
        )
        changes = found.value
        events, stopped_at = digest(changes.events, full=full)
        return ChangesResult(
            project=await env.project_of(project_id) if project_id else None,
            events=events,
            next_since=changes.next_since if stopped_at is None else stopped_at,
            head=changes.head,
            expired=changes.expired,
            note=changes.note,
        )

    return tools
