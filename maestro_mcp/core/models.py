"""The domain's shapes: entities as clients see them, and the inputs that change them.

Statuses, priorities and limits come from vocabulary.py (and are re-exported here).

JSON is camelCase and times are epoch milliseconds (see docs/protocol.md).
Inputs forbid unknown fields so that a typo such as ``stauts`` is an error, not
a silent no-op.
"""

from typing import Annotated, Any, ClassVar, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel

from ..protocol import SEQ_MAX
from .access import RESERVED_NAMES, TOKEN_NAME_MAX, TOKEN_NAME_PATTERN, Scope
from .vocabulary import (
    ACTIVE_SESSION_STATUSES as ACTIVE_SESSION_STATUSES,
)
from .vocabulary import (
    ADDRESSES_MAX as ADDRESSES_MAX,
)
from .vocabulary import (
    AGENT_ADDRESS_PREFIX as AGENT_ADDRESS_PREFIX,
)
from .vocabulary import (
    AGENT_MAX as AGENT_MAX,
)
from .vocabulary import (
    ANSWER_MAX as ANSWER_MAX,
)
from .vocabulary import (
    BATCH_TEXT_MAX as BATCH_TEXT_MAX,
)
from .vocabulary import (
    CHOICE_MAX as CHOICE_MAX,
)
from .vocabulary import (
    CHOICES_MAX as CHOICES_MAX,
)
from .vocabulary import (
    CLAIM_NEXT_MAX as CLAIM_NEXT_MAX,
)
from .vocabulary import (
    CLAIM_TOKEN_MAX as CLAIM_TOKEN_MAX,
)
from .vocabulary import (
    DEFAULT_LEASE_S as DEFAULT_LEASE_S,
)
from .vocabulary import (
    DEFAULT_SESSION_STATUS as DEFAULT_SESSION_STATUS,
)
from .vocabulary import (
    DEFAULT_TASK_PRIORITY as DEFAULT_TASK_PRIORITY,
)
from .vocabulary import (
    DEFAULT_TASK_STATUS as DEFAULT_TASK_STATUS,
)
from .vocabulary import (
    DEPS_MAX as DEPS_MAX,
)
from .vocabulary import (
    ENDED_SESSION_STATUSES as ENDED_SESSION_STATUSES,
)
from .vocabulary import (
    HISTORY_LIMIT_DEFAULT as HISTORY_LIMIT_DEFAULT,
)
from .vocabulary import (
    HISTORY_LIMIT_MAX as HISTORY_LIMIT_MAX,
)
from .vocabulary import (
    HISTORY_PAGE_BYTES as HISTORY_PAGE_BYTES,
)
from .vocabulary import (
    HUMANS as HUMANS,
)
from .vocabulary import (
    ID_MAX as ID_MAX,
)
from .vocabulary import (
    IDEMPOTENCY_KEY_MAX as IDEMPOTENCY_KEY_MAX,
)
from .vocabulary import (
    LABEL_MAX as LABEL_MAX,
)
from .vocabulary import (
    LABELS_MAX as LABELS_MAX,
)
from .vocabulary import (
    LEASE_MAX_S as LEASE_MAX_S,
)
from .vocabulary import (
    LEASE_MIN_S as LEASE_MIN_S,
)
from .vocabulary import (
    LINKS_MAX as LINKS_MAX,
)
from .vocabulary import (
    LINKS_PER_CALL_MAX as LINKS_PER_CALL_MAX,
)
from .vocabulary import (
    LIST_LIMIT_MAX as LIST_LIMIT_MAX,
)
from .vocabulary import (
    MESSAGE_MAX as MESSAGE_MAX,
)
from .vocabulary import (
    MESSAGES_LIMIT_DEFAULT as MESSAGES_LIMIT_DEFAULT,
)
from .vocabulary import (
    MESSAGES_LIMIT_MAX as MESSAGES_LIMIT_MAX,
)
from .vocabulary import (
    MESSAGES_PER_CALL_MAX as MESSAGES_PER_CALL_MAX,
)
from .vocabulary import (
    NAME_MAX as NAME_MAX,
)
from .vocabulary import (
    NOTE_MAX as NOTE_MAX,
)
from .vocabulary import (
    NOTES_LIMIT_DEFAULT as NOTES_LIMIT_DEFAULT,
)
from .vocabulary import (
    NOTES_LIMIT_MAX as NOTES_LIMIT_MAX,
)
from .vocabulary import (
    NOTES_SHOWN as NOTES_SHOWN,
)
from .vocabulary import (
    OPEN_QUESTIONS_MAX as OPEN_QUESTIONS_MAX,
)
from .vocabulary import (
    PAGE_LIMIT_DEFAULT as PAGE_LIMIT_DEFAULT,
)
from .vocabulary import (
    PAGE_LIMIT_MAX as PAGE_LIMIT_MAX,
)
from .vocabulary import (
    PATH_MAX as PATH_MAX,
)
from .vocabulary import (
    PATTERNS_PER_CALL_MAX as PATTERNS_PER_CALL_MAX,
)
from .vocabulary import (
    PROJECT_ADDRESS as PROJECT_ADDRESS,
)
from .vocabulary import (
    PROMPT_MAX as PROMPT_MAX,
)
from .vocabulary import (
    QUERY_MAX as QUERY_MAX,
)
from .vocabulary import (
    QUESTION_MAX as QUESTION_MAX,
)
from .vocabulary import (
    QUESTION_WAIT_MAX_S as QUESTION_WAIT_MAX_S,
)
from .vocabulary import (
    QUESTIONS_LIMIT_DEFAULT as QUESTIONS_LIMIT_DEFAULT,
)
from .vocabulary import (
    QUESTIONS_LIMIT_MAX as QUESTIONS_LIMIT_MAX,
)
from .vocabulary import (
    RECIPIENTS_MAX as RECIPIENTS_MAX,
)
from .vocabulary import (
    REF_MAX as REF_MAX,
)
from .vocabulary import (
    RESERVATION_PATTERN_MAX as RESERVATION_PATTERN_MAX,
)
from .vocabulary import (
    RESERVATIONS_PER_SESSION_MAX as RESERVATIONS_PER_SESSION_MAX,
)
from .vocabulary import (
    TASKS_PER_BATCH_MAX as TASKS_PER_BATCH_MAX,
)
from .vocabulary import (
    TEXT_MAX as TEXT_MAX,
)
from .vocabulary import (
    TITLE_MAX as TITLE_MAX,
)
from .vocabulary import (
    QuestionStatus as QuestionStatus,
)
from .vocabulary import (
    ReservationEnd as ReservationEnd,
)
from .vocabulary import (
    SessionStatus as SessionStatus,
)
from .vocabulary import (
    TaskPriority as TaskPriority,
)
from .vocabulary import (
    TaskStatus as TaskStatus,
)

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=NAME_MAX)]
Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=TITLE_MAX)]
Text = Annotated[str, StringConstraints(max_length=TEXT_MAX)]
Prompt = Annotated[str, StringConstraints(max_length=PROMPT_MAX)]
WorkingDir = Annotated[str, StringConstraints(max_length=PATH_MAX)]
Agent = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=AGENT_MAX)]
EntityId = Annotated[str, StringConstraints(min_length=1, max_length=ID_MAX)]
# An id the service looks up itself, answering "… not found" for a wrong one.
TaskRef = Annotated[str, StringConstraints(max_length=ID_MAX)]
Label = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=LABEL_MAX)]
Labels = Annotated[list[Label], Field(max_length=LABELS_MAX)]
DependsOn = Annotated[list[EntityId], Field(max_length=DEPS_MAX)]
LeaseSeconds = Annotated[int, Field(ge=LEASE_MIN_S, le=LEASE_MAX_S)]


class _Model(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, use_enum_values=False, frozen=True
    )


class _Input(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")

    def given(self) -> dict[str, Any]:
        """The fields the caller actually sent, by Python name: the basis of PATCH merging."""
        return {name: getattr(self, name) for name in self.model_fields_set}

    @field_validator("*", mode="after")
    @classmethod
    def _no_nul_character(cls, value: Any) -> Any:
        # PostgreSQL cannot store U+0000 in text; refused on every store alike.
        if _holds_nul(value):
            raise ValueError(NUL_REFUSED)
        return value


NUL_REFUSED = "text may not contain the NUL character (\\u0000)"


def _holds_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, list | tuple):
        return any(_holds_nul(item) for item in value)
    return False


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


class MessageRecipient(_Model):
    """One recipient of a message (a session id, or ``humans``) and what it did with it."""

    recipient: str
    read_at: int | None = None
    read_by: str | None = None  # the actor who marked it read (for ``humans``: which person)
    acked_at: int | None = None
    acked_by: str | None = None  # the actor who acknowledged it


class Message(_Model):
    """A message between sessions and people, in a thread. Immutable but for each
    recipient's read and acknowledged state."""

    id: str
    project_id: str
    thread_id: str  # the id of the thread's first message
    reply_to: str | None = None
    from_session_id: str | None = None  # None: a person sent it
    sender: str  # the actor who sent it (a token's name, local/board, …)
    to: list[str]  # the addresses as given
    subject: str = ""
    body: str
    recipients: list[MessageRecipient]
    created_at: int


class Question(_Model):
    """An agent's question for the people, tied to its session (and maybe a task)."""

    id: str
    project_id: str
    session_id: str
    task_id: str | None = None
    text: str
    choices: list[str] = Field(default_factory=list)
    allow_text: bool  # whether an answer may be any text, not only one of the choices
    default: str | None = None  # the answer its deadline applies
    deadline_at: int | None = None
    status: QuestionStatus
    answer: str | None = None
    answered_by: str | None = None  # the actor who answered (the server's, for a default)
    answered_at: int | None = None
    defaulted: bool = False  # the deadline passed and the default answered it
    created_at: int
    updated_at: int
    version: int


class Reservation(_Model):
    """A session's hold on the files a pattern covers (core/globs.py), until its lease
    ends; renewed by the session's heartbeat, released with the session or with the
    claim of the task it was taken with."""

    id: str
    project_id: str
    session_id: str
    task_id: str | None = None
    pattern: str
    exclusive: bool
    created_at: int
    expires_at: int
    lease_seconds: int


Entity = Project | Task | Session | Question


# --- inputs -----------------------------------------------------------------


class ProjectCreate(_Input):
    name: Name
    working_dir: WorkingDir | None = None
    description: Text = ""
    # A name already taken is refused (so a name finds one project) unless asked for.
    allow_duplicate: bool = False


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
    status: TaskStatus = DEFAULT_TASK_STATUS
    priority: TaskPriority = DEFAULT_TASK_PRIORITY
    labels: Labels = Field(default_factory=list)
    depends_on: DependsOn = Field(default_factory=list)


Ref = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=REF_MAX)]


class TaskDraft(_Input):
    """One task of a batch. ``dependsOn`` and ``parentId`` take task ids, or the ``ref``
    of a task earlier in the same batch."""

    ref: Ref | None = None
    parent_id: EntityId | None = None
    title: Title
    description: Text = ""
    prompt: Prompt = ""
    priority: TaskPriority = DEFAULT_TASK_PRIORITY
    labels: Labels = Field(default_factory=list)
    depends_on: DependsOn = Field(default_factory=list)


class TaskBatch(_Input):
    """Several tasks planned at once: created in order, all or none, in one transaction."""

    project_id: EntityId
    tasks: Annotated[list[TaskDraft], Field(min_length=1, max_length=TASKS_PER_BATCH_MAX)]

    @model_validator(mode="after")
    def _bounded(self) -> Self:
        # One call must not multiply itself in the log: the same bound as a REST body.
        size = sum(len(t.title) + len(t.description) + len(t.prompt) for t in self.tasks)
        if size > BATCH_TEXT_MAX:
            raise ValueError(
                f"the batch's titles, descriptions and prompts hold {size:,} characters, more "
                f"than {BATCH_TEXT_MAX:,}: split it into several batches"
            )
        return self


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
    status: SessionStatus = DEFAULT_SESSION_STATUS
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
    # A page after this task (the last one of the previous page), in creation order.
    after: EntityId | None = None


Pattern = Annotated[str, StringConstraints(max_length=RESERVATION_PATTERN_MAX)]
Patterns = Annotated[list[Pattern], Field(max_length=PATTERNS_PER_CALL_MAX)]


class ClaimRequest(_Input):
    session_id: EntityId
    lease_seconds: LeaseSeconds = DEFAULT_LEASE_S
    # Files to reserve with the claim, in the same transaction (released with it).
    paths: Patterns = Field(default_factory=list)
    shared: bool = False


class ClaimNextRequest(_Input):
    count: Annotated[int, Field(ge=1, le=CLAIM_NEXT_MAX)] = 1
    lease_seconds: LeaseSeconds = DEFAULT_LEASE_S
    # Only tasks carrying every one of these labels.
    labels: Labels = Field(default_factory=list)
    parent_id: EntityId | None = None
    # Files to reserve with the claims, in the same transaction (see ClaimRequest).
    paths: Patterns = Field(default_factory=list)
    shared: bool = False


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


class NothingReady(_Model):
    """Why claim-next found no task: counts over the tasks its filter matched."""

    pending: int  # pending and unclaimed
    waiting: int  # of those, waiting on unfinished dependencies
    blockers: list[str]  # the first unfinished tasks they wait on
    claimed: int  # held by other sessions' claims
    message: str  # the same, in a sentence


class ClaimsGranted(_Model):
    """What claim-next gives: the claims, or why there are none."""

    claims: list[ClaimGrant]
    nothing_ready: NothingReady | None = None


class SessionFilter(_Input):
    project_id: EntityId | None = None
    status: SessionStatus | None = None
    task_id: EntityId | None = None
    # true: only sessions that have not ended; false: only those that have.
    active: bool | None = None


class HistoryQuery(_Input):
    """One page of the log read back, newest first: ``limit`` events before seq ``before``
    (none: from the newest on)."""

    limit: Annotated[int, Field(ge=1, le=HISTORY_LIMIT_MAX)] = HISTORY_LIMIT_DEFAULT
    before: Annotated[int, Field(ge=1, le=SEQ_MAX)] | None = None


class ActivityQuery(HistoryQuery):
    """A page of a project's activity: only the events about one session, or about the
    sessions of one agent, if given."""

    session_id: EntityId | None = None
    agent: Agent | None = None


Address = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=ID_MAX + AGENT_MAX)
]
MessageBody = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MESSAGE_MAX)
]


class MessageSend(_Input):
    """A message to send: from a session (an agent) or, without one, from the person
    the request acts as. ``to``: session ids, ``agent:NAME`` (that agent's active
    sessions), ``humans``, or ``project`` (every active session and the humans). A
    reply (``replyTo``) joins that message's thread; without ``to`` it goes to that
    message's sender."""

    project_id: EntityId | None = None  # may be left out when from a session or a reply
    from_session_id: EntityId | None = None
    to: Annotated[list[Address], Field(max_length=ADDRESSES_MAX)] = Field(default_factory=list)
    subject: Annotated[str, StringConstraints(strip_whitespace=True, max_length=TITLE_MAX)] = ""
    body: MessageBody
    reply_to: EntityId | None = None


class MessagesRead(_Input):
    """Mark messages read (and acknowledged, with ``ack``) by one of their recipients: a
    session id, or ``humans``."""

    recipient: Address
    message_ids: Annotated[list[EntityId], Field(min_length=1, max_length=MESSAGES_PER_CALL_MAX)]
    ack: bool = False


MessageIds = Annotated[list[EntityId], Field(max_length=MESSAGES_PER_CALL_MAX)]


class MessageExchange(_Input):
    """What a session does with its messages in one call (MCP ``message``), in this
    order and as one transaction: marks messages it received ``read``, acknowledges
    others (``ack``: read too), and sends one (``send``, from the session)."""

    read: MessageIds = Field(default_factory=list)
    ack: MessageIds = Field(default_factory=list)
    send: MessageSend | None = None


class MessageFilter(_Input):
    project_id: EntityId | None = None
    # Addressed to this recipient (a session id, or ``humans``).
    recipient: Address | None = None
    thread_id: EntityId | None = None
    # Sent by this session.
    from_session_id: EntityId | None = None
    # Only those the recipient has not read (acknowledged) yet; needs ``recipient``.
    unread: bool = False
    unacked: bool = False
    limit: Annotated[int, Field(ge=1, le=MESSAGES_LIMIT_MAX)] = MESSAGES_LIMIT_DEFAULT
    # The newest ``limit`` (still oldest first) instead of the oldest.
    newest: bool = False

    @model_validator(mode="after")
    def _recipient_for_state(self) -> Self:
        if (self.unread or self.unacked) and self.recipient is None:
            raise ValueError("unread and unacked need a recipient: read or acknowledged by whom")
        return self


QuestionText = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=QUESTION_MAX)
]
Choice = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=CHOICE_MAX)
]
AnswerText = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=ANSWER_MAX)
]


class QuestionAsk(_Input):
    """An agent's question for the people. With ``choices``, an answer is one of them
    (or any text too, with ``allowText``); without, any text. After ``timeoutSeconds``
    the ``default`` answers it (a deadline needs a default)."""

    text: QuestionText
    choices: Annotated[list[Choice], Field(max_length=CHOICES_MAX)] = Field(default_factory=list)
    allow_text: bool | None = None  # None: only when there are no choices
    task_id: EntityId | None = None
    timeout_seconds: Annotated[int, Field(ge=1, le=QUESTION_WAIT_MAX_S)] | None = None
    default: AnswerText | None = None

    @model_validator(mode="after")
    def _coherent(self) -> Self:
        if len(set(self.choices)) != len(self.choices):
            raise ValueError("choices must differ from each other")
        if self.allow_text is False and not self.choices:
            raise ValueError("a question without choices takes text: allowText cannot be false")
        if self.timeout_seconds is not None and self.default is None:
            raise ValueError("a question with timeoutSeconds needs a default: the answer then")
        if self.default is not None and not self.accepts(self.default):
            raise ValueError("default must be one of the choices (or allowText must be true)")
        return self

    @property
    def free_text(self) -> bool:
        return self.allow_text if self.allow_text is not None else not self.choices

    def accepts(self, answer: str) -> bool:
        return self.free_text or answer in self.choices


class QuestionAnswer(_Input):
    answer: AnswerText


class QuestionFilter(_Input):
    project_id: EntityId | None = None
    session_id: EntityId | None = None
    status: QuestionStatus | None = None
    limit: Annotated[int, Field(ge=1, le=QUESTIONS_LIMIT_MAX)] = QUESTIONS_LIMIT_DEFAULT
    # The newest ``limit`` (still in the order asked) instead of the oldest.
    newest: bool = False


class ReservationRequest(_Input):
    """Reserve the files ``paths`` cover (core/globs.py) for a session: exclusively (no
    other session may reserve them) or ``shared`` (others may share them, none may take
    them exclusively). A pattern the session holds already is renewed (and changed)."""

    paths: Annotated[list[Pattern], Field(min_length=1, max_length=PATTERNS_PER_CALL_MAX)]
    shared: bool = False
    lease_seconds: LeaseSeconds = DEFAULT_LEASE_S
    # Released when this task's claim ends.
    task_id: EntityId | None = None


class ReservationRelease(_Input):
    """Release a session's reservations of these patterns (as it reserved them); none
    given: all of them."""

    paths: Patterns | None = None


class ReservationFilter(_Input):
    project_id: EntityId | None = None
    session_id: EntityId | None = None


PathName = Annotated[str, StringConstraints(min_length=1, max_length=PATH_MAX)]


class PathCheck(_Input):
    """Which of ``paths`` (files of the repository, relative to its root) other sessions
    hold: what the pre-commit guard asks. ``sessionId``: the asker's own session, whose
    reservations are no conflict."""

    paths: Annotated[list[PathName], Field(max_length=LIST_LIMIT_MAX)]
    session_id: EntityId | None = None


class SessionReport(_Input):
    """What an agent reports on its session in one call (MCP ``update_session``):
    applied in this order, as one transaction, then a heartbeat (which renews its
    claims and file reservations), then the answers to its questions are delivered."""

    status: SessionStatus | None = None
    name: Name | None = None
    # Checked by the service, with the messages a note or a task id gets anywhere else
    # ("a note is 1 to … characters", "task … not found").
    note: Annotated[str, StringConstraints(max_length=NOTE_MAX)] | None = None
    add_tasks: Annotated[list[TaskRef], Field(max_length=LINKS_PER_CALL_MAX)] = Field(
        default_factory=list
    )
    remove_tasks: Annotated[list[TaskRef], Field(max_length=LINKS_PER_CALL_MAX)] = Field(
        default_factory=list
    )
    # A question for the people: the session waits (needs_input) for its answer.
    ask: QuestionAsk | None = None
    # Files to reserve (exclusively, or ``shared``) and reservations to release.
    reserve: Patterns = Field(default_factory=list)
    shared: bool = False
    release: Patterns = Field(default_factory=list)

    def patch(self) -> SessionPatch:
        given = {"status": self.status, "name": self.name}
        return SessionPatch(**{k: v for k, v in given.items() if v is not None})


# --- results that faces share -------------------------------------------------


class Heartbeat(_Model):
    """A session after its heartbeat, and the tasks whose claims it renewed."""

    session: Session
    renewed: list[Task]


class SessionReported(_Model):
    """A session after its report, with the answers to its questions not delivered to it
    before (each is delivered once), how many messages it has not read, and the question
    it asked (its id is what a person's answer names)."""

    session: Session
    answers: list[Question]
    unread: int
    asked: Question | None = None  # the question this report asked, if it asked one


class MessagesExchanged(_Model):
    """What a session's ``MessageExchange`` did: the message it sent, if any, and the
    ids of the messages it marked (read or acknowledged), as asked."""

    sent: Message | None = None
    marked: list[str]


class PathConflict(_Model):
    """A file that another session holds: the path and the reservations covering it."""

    path: str
    held_by: list[Reservation]


class PathCheckResult(_Model):
    conflicts: list[PathConflict]  # held exclusively by others: a commit must not touch them
    shared: list[PathConflict]  # held shared by others: touching them is allowed, but said


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
    note: str | None = None  # something about `since` the caller should know


# --- named tokens (core/access.py) -------------------------------------------------


class TokenCreate(_Input):
    name: Annotated[
        str,
        StringConstraints(min_length=1, max_length=TOKEN_NAME_MAX, pattern=TOKEN_NAME_PATTERN),
    ]
    scope: Scope

    @field_validator("name")
    @classmethod
    def _not_reserved(cls, name: str) -> str:
        if name.lower() in RESERVED_NAMES:
            raise ValueError(f"{name!r} is reserved: it names the server's own actors")
        return name


class TokenInfo(_Model):
    """A named token as anyone may see it: never its secret."""

    name: str
    scope: Scope
    created_at: int
    created_by: str


class Caller(_Model):
    """Who a request acts as (``GET /api/me``): its principal's name and what it may
    do, and the actor its changes carry (the name, and the client's if the request
    gave one: ``local/board``)."""

    name: str
    scope: Scope
    actor: str


class NewToken(TokenInfo):
    """A token just made: the only time its secret is shown."""

    secret: str
