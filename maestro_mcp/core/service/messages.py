"""Messages: sessions (agents) and people write to each other, in threads.

The rules (docs/protocol.md, "Messages"):
- A message is sent by a session (``fromSessionId``: an agent) or by the person the
  request acts as (none); its ``sender`` is the actor either way.
- ``to`` names sessions by id, ``agent:NAME`` (that agent's active sessions in the
  project), ``humans`` (the people watching the project: one shared inbox), or
  ``project`` (every active session and the humans). The addresses are expanded once,
  when the message is sent: each recipient then has a read and an acknowledged state
  of its own. The sender is never its own recipient by expansion (only by its id).
- A reply (``replyTo``) joins the thread of the message it answers; with no ``to`` it
  goes to that message's sender.
- Reading an inbox changes nothing: a message is read (or acknowledged) when its
  recipient says so, which is an event (``message:read``) like any change.
- A session may mark what it received and send in one unit (``exchange``: the MCP
  ``message`` tool): all of it or, if any part fails, nothing.
"""

from ..errors import InvalidInput, NotFound
from ..events import EventType
from ..ids import MESSAGE_PREFIX, SESSION_PREFIX, new_id
from ..models import (
    AGENT_ADDRESS_PREFIX,
    ENDED_SESSION_STATUSES,
    HUMANS,
    PROJECT_ADDRESS,
    RECIPIENTS_MAX,
    Message,
    MessageExchange,
    MessageRecipient,
    MessageSend,
    MessagesExchanged,
    MessagesRead,
    Session,
    SessionFilter,
)
from .rules import require_project, require_session, unique
from .transaction import Write


def send(w: Write, data: MessageSend) -> Message:
    """Events: ``message:sent`` (the message, with its recipients)."""
    sender_session = None
    if data.from_session_id is not None:
        sender_session = require_session(w.rows, data.from_session_id)
    replied = None
    if data.reply_to is not None:
        replied = w.rows.get_message(data.reply_to)
        if replied is None:
            raise NotFound(f"message {data.reply_to} not found (replyTo)", {"field": "replyTo"})
    project_id = _project_of(data, sender_session, replied)
    require_project(w.rows, project_id)
    if sender_session is not None and sender_session.project_id != project_id:
        raise InvalidInput(
            f"session {sender_session.id} belongs to project {sender_session.project_id}, "
            f"not {project_id}",
            {"field": "fromSessionId"},
        )
    if replied is not None and replied.project_id != project_id:
        raise InvalidInput(
            f"message {replied.id} belongs to project {replied.project_id}, not {project_id}",
            {"field": "replyTo"},
        )
    addresses = unique(data.to)
    if not addresses:
        if replied is None:
            raise InvalidInput(
                "say who the message is for (to): session ids, agent:NAME, humans or project",
                {"field": "to"},
            )
        addresses = [replied.from_session_id or HUMANS]
    sender_id = sender_session.id if sender_session is not None else None
    recipients = _recipients(w, project_id, addresses, sender_id)
    message_id = new_id(MESSAGE_PREFIX)
    message = Message(
        id=message_id,
        project_id=project_id,
        thread_id=replied.thread_id if replied is not None else message_id,
        reply_to=data.reply_to,
        from_session_id=sender_id,
        sender=w.actor,
        to=addresses,
        subject=data.subject or (replied.subject if replied is not None else ""),
        body=data.body,
        recipients=[MessageRecipient(recipient=r) for r in recipients],
        created_at=w.now,
    )
    w.rows.add_message(message)
    w.emit(EventType.MESSAGE_SENT, project_id, message)
    return message


def mark_read(w: Write, request: MessagesRead) -> list[Message]:
    """Mark messages read by one of their recipients (and acknowledged, with ``ack``).
    Per message whose state changed: ``message:read {id, projectId, threadId,
    recipient, sessionId?, readAt, readBy, ackedAt, ackedBy}``. Marking again changes nothing."""
    recipient = request.recipient
    if recipient != HUMANS:
        require_session(w.rows, recipient)
    changed: list[Message] = []
    for message_id in unique(request.message_ids):
        message = w.rows.get_message(message_id)
        if message is None:
            raise NotFound(f"message {message_id} not found", {"id": message_id})
        state = next((r for r in message.recipients if r.recipient == recipient), None)
        if state is None:
            raise InvalidInput(
                f"message {message_id} is not addressed to {recipient}",
                {"id": message_id, "recipient": recipient},
            )
        new = state.model_copy(
            update={
                "read_at": state.read_at or w.now,
                "read_by": state.read_by or w.actor,
                "acked_at": state.acked_at or (w.now if request.ack else None),
                "acked_by": state.acked_by or (w.actor if request.ack else None),
            }
        )
        if new == state:
            changed.append(message)
            continue
        w.rows.set_recipient(message_id, new)
        data = {
            "id": message.id,
            "projectId": message.project_id,
            "threadId": message.thread_id,
            "recipient": recipient,
            "readAt": new.read_at,
            "readBy": new.read_by,
            "ackedAt": new.acked_at,
            "ackedBy": new.acked_by,
        }
        if recipient.startswith(SESSION_PREFIX):
            data["sessionId"] = recipient
        w.emit(EventType.MESSAGE_READ, message.project_id, data)
        updated = [new if r.recipient == recipient else r for r in message.recipients]
        changed.append(message.model_copy(update={"recipients": updated}))
    return changed


def exchange(w: Write, session_id: str, request: MessageExchange) -> MessagesExchanged:
    """A session marks messages it received read (``read``) and acknowledged (``ack``,
    read too), then sends one (``send``), all or nothing. Events: those of
    ``mark_read`` (read, then acknowledged), then ``message:sent``."""
    require_session(w.rows, session_id)
    acked = unique(request.ack)
    only_read = [m for m in unique(request.read) if m not in acked]
    for ids, ack in ((only_read, False), (acked, True)):
        if ids:
            mark_read(w, MessagesRead(recipient=session_id, message_ids=ids, ack=ack))
    sent = None
    if request.send is not None:
        given = request.send.from_session_id
        if given is not None and given != session_id:
            raise InvalidInput(
                f"session {session_id} sends as itself, not as {given}",
                {"field": "fromSessionId"},
            )
        sent = send(w, request.send.model_copy(update={"from_session_id": session_id}))
    return MessagesExchanged(sent=sent, marked=[*only_read, *acked])


def _project_of(data: MessageSend, sender: Session | None, replied: Message | None) -> str:
    if data.project_id is not None:
        return data.project_id
    if sender is not None:
        return sender.project_id
    if replied is not None:
        return replied.project_id
    raise InvalidInput(
        "say which project the message is in (projectId), or send it from a session",
        {"field": "projectId"},
    )


def _recipients(
    w: Write, project_id: str, addresses: list[str], sender_id: str | None
) -> list[str]:
    """The addresses expanded to recipients (session ids and ``humans``), each once, in
    the order the addresses name them."""
    found: list[str] = []
    active = None

    def active_sessions() -> list[tuple[str, str | None]]:
        nonlocal active
        if active is None:
            # Only the active ones: a project's ended sessions are most of its history.
            where = SessionFilter(project_id=project_id, active=True)
            active = [(s.id, s.agent) for s in w.rows.list_sessions(where)]
        return active

    for address in addresses:
        if address == HUMANS:
            found.append(HUMANS)
        elif address == PROJECT_ADDRESS:
            found += [sid for sid, _ in active_sessions() if sid != sender_id]
            found.append(HUMANS)
        elif address.startswith(AGENT_ADDRESS_PREFIX):
            agent = address.removeprefix(AGENT_ADDRESS_PREFIX).strip()
            matched = [sid for sid, a in active_sessions() if a == agent and sid != sender_id]
            if not matched:
                raise InvalidInput(
                    f"no active session of agent {agent!r} in project {project_id} to send to",
                    {"field": "to", "address": address},
                )
            found += matched
        elif address.startswith(SESSION_PREFIX):
            session = w.rows.get_session(address)
            if session is None or session.project_id != project_id:
                raise InvalidInput(
                    f"session {address} is not a session of project {project_id}",
                    {"field": "to", "address": address},
                )
            if session.status in ENDED_SESSION_STATUSES:
                # Nobody would read it: say who might instead.
                instead = f"{AGENT_ADDRESS_PREFIX}{session.agent}, " if session.agent else ""
                raise InvalidInput(
                    f"session {address} has ended ({session.status.value}): nobody would read "
                    f"it; address {instead}{HUMANS} or {PROJECT_ADDRESS} instead",
                    {"field": "to", "address": address},
                )
            found.append(address)
        else:
            raise InvalidInput(
                f"{address!r} is not an address: use a session id ({SESSION_PREFIX}…), "
                f"{AGENT_ADDRESS_PREFIX}NAME, {HUMANS} or {PROJECT_ADDRESS}",
                {"field": "to", "address": address},
            )
    recipients = unique(found)
    if not recipients:
        raise InvalidInput(
            "nobody to send this to: the project has no other active session",
            {"field": "to"},
        )
    if len(recipients) > RECIPIENTS_MAX:
        raise InvalidInput(
            f"this message would go to {len(recipients):,} recipients, more than "
            f"{RECIPIENTS_MAX:,}: address fewer",
            {"field": "to"},
        )
    return recipients
