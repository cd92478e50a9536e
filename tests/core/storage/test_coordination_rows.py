"""Messages, questions and file reservations as each store keeps them
(sqlite/coordination_rows.py, postgres/coordination_rows.py): the same answers, in the
same order, from either — what the storage contract says (docs/storage.md, "Rows").
The service makes the rows; the store's ``Rows`` read them back."""

import pytest

from maestro_mcp.core.errors import MaestroError
from maestro_mcp.core.models import (
    HUMANS,
    ClaimRequest,
    MessageFilter,
    MessageRecipient,
    MessageSend,
    MessagesRead,
    ProjectCreate,
    QuestionAnswer,
    QuestionAsk,
    QuestionFilter,
    QuestionStatus,
    ReservationRequest,
    Session,
    SessionCreate,
)
from maestro_mcp.core.service import Service
from maestro_mcp.core.storage import Store
from tests.support.core import new_task
from tests.support.stores import POSTGRESQL


def agents(service: Service, project_id: str, count: int) -> list[Session]:
    return [
        service.create_session(
            SessionCreate(project_id=project_id, name=f"agent {n}", agent="claude-code")
        ).value
        for n in range(count)
    ]


@pytest.fixture
def project_id(service: Service) -> str:
    return service.create_project(ProjectCreate(name="Shop")).value.id


# --- messages ----------------------------------------------------------------------------------


def test_a_message_reads_back_with_its_recipients_in_the_order_named(
    service: Service, db: Store, project_id: str
) -> None:
    a, b, c = agents(service, project_id, 3)
    sent = service.send_message(
        MessageSend(from_session_id=a.id, to=[c.id, HUMANS, b.id], subject="API", body="v2 — é")
    ).value
    with db.read() as rows:
        assert rows.get_message(sent.id) == sent
        assert rows.get_message("msg_none") is None
    [read] = service.mark_read(
        MessagesRead(recipient=HUMANS, message_ids=[sent.id], ack=True)
    ).value
    with db.read() as rows:
        found = rows.get_message(sent.id)
    assert found == read
    assert [r.recipient for r in found.recipients] == [c.id, HUMANS, b.id]
    humans = found.recipients[1]
    assert humans.read_at is not None
    assert humans.acked_at == humans.read_at
    assert humans.read_by == read.sender  # the same actor, here
    assert found.recipients[0] == MessageRecipient(recipient=c.id)


def test_lists_of_messages_go_oldest_first_the_oldest_or_the_newest_limit(
    service: Service, db: Store, project_id: str
) -> None:
    a, b = agents(service, project_id, 2)
    sent = [
        service.send_message(MessageSend(from_session_id=a.id, to=[b.id], body=f"{n}")).value.id
        for n in range(5)
    ]
    answer = service.send_message(MessageSend(from_session_id=b.id, reply_to=sent[1], body="ok"))
    thread = [sent[1], answer.value.id]

    def ids(**where: object) -> list[str]:
        with db.read() as rows:
            return [m.id for m in rows.list_messages(MessageFilter.model_validate(where))]

    assert ids(project_id=project_id) == [*sent, answer.value.id]
    assert ids(project_id=project_id, limit=2) == sent[:2]
    assert ids(project_id=project_id, limit=2, newest=True) == [sent[4], answer.value.id]
    assert ids(thread_id=sent[1]) == thread
    assert ids(from_session_id=a.id, newest=True, limit=3) == sent[2:]
    assert ids(recipient=b.id) == sent
    assert ids(recipient=a.id) == [answer.value.id]
    assert ids(recipient=HUMANS) == []
    assert ids(project_id="proj_other") == []


def test_an_inbox_keeps_what_its_recipient_has_not_read_or_acknowledged(
    service: Service, db: Store, project_id: str
) -> None:
    a, b, c = agents(service, project_id, 3)
    sent = [
        service.send_message(
            MessageSend(from_session_id=a.id, to=["project"], body=f"{n}")
        ).value.id
        for n in range(4)
    ]
    service.mark_read(MessagesRead(recipient=b.id, message_ids=[sent[0], sent[2]]))
    service.mark_read(MessagesRead(recipient=b.id, message_ids=[sent[3]], ack=True))
    service.mark_read(MessagesRead(recipient=HUMANS, message_ids=[sent[1]], ack=True))

    def inbox(recipient: str, **state: bool) -> list[str]:
        with db.read() as rows:
            found = rows.list_messages(MessageFilter(recipient=recipient, **state))
        return [m.id for m in found]

    assert inbox(b.id, unread=True) == [sent[1]]
    assert inbox(b.id, unacked=True) == sent[:3]
    assert inbox(c.id, unread=True) == sent  # another recipient's reading is not its own
    assert inbox(HUMANS, unread=True, unacked=True) == [sent[0], sent[2], sent[3]]
    assert inbox(a.id, unread=True) == []  # the sender is no recipient
    with db.read() as rows:
        assert rows.list_messages(MessageFilter(recipient=b.id, unread=True, newest=True)) == (
            rows.list_messages(MessageFilter(recipient=b.id, unread=True))
        )
        assert [rows.unread_count(s) for s in (a.id, b.id, c.id, HUMANS)] == [0, 1, 4, 3]


def test_messages_outlive_their_sender_and_go_with_their_project(
    service: Service, db: Store, project_id: str
) -> None:
    a, b = agents(service, project_id, 2)
    sent = service.send_message(MessageSend(from_session_id=a.id, to=[b.id], body="bye")).value
    service.delete_session(a.id)
    service.delete_session(b.id)
    with db.read() as rows:
        assert rows.get_message(sent.id) == sent  # its recipients' state too
        assert rows.unread_count(b.id) == 1
    service.delete_project(project_id)
    with db.read() as rows:
        assert rows.get_message(sent.id) is None
        assert rows.table_size("message_recipients") == 0


# --- questions ---------------------------------------------------------------------------------


def test_questions_list_in_the_order_asked_and_fall_due_by_their_deadlines(
    service: Service, db: Store, project_id: str
) -> None:
    a, b = agents(service, project_id, 2)
    task = new_task(service, project_id, "Ship")
    late = service.ask(
        a.id, QuestionAsk(text="Ship?", choices=["yes", "no"], timeout_seconds=200, default="no")
    ).value
    free = service.ask(b.id, QuestionAsk(text="Which branch?", task_id=task.id)).value
    soon = service.ask(
        b.id,
        QuestionAsk(
            text="Tag it?", choices=["v1", "v2"], allow_text=True, timeout_seconds=10, default="v9"
        ),
    ).value
    with db.read() as rows:
        assert rows.get_question(soon.id) == soon
        assert rows.get_question("ques_none") is None
        listed = rows.list_questions(QuestionFilter(project_id=project_id))
        assert listed == [late, free, soon]
        assert rows.list_questions(QuestionFilter(session_id=b.id, limit=1)) == [free]
        assert rows.due_questions(soon.created_at + 9_999) == []
        assert rows.due_questions(soon.created_at + 10_000) == [soon.id]
        assert rows.due_questions(late.created_at + 200_000) == [soon.id, late.id]
    answered = service.answer(free.id, QuestionAnswer(answer="main")).value
    with db.read() as rows:
        status = QuestionFilter(project_id=project_id, status=QuestionStatus.ANSWERED)
        assert rows.list_questions(status) == [answered]
        assert answered.answered_by is not None
        assert not answered.defaulted
    service.delete_task(task.id)
    with db.read() as rows:
        kept = rows.get_question(free.id)
    assert kept == answered  # what it was about, kept: no row changes without its event


def test_an_answer_is_delivered_once_and_questions_go_with_their_session(
    service: Service, db: Store, project_id: str
) -> None:
    (a,) = agents(service, project_id, 1)
    first = service.ask(a.id, QuestionAsk(text="One?")).value
    second = service.ask(a.id, QuestionAsk(text="Two?")).value
    service.answer(second.id, QuestionAnswer(answer="2"))
    service.answer(first.id, QuestionAnswer(answer="1"))
    with db.write() as rows:
        undelivered = rows.undelivered_answers(a.id)
        assert [q.id for q in undelivered] == [first.id, second.id]  # in the order asked
        rows.mark_delivered([first.id], undelivered[0].updated_at)
    with db.read() as rows:
        assert [q.id for q in rows.undelivered_answers(a.id)] == [second.id]
    service.delete_session(a.id)
    with db.read() as rows:
        assert rows.get_question(first.id) is None
        assert rows.list_questions(QuestionFilter(project_id=project_id)) == []


# --- file reservations -------------------------------------------------------------------------


def test_reservations_list_in_the_order_made_and_run_out_by_their_leases(
    service: Service, db: Store, project_id: str
) -> None:
    a, b = agents(service, project_id, 2)
    task = new_task(service, project_id, "Docs")
    long = service.reserve(a.id, ReservationRequest(paths=["src/**"], lease_seconds=100)).value
    short = service.reserve(
        b.id, ReservationRequest(paths=["docs/", "README.md"], shared=True, lease_seconds=10)
    ).value
    service.claim_task(task.id, ClaimRequest(session_id=b.id, lease_seconds=300))
    tied = service.reserve(b.id, ReservationRequest(paths=["site/"], task_id=task.id)).value
    made = long + short + tied
    with db.read() as rows:
        assert rows.get_reservation(made[1].id) == made[1]
        assert rows.get_reservation("resv_none") is None
        assert rows.list_reservations(project_id=project_id) == made
        assert rows.list_reservations(session_id=b.id) == made[1:]
        assert rows.list_reservations(task_id=task.id) == tied
        assert rows.list_reservations(project_id=project_id, session_id=a.id) == long
        assert [r.exclusive for r in made] == [True, False, False, True]
        start = made[0].expires_at - 100_000
        assert rows.expired_reservations(start + 9_999) == []
        assert rows.expired_reservations(made[1].expires_at) == short
        assert rows.expired_reservations(made[0].expires_at) == short + long
    renewed = service.reserve(b.id, ReservationRequest(paths=["docs/"], lease_seconds=50)).value
    with db.read() as rows:
        # A session holds a pattern once: reserving it again changed it in place.
        assert rows.list_reservations(session_id=b.id) == [renewed[0], made[2], made[3]]
        assert renewed[0].id == made[1].id
        assert renewed[0].exclusive
    with db.write() as rows:
        rows.delete_reservations([made[0].id, made[2].id])
    with db.read() as rows:
        assert rows.list_reservations(project_id=project_id) == [renewed[0], made[3]]
    service.delete_session(b.id)
    with db.read() as rows:
        assert rows.list_reservations(project_id=project_id) == []


# --- what every store refuses alike ------------------------------------------------------------


def test_an_id_holding_a_nul_is_refused_as_a_client_s_mistake(
    service: Service, store_kind: str
) -> None:
    """PostgreSQL cannot store U+0000: an id read from a URL that holds one is refused
    as invalid input there (SQLite finds nothing): a 4xx either way, never a 5xx."""
    wanted = "validation_error" if store_kind == POSTGRESQL else "not_found"
    for read in (
        lambda: service.get_message("msg_\x00"),
        lambda: service.get_question("ques_\x00"),
        lambda: service.answer("ques_\x00", QuestionAnswer(answer="yes")),
        lambda: service.release_reservation("resv_\x00"),
    ):
        with pytest.raises(MaestroError) as refused:
            read()
        assert refused.value.code == wanted
