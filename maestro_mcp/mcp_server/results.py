"""What tools return: small, typed shapes that always say which project was touched.

Texts an agent did not write itself (a message's body, a question asked earlier) may be
long: a result shows them cut at a bound and marked ``cut`` (render.shortened), and
``get`` gives them whole.
"""

from typing import Any

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

from maestro_mcp.core.models import (
    Message,
    NothingReady,
    Project,
    Question,
    Reservation,
    Session,
    SessionNote,
    SessionStatus,
    Task,
    TaskPriority,
    TaskStatus,
)

from .render import shortened

# A tool's inbox: the oldest unread messages, at most so many, each body cut at so many
# characters (``get`` reads a message whole; marking some read shows the next ones).
INBOX_SHOWN = 10
BODY_SHOWN = 2000
# An answered question's text, as the answer's result recalls it (the agent asked it).
QUESTION_SHOWN = 200


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


class Held(_Out):
    """A file reservation of the caller's session: the pattern, until when, and whether
    others may share it or it goes with a task's claim."""

    pattern: str
    shared: bool | None = None  # true, or left out: exclusive
    task_id: str | None = None
    expires_at: int

    @classmethod
    def of(cls, reservation: Reservation) -> "Held":
        return cls(
            pattern=reservation.pattern,
            shared=None if reservation.exclusive else True,
            task_id=reservation.task_id,
            expires_at=reservation.expires_at,
        )


class Answer(_Out):
    """The answer to one of the session's questions, as its next report delivers it."""

    id: str
    question: str
    cut: bool | None = None  # the question's text is cut (QUESTION_SHOWN); get has it whole
    task_id: str | None = None
    answer: str | None
    answered_by: str | None
    defaulted: bool | None = None  # true: nobody answered, the deadline's default did

    @classmethod
    def of(cls, question: Question) -> "Answer":
        text, cut = shortened(question.text, QUESTION_SHOWN)
        return cls(
            id=question.id,
            question=text,
            cut=cut or None,
            task_id=question.task_id,
            answer=question.answer,
            answered_by=question.answered_by,
            defaulted=question.defaulted or None,
        )


class InboxMessage(_Out):
    """A message as its recipient reads it: who sent it, to whom, in which thread; not
    the recipients' states (a message to the project has one per session)."""

    id: str
    thread_id: str
    reply_to: str | None
    from_session_id: str | None  # none: a person sent it
    sender: str
    to: list[str]
    subject: str
    body: str
    cut: bool | None = None  # the body is cut; get gives it whole
    created_at: int

    @classmethod
    def of(cls, message: Message, body_shown: int | None = None) -> "InboxMessage":
        body, cut = (message.body, False)
        if body_shown is not None:
            body, cut = shortened(message.body, body_shown)
        return cls(
            id=message.id,
            thread_id=message.thread_id,
            reply_to=message.reply_to,
            from_session_id=message.from_session_id,
            sender=message.sender,
            to=message.to,
            subject=message.subject,
            body=body,
            cut=cut or None,
            created_at=message.created_at,
        )


class SentMessage(_Out):
    """What a message just sent became: its id, its thread, whom its addresses reached."""

    id: str
    thread_id: str
    recipients: list[str]

    @classmethod
    def of(cls, message: Message) -> "SentMessage":
        return cls(
            id=message.id,
            thread_id=message.thread_id,
            recipients=[r.recipient for r in message.recipients],
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
    # Answers to the session's questions it had not been given yet (given now, once).
    answers: list[Answer] = []
    unread: int | None = None  # messages it has not marked read, when there are
    asked: str | None = None  # the id of the question this call asked
    # The session's file reservations, when the call reserved or released some.
    reserved: list[Held] = []
    seq: int


class ItemResult(_Out):
    # One item by id: a task, a session, a message or a question (list_projects has the
    # projects), whole.

    project: ProjectRef
    task: Task | None = None
    session: Session | None = None
    notes: list[SessionNote] = []
    message: Message | None = None
    question: Question | None = None
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
    reserved: list[Held] = []  # the session's file reservations, when the claim took paths
    seq: int


class MessageResult(_Out):
    # The session's unread inbox after the call, oldest first (at most INBOX_SHOWN, bodies
    # cut at BODY_SHOWN), and how many it has unread in all.
    project: ProjectRef
    sent: SentMessage | None = None
    inbox: list[InboxMessage]
    unread: int
    seq: int


class ChangesResult(_Out):
    project: ProjectRef | None  # the filter, if any
    events: list[dict[str, Any]]
    next_since: int
    head: int
    expired: bool
    note: str | None = None
