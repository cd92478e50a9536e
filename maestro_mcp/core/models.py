"""The domain's shapes: entities as clients see them, and the inputs that change them.

JSON is camelCase and times are epoch milliseconds (see docs/protocol.md).
Inputs forbid unknown fields so that a typo such as ``stauts`` is an error, not
a silent no-op.
"""

from enum import StrEnum
from typing import Annotated, Any, ClassVar, Self

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator
from pydantic.alias_generators import to_camel

# Field limits, the one definition REST, MCP, the CLI and the board use (the board
# gets them from /assets/vocabulary.js). Bodies are capped separately at the HTTP edge.
ID_MAX = 100
NAME_MAX = 200
TITLE_MAX = 500
PATH_MAX = 4096
TEXT_MAX = 50_000
PROMPT_MAX = 200_000
AGENT_MAX = 100
LINKS_MAX = 1000
LINKS_PER_CALL_MAX = 100  # tasks an agent links or unlinks in one MCP call
LABEL_MAX = 50
LABELS_MAX = 20
DEPS_MAX = 100
LEASE_MIN_S = 1
LEASE_MAX_S = 24 * 3600
DEFAULT_LEASE_S = 300
CLAIM_NEXT_MAX = 50
NOTE_MAX = 10_000
QUERY_MAX = 200
LIST_LIMIT_MAX = 10_000
IDEMPOTENCY_KEY_MAX = 200
CLAIM_TOKEN_MAX = 200
# A session's progress notes: how many one listing may ask for and gets by default.
NOTES_LIMIT_MAX = 1000
NOTES_LIMIT_DEFAULT = 50
# How many of a session's latest notes an agent sees with it (MCP get and resource):
# a model's context is small.
NOTES_SHOWN = 20
# One page of an agent's tool results (MCP list_tasks, changes_since), for the same reason.
PAGE_LIMIT_MAX = 500
PAGE_LIMIT_DEFAULT = 100

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=NAME_MAX)]
Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=TITLE_MAX)]
Text = Annotated[str, StringConstraints(max_length=TEXT_MAX)]
Prompt = Annotated[str, StringConstraints(max_length=PROMPT_MAX)]
WorkingDir = Annotated[str, StringConstraints(max_length=PATH_MAX)]
Agent = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=AGENT_MAX)]
EntityId = Annotated[str, StringConstraints(min_length=1, max_length=ID_MAX)]
Label = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=LABEL_MAX)]
Labels = Annotated[list[Label], Field(max_length=LABELS_MAX)]
DependsOn = Annotated[list[EntityId], Field(max_length=DEPS_MAX)]
LeaseSeconds = Annotated[int, Field(ge=LEASE_MIN_S, le=LEASE_MAX_S)]


class TaskStatus(StrEnum):
    PENDING = "pending"
    IN_PROGRESS = "in_progress"
    IN_REVIEW = "in_review"
    BLOCKED = "blocked"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


class TaskPriority(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    URGENT = "urgent"


class SessionStatus(StrEnum):
    IDLE = "idle"
    WORKING = "working"
    NEEDS_INPUT = "needs_input"
    COMPLETED = "completed"
    FAILED = "failed"
    STOPPED = "stopped"


ENDED_SESSION_STATUSES = frozenset(
    {SessionStatus.COMPLETED, SessionStatus.FAILED, SessionStatus.STOPPED}
)
# The rest, in the enum's order: what `maestro status` lists as active.
ACTIVE_SESSION_STATUSES = tuple(s for s in SessionStatus if s not in ENDED_SESSION_STATUSES)


class _Model(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, use_enum_values=False, frozen=True
    )


class _Input(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")

    def given(self) -> dict[str, Any]:
        """The fields the caller actually sent, by Python name: the basis of PATCH merging."""
        return {name: getattr(self, name) for name in self.model_fields_set}


class _Patch(_Input):
    """A partial update: only the fields sent change; ``null`` clears only nullable fields."""

    nullable: ClassVar[frozenset[str]] = frozenset()

    @model_validator(mode="after")
    def _reject_null_for_required_fields(self) -> Self:
        for name in self.model_fields_set:
            if getattr(self, name) is None and name not in self.nullable:
                raise ValueError(f"{to_camel(name)} cannot be null")
        return self


# --- entities ---------------------------------------------------------------


class Project(_Model):
    id: str
    name: str
    working_dir: str | None = None
    description: str = ""
    created_at: int
    updated_at: int
    version: int


class Claim(_Model):
    """Who holds a task, since and until when. The claim token is not part of it."""

    session_id: str
    claimed_at: int
    expires_at: int


class Task(_Model):
    id: str
    project_id: str
    parent_id: str | None = None
    title: str
    description: str = ""
    prompt: str = ""
    status: TaskStatus
    priority: TaskPriority
    session_ids: list[str] = Field(default_factory=list)
    session_count: int = 0
    labels: list[str] = Field(default_factory=list)
    depends_on: list[str] = Field(default_factory=list)
    claim: Claim | None = None
    created_at: int
    updated_at: int
    started_at: int | None = None
    completed_at: int | None = None
    version: int


class Session(_Model):
    id: str
    project_id: str
    name: str
    agent: str | None = None
    status: SessionStatus
    task_ids: list[str] = Field(default_factory=list)
    created_at: int
    updated_at: int
    last_activity_at: int
    ended_at: int | None = None
    version: int


class SessionNote(_Model):
    # One entry of a session's progress log.

    id: int
    session_id: str
    message: str
    created_at: int


Entity = Project | Task | Session


# --- inputs -----------------------------------------------------------------


class ProjectCreate(_Input):
    name: Name
    working_dir: WorkingDir | None = None
    description: Text = ""


class ProjectPatch(_Patch):
    nullable = frozenset({"working_dir"})

    name: Name | None = None
    working_dir: WorkingDir | None = None
    description: Text | None = None


class TaskCreate(_Input):
    project_id: EntityId
    parent_id: EntityId | None = None
    title: Title
    description: Text = ""
    prompt: Prompt = ""
    status: TaskStatus = TaskStatus.PENDING
    priority: TaskPriority = TaskPriority.MEDIUM
    labels: Labels = Field(default_factory=list)
    depends_on: DependsOn = Field(default_factory=list)


class TaskPatch(_Patch):
    nullable = frozenset({"parent_id"})

    parent_id: EntityId | None = None
    title: Title | None = None
    description: Text | None = None
    prompt: Prompt | None = None
    status: TaskStatus | None = None
    priority: TaskPriority | None = None
    labels: Labels | None = None
    depends_on: DependsOn | None = None


class SessionCreate(_Input):
    project_id: EntityId
    name: Name
    agent: Agent | None = None
    status: SessionStatus = SessionStatus.IDLE
    task_ids: Annotated[list[EntityId], Field(max_length=LINKS_MAX)] = Field(default_factory=list)


class SessionPatch(_Patch):
    nullable = frozenset({"agent"})

    name: Name | None = None
    agent: Agent | None = None
    status: SessionStatus | None = None


Note = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=NOTE_MAX)]


class TaskFilter(_Input):
    project_id: EntityId | None = None
    status: TaskStatus | None = None
    parent_id: EntityId | None = None
    session_id: EntityId | None = None
    # Case-insensitive substring of the title or description.
    query: Annotated[str, StringConstraints(min_length=1, max_length=QUERY_MAX)] | None = None
    # ready: pending, every dependency completed, and no live claim.
    ready: bool | None = None
    # blocked: some dependency is not completed yet (whatever the task's own status).
    blocked: bool | None = None
    label: Label | None = None
    limit: Annotated[int, Field(ge=1, le=LIST_LIMIT_MAX)] | None = None


class ClaimRequest(_Input):
    session_id: EntityId
    lease_seconds: LeaseSeconds = DEFAULT_LEASE_S


class ClaimNextRequest(_Input):
    count: Annotated[int, Field(ge=1, le=CLAIM_NEXT_MAX)] = 1
    lease_seconds: LeaseSeconds = DEFAULT_LEASE_S
    # Only tasks carrying every one of these labels.
    labels: Labels = Field(default_factory=list)
    parent_id: EntityId | None = None


class ReleaseRequest(_Input):
    claim_token: Annotated[str, StringConstraints(max_length=CLAIM_TOKEN_MAX)] | None = None
    override: bool = False


class HeartbeatRequest(_Input):
    lease_seconds: LeaseSeconds | None = None


class ClaimGrant(_Model):
    """A claim as its holder sees it: the task and the token that proves the claim."""

    task: Task
    claim_token: str
    expires_at: int


class SessionFilter(_Input):
    project_id: EntityId | None = None
    status: SessionStatus | None = None
    task_id: EntityId | None = None


class SessionReport(_Input):
    """What an agent reports on its session in one call (MCP ``update_session``):
    applied in this order, as one transaction, then a heartbeat."""

    status: SessionStatus | None = None
    name: Name | None = None
    note: Note | None = None
    add_tasks: Annotated[list[EntityId], Field(max_length=LINKS_PER_CALL_MAX)] = Field(
        default_factory=list
    )
    remove_tasks: Annotated[list[EntityId], Field(max_length=LINKS_PER_CALL_MAX)] = Field(
        default_factory=list
    )

    def patch(self) -> SessionPatch:
        given = {"status": self.status, "name": self.name}
        return SessionPatch(**{k: v for k, v in given.items() if v is not None})


# --- results that faces share -------------------------------------------------


class Heartbeat(_Model):
    """A session after its heartbeat, and the tasks whose claims it renewed."""

    session: Session
    renewed: list[Task]


class Link(_Model):
    """The two sides of a task<->session link after it changed."""

    session: Session
    task: Task
    changed: bool


class Changes(_Model):
    """What happened after a seq: the events (oldest first) and where to continue from."""

    events: list[dict[str, Any]]
    head: int  # the newest seq in the log
    next_since: int  # pass this as `since` next time
    expired: bool  # `since` is older than the retained log: some events are gone; refetch
