"""Messages between sessions and people, on the service layer: addresses, threads, each
recipient's read and acknowledged state, and the events."""

import pytest
from pydantic import ValidationError

from maestro_mcp.core.access import acting
from maestro_mcp.core.errors import InvalidInput, NotFound
from maestro_mcp.core.models import (
    HUMANS,
    MESSAGE_MAX,
    MessageExchange,
    MessageFilter,
    MessageSend,
    MessagesRead,
    ProjectCreate,
    SessionCreate,
    SessionPatch,
    SessionStatus,
)
from maestro_mcp.core.service import Service
from tests.support.core import log_after


def session(service: Service, project_id: str, name: str, agent: str | None = None) -> str:
    data = SessionCreate(project_id=project_id, name=name, agent=agent)
    return service.create_session(data).value.id


def test_a_message_to_a_session_is_in_its_inbox_until_it_reads_it(
    service: Service, project_id: str
) -> None:
    codex = session(service, project_id, "api", "codex")
    claude = session(service, project_id, "web", "claude-code")
    head = service.head()
    sent = service.send_message(
        MessageSend(from_session_id=codex, to=[claude], subject="API", body="`/v2` is live")
    )
    message = sent.value
    assert message.project_id == project_id  # the sender's project
    assert message.thread_id == message.id  # it starts a thread
    assert message.from_session_id == codex
    assert [r.recipient for r in message.recipients] == [claude]
    [event] = log_after(service, head)
    assert event["event"] == "message:sent"
    assert event["data"]["body"] == "`/v2` is live"
    assert event["seq"] == sent.seq

    inbox = MessageFilter(recipient=claude, unread=True)
    assert [m.id for m in service.list_messages(inbox).value] == [message.id]
    # Reading the inbox changed nothing: it is still unread.
    assert service.unread_count(claude).value == 1
    assert service.list_messages(inbox).value[0].recipients[0].read_at is None

    head = service.head()
    service.mark_read(MessagesRead(recipient=claude, message_ids=[message.id]))
    [read] = log_after(service, head)
    assert read["event"] == "message:read"
    assert read["data"]["recipient"] == claude
    assert read["data"]["sessionId"] == claude  # about the session that read it
    assert read["data"]["ackedAt"] is None
    assert service.list_messages(inbox).value == []
    assert service.unread_count(claude).value == 0
    # Acknowledged later; marking again changes nothing more.
    service.mark_read(MessagesRead(recipient=claude, message_ids=[message.id], ack=True))
    head = service.head()
    service.mark_read(MessagesRead(recipient=claude, message_ids=[message.id], ack=True))
    assert log_after(service, head) == []
    state = service.get_message(message.id).value.recipients[0]
    assert state.read_at is not None
    assert state.acked_at is not None


def test_addresses_expand_to_the_active_sessions_they_name_once(
    service: Service, project_id: str
) -> None:
    me = session(service, project_id, "me", "codex")
    codex_b = session(service, project_id, "b", "codex")
    claude = session(service, project_id, "c", "claude-code")
    done = session(service, project_id, "d", "codex")
    service.update_session(done, SessionPatch(status=SessionStatus.COMPLETED))

    to_agent = service.send_message(
        MessageSend(from_session_id=me, to=["agent:codex"], body="hi")
    ).value
    assert [r.recipient for r in to_agent.recipients] == [codex_b]  # not me, not ended

    everyone = service.send_message(
        MessageSend(from_session_id=me, to=["project", claude, HUMANS], body="all")
    ).value
    assert [r.recipient for r in everyone.recipients] == [codex_b, claude, HUMANS]
    assert everyone.to == ["project", claude, HUMANS]


@pytest.mark.parametrize(
    ("to", "says"),
    [
        (["agent:gemini"], "no active session of agent 'gemini'"),
        (["sess_nope"], "is not a session of project"),
        (["bob"], "is not an address"),
        ([], "say who the message is for"),
    ],
)
def test_a_bad_address_is_refused_and_nothing_is_sent(
    service: Service, project_id: str, to: list[str], says: str
) -> None:
    me = session(service, project_id, "me")
    head = service.head()
    with pytest.raises(InvalidInput, match=says):
        service.send_message(MessageSend(from_session_id=me, to=to, body="hi"))
    assert service.head() == head


def test_an_ended_session_is_no_address(service: Service, project_id: str) -> None:
    me = session(service, project_id, "me")
    gone = session(service, project_id, "gone", "codex")
    service.update_session(gone, SessionPatch(status=SessionStatus.COMPLETED))
    with pytest.raises(InvalidInput, match=r"has ended .* address agent:codex, humans or project"):
        service.send_message(MessageSend(from_session_id=me, to=[gone], body="hi"))


def test_a_session_of_another_project_is_no_address(service: Service, project_id: str) -> None:
    other = service.create_project(ProjectCreate(name="Other")).value
    stranger = session(service, other.id, "s")
    me = session(service, project_id, "me")
    with pytest.raises(InvalidInput, match="is not a session of project"):
        service.send_message(MessageSend(from_session_id=me, to=[stranger], body="hi"))


def test_a_reply_joins_the_thread_and_goes_back_to_the_sender(
    service: Service, project_id: str
) -> None:
    agent = session(service, project_id, "agent")
    asked = service.send_message(
        MessageSend(from_session_id=agent, to=[HUMANS], subject="Schema", body="Drop `v1`?")
    ).value
    # A person (no session) replies: to the agent, in the thread, with its subject.
    reply = service.send_message(MessageSend(reply_to=asked.id, body="Yes")).value
    assert reply.thread_id == asked.id
    assert reply.project_id == project_id
    assert reply.from_session_id is None
    assert [r.recipient for r in reply.recipients] == [agent]
    assert reply.subject == "Schema"
    # The agent answers the person's reply: back to the humans.
    again = service.send_message(
        MessageSend(from_session_id=agent, reply_to=reply.id, body="Done")
    ).value
    assert [r.recipient for r in again.recipients] == [HUMANS]
    thread = service.list_messages(MessageFilter(thread_id=asked.id)).value
    assert [m.id for m in thread] == [asked.id, reply.id, again.id]


def test_a_person_reads_for_the_humans_and_is_named(service: Service, project_id: str) -> None:
    agent = session(service, project_id, "agent")
    sent = service.send_message(MessageSend(from_session_id=agent, to=[HUMANS], body="x")).value
    read = MessagesRead(recipient=HUMANS, message_ids=[sent.id])
    acting("alice/board", lambda: service.mark_read(read))
    acked = MessagesRead(recipient=HUMANS, message_ids=[sent.id], ack=True)
    head = service.head()
    acting("bob/cli", lambda: service.mark_read(acked))
    [event] = log_after(service, head)
    assert (event["data"]["readBy"], event["data"]["ackedBy"]) == ("alice/board", "bob/cli")
    state = service.get_message(sent.id).value.recipients[0]
    assert (state.read_by, state.acked_by) == ("alice/board", "bob/cli")


def test_marking_read_what_is_not_yours_or_not_there_is_refused(
    service: Service, project_id: str
) -> None:
    a = session(service, project_id, "a")
    b = session(service, project_id, "b")
    sent = service.send_message(MessageSend(from_session_id=a, to=[b], body="x")).value
    with pytest.raises(InvalidInput, match="not addressed to"):
        service.mark_read(MessagesRead(recipient=a, message_ids=[sent.id]))
    with pytest.raises(NotFound):
        service.mark_read(MessagesRead(recipient=b, message_ids=["msg_nope"]))
    with pytest.raises(NotFound):
        service.mark_read(MessagesRead(recipient="sess_nope", message_ids=[sent.id]))


def test_listings_page_from_either_end(service: Service, project_id: str) -> None:
    a = session(service, project_id, "a")
    ids = [
        service.send_message(MessageSend(from_session_id=a, to=[HUMANS], body=str(i))).value.id
        for i in range(5)
    ]
    oldest = service.list_messages(MessageFilter(project_id=project_id, limit=2)).value
    newest = service.list_messages(MessageFilter(project_id=project_id, limit=2, newest=True))
    assert [m.id for m in oldest] == ids[:2]
    assert [m.id for m in newest.value] == ids[3:]
    mine = service.list_messages(MessageFilter(from_session_id=a)).value
    assert len(mine) == 5


def test_a_session_marks_and_sends_in_one_unit(service: Service, project_id: str) -> None:
    """The MCP ``message`` tool's one write: read, acknowledged, then sent; all or none."""
    a = session(service, project_id, "a")
    b = session(service, project_id, "b")
    first, second = (
        service.send_message(MessageSend(from_session_id=a, to=[b], body=text)).value
        for text in ("one", "two")
    )
    head = service.head()
    bad = MessageExchange(
        read=[first.id], ack=[second.id], send=MessageSend(to=["bob"], body="reply")
    )
    with pytest.raises(InvalidInput, match="is not an address"):
        service.exchange_messages(b, bad)
    assert service.head() == head  # the marks were not kept either
    assert service.unread_count(b).value == 2

    # The same id read and acknowledged is acknowledged, once.
    both = MessageExchange(
        read=[first.id, second.id],
        ack=[second.id],
        send=MessageSend(reply_to=first.id, body="got both"),
    )
    done = service.exchange_messages(b, both, idempotency_key="x-1")
    events = log_after(service, head)
    assert [(e["event"], e["data"]["id"]) for e in events] == [
        ("message:read", first.id),
        ("message:read", second.id),
        ("message:sent", done.value.sent.id if done.value.sent else None),
    ]
    assert events[0]["data"]["ackedAt"] is None
    assert events[1]["data"]["ackedAt"] is not None
    assert done.value.marked == [first.id, second.id]
    sent = done.value.sent
    assert sent is not None
    assert sent.from_session_id == b  # from the session, back to the sender, in its thread
    assert [r.recipient for r in sent.recipients] == [a]
    assert sent.thread_id == first.id
    assert service.unread_count(b).value == 0
    again = service.exchange_messages(b, both, idempotency_key="x-1")
    assert again.value == done.value
    assert service.head() == done.seq  # the retry sent nothing more

    forged = MessageExchange(send=MessageSend(from_session_id=a, to=[b], body="as a"))
    with pytest.raises(InvalidInput, match=f"sends as itself, not as {a}"):
        service.exchange_messages(b, forged)


def test_the_humans_have_an_inbox_per_project(service: Service, project_id: str) -> None:
    other = service.create_project(ProjectCreate(name="Other")).value.id
    here = session(service, project_id, "here")
    there = session(service, other, "there")
    for sender in (here, here, there):
        service.send_message(MessageSend(from_session_id=sender, to=[HUMANS], body="x"))
    assert service.unread_count(HUMANS, project_id).value == 2
    assert service.unread_count(HUMANS, other).value == 1
    assert service.unread_count(HUMANS).value == 3


def test_a_body_is_bounded_and_unread_needs_a_recipient() -> None:
    with pytest.raises(ValidationError):
        MessageSend(to=[HUMANS], body="x" * (MESSAGE_MAX + 1))
    with pytest.raises(ValidationError, match="need a recipient"):
        MessageFilter(unread=True)
