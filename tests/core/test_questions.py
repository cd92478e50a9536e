"""Agents' questions for the people, on the service layer: the session waits, the first
answer wins, a deadline applies the default, the answer is delivered once."""

import pytest
from pydantic import ValidationError

from maestro_mcp.core.access import acting
from maestro_mcp.core.errors import AlreadyAnswered, InvalidInput, NotFound
from maestro_mcp.core.models import (
    ProjectCreate,
    QuestionAnswer,
    QuestionAsk,
    QuestionFilter,
    QuestionStatus,
    SessionPatch,
    SessionReport,
    SessionStatus,
)
from maestro_mcp.core.service import Service
from maestro_mcp.core.vocabulary import OPEN_QUESTIONS_MAX
from tests.support.core import Clock, log_after, new_session, new_task

# Every test here runs on a clock it moves itself (leases and deadlines are about time).
pytestmark = pytest.mark.usefixtures("clock")


def test_asking_puts_the_session_in_needs_input_and_an_answer_back_to_work(
    service: Service, project_id: str
) -> None:
    task = new_task(service, project_id)
    agent = new_session(service, project_id, task.id)
    service.update_session(agent.id, SessionPatch(status=SessionStatus.WORKING))
    head = service.head()
    asked = service.ask(
        agent.id,
        QuestionAsk(text="Migrate now?", choices=["approve", "reject"], task_id=task.id),
    ).value
    assert asked.status is QuestionStatus.OPEN
    assert asked.allow_text is False  # choices only
    events = log_after(service, head)
    assert [e["event"] for e in events] == ["question:asked", "session:updated"]
    assert events[1]["data"]["status"] == "needs_input"
    assert service.get_session(agent.id).value.status is SessionStatus.NEEDS_INPUT

    with pytest.raises(InvalidInput, match="answer one of: approve, reject"):
        service.answer(asked.id, QuestionAnswer(answer="maybe"))
    head = service.head()
    answered = acting(
        "alice/board", lambda: service.answer(asked.id, QuestionAnswer(answer="approve"))
    )
    assert answered.value.answer == "approve"
    assert answered.value.answered_by == "alice/board"
    events = log_after(service, head)
    assert [e["event"] for e in events] == ["question:answered", "session:updated"]
    assert events[0]["data"]["taskId"] == task.id
    assert events[1]["data"]["status"] == "working"
    # The first answer wins.
    with pytest.raises(AlreadyAnswered, match="answered already by alice/board"):
        service.answer(asked.id, QuestionAnswer(answer="reject"))


def test_the_session_waits_while_any_question_is_open(service: Service, project_id: str) -> None:
    agent = new_session(service, project_id)
    first = service.ask(agent.id, QuestionAsk(text="One?")).value
    second = service.ask(agent.id, QuestionAsk(text="Two?")).value
    assert first.allow_text
    assert not first.choices
    service.answer(first.id, QuestionAnswer(answer="yes"))
    assert service.get_session(agent.id).value.status is SessionStatus.NEEDS_INPUT
    service.answer(second.id, QuestionAnswer(answer="also yes"))
    assert service.get_session(agent.id).value.status is SessionStatus.WORKING


def test_an_answer_is_delivered_once_in_the_next_report(service: Service, project_id: str) -> None:
    agent = new_session(service, project_id)
    report = SessionReport(ask=QuestionAsk(text="Which DB?", choices=["pg", "sqlite"]))
    asked = service.report(agent.id, report).value
    assert asked.session.status is SessionStatus.NEEDS_INPUT
    assert asked.answers == []
    [question] = service.list_questions(QuestionFilter(session_id=agent.id)).value
    service.answer(question.id, QuestionAnswer(answer="pg"))
    first = service.report(agent.id, SessionReport(note="checking")).value
    assert [(q.id, q.answer) for q in first.answers] == [(question.id, "pg")]
    assert first.session.status is SessionStatus.WORKING
    again = service.report(agent.id, SessionReport()).value
    assert again.answers == []


def test_a_deadline_applies_the_default(service: Service, project_id: str, clock: Clock) -> None:
    agent = new_session(service, project_id)
    asked = service.ask(
        agent.id,
        QuestionAsk(text="Deploy?", choices=["yes", "no"], timeout_seconds=60, default="no"),
    ).value
    assert asked.deadline_at == clock.now + 60_000
    clock.now += 59_999
    assert service.overdue().value.questions == []
    assert service.expire_questions().value == []
    clock.now += 1
    assert service.overdue().value.questions == [asked.id]
    head = service.head()
    assert service.expire_questions().value == [asked.id]
    events = log_after(service, head)
    assert [e["event"] for e in events] == ["question:answered", "session:updated"]
    done = service.get_question(asked.id).value
    assert (done.answer, done.defaulted, done.answered_by) == ("no", True, "deadline")
    with pytest.raises(AlreadyAnswered, match="its default"):
        service.answer(asked.id, QuestionAnswer(answer="yes"))


def test_an_ended_session_cancels_its_open_questions_and_asks_no_more(
    service: Service, project_id: str
) -> None:
    agent = new_session(service, project_id)
    asked = service.ask(agent.id, QuestionAsk(text="?")).value
    head = service.head()
    service.update_session(agent.id, SessionPatch(status=SessionStatus.STOPPED))
    assert "question:cancelled" in [e["event"] for e in log_after(service, head)]
    assert service.get_question(asked.id).value.status is QuestionStatus.CANCELLED
    with pytest.raises(AlreadyAnswered, match="cancelled"):
        service.answer(asked.id, QuestionAnswer(answer="late"))
    with pytest.raises(InvalidInput, match="has ended"):
        service.ask(agent.id, QuestionAsk(text="again?"))


def test_a_deleted_session_takes_its_questions(service: Service, project_id: str) -> None:
    agent = new_session(service, project_id)
    asked = service.ask(agent.id, QuestionAsk(text="?")).value
    head = service.head()
    service.delete_session(agent.id)
    kinds = [e["event"] for e in log_after(service, head)]
    assert kinds[:2] == ["question:cancelled", "session:deleted"]
    with pytest.raises(NotFound):
        service.get_question(asked.id)


def test_a_question_is_coherent_or_refused() -> None:
    with pytest.raises(ValidationError, match="needs a default"):
        QuestionAsk(text="?", timeout_seconds=10)
    with pytest.raises(ValidationError, match="default must be one of the choices"):
        QuestionAsk(text="?", choices=["a"], default="b", timeout_seconds=10)
    with pytest.raises(ValidationError, match="differ"):
        QuestionAsk(text="?", choices=["a", "a"])
    with pytest.raises(ValidationError, match="allowText cannot be false"):
        QuestionAsk(text="?", allow_text=False)
    free = QuestionAsk(
        text="?", choices=["a"], allow_text=True, default="anything", timeout_seconds=1
    )
    assert free.accepts("anything")


def test_a_question_about_another_projects_task_is_refused(
    service: Service, project_id: str
) -> None:
    other = service.create_project(ProjectCreate(name="Other")).value
    task = new_task(service, other.id)
    agent = new_session(service, project_id)
    with pytest.raises(InvalidInput, match="belongs to project"):
        service.ask(agent.id, QuestionAsk(text="?", task_id=task.id))


def test_the_newest_questions_are_read_without_the_older(service: Service, project_id: str) -> None:
    agent = new_session(service, project_id)
    asked = [service.ask(agent.id, QuestionAsk(text=f"{n}?")).value.id for n in range(5)]
    where = QuestionFilter(session_id=agent.id, limit=2, newest=True)
    assert [q.id for q in service.list_questions(where).value] == asked[3:]
    oldest = QuestionFilter(session_id=agent.id, limit=2)
    assert [q.id for q in service.list_questions(oldest).value] == asked[:2]


def test_a_question_keeps_the_id_of_its_deleted_task(service: Service, project_id: str) -> None:
    """No row changes without its event: deleting the task leaves the question as it was."""
    task = new_task(service, project_id)
    agent = new_session(service, project_id)
    asked = service.ask(agent.id, QuestionAsk(text="?", task_id=task.id)).value
    service.delete_task(task.id)
    assert service.get_question(asked.id).value == asked


def test_a_session_has_a_bounded_number_of_questions_waiting(
    service: Service, project_id: str
) -> None:
    agent = new_session(service, project_id)
    first = [
        service.ask(agent.id, QuestionAsk(text=f"{n}?")).value for n in range(OPEN_QUESTIONS_MAX)
    ]
    with pytest.raises(InvalidInput, match="waiting for an answer already"):
        service.ask(agent.id, QuestionAsk(text="one more?"))
    service.answer(first[0].id, QuestionAnswer(answer="ok"))
    service.ask(agent.id, QuestionAsk(text="one more?"))
