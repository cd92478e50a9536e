"""Questions: an agent asks the people something and waits for the answer.

The rules (docs/protocol.md, "Questions"):
- A question belongs to the session that asks it (and may name one of its project's
  tasks). Asking puts the session in ``needs_input``; the board shows the question.
- With ``choices``, an answer is one of them, or any text if ``allowText``; without
  choices, any text. The first answer wins: a question answered (or cancelled) is
  answered again with ``already_answered``.
- A question may have a deadline (``timeoutSeconds``) and must then have a default:
  when the deadline passes the server answers it with its default (``defaulted``).
- When the session's last open question is answered and the session still waits
  (``needs_input``), it goes back to ``working``.
- An ended session's open questions are cancelled; a deleted session's go with it.
- The answer reaches the agent three ways: the ``question:answered`` event (every
  feed, and MCP's change notifications of its session), and once in the result of its
  next report (``undelivered_answers``: delivered once, then marked).
"""

from ..errors import AlreadyAnswered, InvalidInput, NotFound
from ..events import EventType
from ..ids import QUESTION_PREFIX, new_id
from ..models import (
    OPEN_QUESTIONS_MAX,
    Question,
    QuestionAnswer,
    QuestionAsk,
    QuestionFilter,
    QuestionStatus,
    SessionStatus,
)
from ..storage import Rows
from . import updates
from .rules import (
    check_version,
    require_active_session,
    require_same_project,
    require_task,
    touched_session,
)
from .transaction import Write

# Who answered a question whose deadline passed: not a person.
DEADLINE = "deadline"


def ask(w: Write, session_id: str, data: QuestionAsk) -> Question:
    """Events: ``question:asked``, then ``session:updated`` if the session was not in
    ``needs_input`` already."""
    session = require_active_session(w.rows, session_id, "ask")
    if data.task_id is not None:
        require_same_project(require_task(w.rows, data.task_id), session.project_id)
    open_ones = w.rows.list_questions(
        QuestionFilter(session_id=session_id, status=QuestionStatus.OPEN, limit=OPEN_QUESTIONS_MAX)
    )
    if len(open_ones) >= OPEN_QUESTIONS_MAX:
        raise InvalidInput(
            f"session {session_id} has {OPEN_QUESTIONS_MAX} questions waiting for an answer "
            "already: wait for those (or ask fewer, with choices)",
            {"field": "ask"},
        )
    question = Question(
        id=new_id(QUESTION_PREFIX),
        project_id=session.project_id,
        session_id=session_id,
        task_id=data.task_id,
        text=data.text,
        choices=data.choices,
        allow_text=data.free_text,
        default=data.default,
        deadline_at=(
            w.now + data.timeout_seconds * 1000 if data.timeout_seconds is not None else None
        ),
        status=QuestionStatus.OPEN,
        created_at=w.now,
        updated_at=w.now,
        version=1,
    )
    w.rows.save_question(question)
    w.emit(EventType.QUESTION_ASKED, question.project_id, question)
    if session.status is not SessionStatus.NEEDS_INPUT:
        waiting = touched_session(
            session.model_copy(update={"status": SessionStatus.NEEDS_INPUT}), w.now
        )
        w.rows.save_session(waiting)
        updates.emit_updated(w, waiting, session)
    return question


def answer(
    w: Write, question_id: str, data: QuestionAnswer, expected_version: int | None = None
) -> Question:
    """A person answers. Events: ``question:answered``, then ``session:updated`` if the
    session goes back to ``working``."""
    question = require_question(w.rows, question_id)
    check_version(question, expected_version)
    _require_open(question)
    if not (question.allow_text or data.answer in question.choices):
        raise InvalidInput(
            f"answer one of: {', '.join(question.choices)}",
            {"field": "answer", "choices": question.choices},
        )
    return _answered(w, question, data.answer, w.actor, defaulted=False)


def expire(w: Write, question_ids: list[str]) -> list[str]:
    """Answer with their defaults these questions whose deadline passed (each checked
    again here: someone may have answered it since). Returns those it answered."""
    done = []
    for question_id in question_ids:
        question = w.rows.get_question(question_id)
        if (
            question is None
            or question.status is not QuestionStatus.OPEN
            or question.deadline_at is None
            or question.deadline_at > w.now
            or question.default is None
        ):
            continue
        _answered(w, question, question.default, DEADLINE, defaulted=True)
        done.append(question_id)
    return done


def cancel_open_of(w: Write, session_id: str) -> None:
    """The session ended (or is being deleted): its open questions will not be answered.
    Events: ``question:cancelled`` per question."""
    for question in w.rows.list_questions(
        QuestionFilter(session_id=session_id, status=QuestionStatus.OPEN)
    ):
        cancelled = _changed(question, w.now, status=QuestionStatus.CANCELLED)
        w.rows.save_question(cancelled)
        w.emit(EventType.QUESTION_CANCELLED, cancelled.project_id, cancelled)


def deliver(w: Write, session_id: str) -> list[Question]:
    """The answers the session has not been given yet, given now (once)."""
    answers = w.rows.undelivered_answers(session_id)
    if answers:
        w.rows.mark_delivered([q.id for q in answers], w.now)
    return answers


def require_question(rows: Rows, question_id: str) -> Question:
    question = rows.get_question(question_id)
    if question is None:
        raise NotFound(f"question {question_id} not found", {"id": question_id})
    return question


def _require_open(question: Question) -> None:
    if question.status is QuestionStatus.OPEN:
        return
    if question.status is QuestionStatus.CANCELLED:
        raise AlreadyAnswered(
            f"question {question.id} was cancelled: its session ended",
            {"question": question.model_dump(mode="json", by_alias=True)},
        )
    by = "its default (the deadline passed)" if question.defaulted else question.answered_by
    raise AlreadyAnswered(
        f"question {question.id} was answered already by {by}: {question.answer!r}",
        {"question": question.model_dump(mode="json", by_alias=True)},
    )


def _answered(w: Write, question: Question, text: str, by: str, *, defaulted: bool) -> Question:
    answered = _changed(
        question,
        w.now,
        status=QuestionStatus.ANSWERED,
        answer=text,
        answered_by=by,
        answered_at=w.now,
        defaulted=defaulted,
    )
    w.rows.save_question(answered)
    w.emit(EventType.QUESTION_ANSWERED, answered.project_id, answered)
    session = w.rows.get_session(answered.session_id)
    still_open = w.rows.list_questions(
        QuestionFilter(session_id=answered.session_id, status=QuestionStatus.OPEN, limit=1)
    )
    if session is not None and session.status is SessionStatus.NEEDS_INPUT and not still_open:
        working = touched_session(
            session.model_copy(update={"status": SessionStatus.WORKING}), w.now
        )
        w.rows.save_session(working)
        updates.emit_updated(w, working, session)
    return answered


def _changed(question: Question, now: int, **fields: object) -> Question:
    return question.model_copy(
        update={**fields, "updated_at": now, "version": question.version + 1}
    )
