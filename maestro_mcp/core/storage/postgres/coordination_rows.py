"""PostgreSQL queries for coordination beyond tasks: messages (each recipient's state
apart), questions, file reservations. Used by ``PgRows``.

As everywhere in this store, a query of a write first locks the project of the rows it
reads or writes (rows.py); reads take no lock. Where SQLite, in process, makes two
queries, this makes one round trip:
- A message is read with its recipients (a JSON array of them, in the order the
  message named them, built by a subquery per message): one query for one message or
  a whole inbox.
- A new message and its recipients are one statement (the recipients' insert takes the
  message's ``ord`` from the insert before it), sent without waiting for an answer.
- The reaper's look for expired reservations, in a write, is the exception: it finds
  their projects, locks them, then reads the reservations, which the write then
  deletes as they were read (they must be the newest committed state: another
  instance may have released or replaced them meanwhile).
"""

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import psycopg

from ...ids import SESSION_PREFIX
from ...models import (
    Message,
    MessageFilter,
    MessageRecipient,
    Question,
    QuestionFilter,
    QuestionStatus,
    Reservation,
)
from ..coordination_sql import RESERVATION_COLUMNS, reservation_of
from .task_rows import upsert

if TYPE_CHECKING:
    from .store import Transaction

Connection = psycopg.Connection[tuple[Any, ...]]

_MESSAGE_COLUMNS = (
    "id, project_id, thread_id, reply_to, from_session_id, sender, addressed, subject, body, "
    "created_at"
)
# A message's columns (``m``), then its recipients: [[recipient, read_at, read_by,
# acked_at, acked_by], ...] in the order they were stored (message_recipients_by_message).
_MESSAGE_READ = (
    ", ".join(f"m.{c.strip()}" for c in _MESSAGE_COLUMNS.split(","))
    + ", (SELECT json_agg(json_build_array("
    + "r.recipient, r.read_at, r.read_by, r.acked_at, r.acked_by) ORDER BY r.ord)"
    + " FROM message_recipients AS r WHERE r.message_ord = m.ord)"
)
# One statement: the message, then its recipients with its ``ord``, in the order given.
_INSERT_MESSAGE = f"""
WITH message AS (
    INSERT INTO messages ({_MESSAGE_COLUMNS})
    VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING ord
)
INSERT INTO message_recipients (message_ord, recipient, read_at, read_by, acked_at, acked_by)
SELECT message.ord, r.recipient, r.read_at, r.read_by, r.acked_at, r.acked_by
FROM message, unnest(%s::text[], %s::bigint[], %s::text[], %s::bigint[], %s::text[])
    WITH ORDINALITY AS r(recipient, read_at, read_by, acked_at, acked_by, n)
ORDER BY r.n
"""
_QUESTION_COLUMNS = (
    "id, project_id, session_id, task_id, text, choices, allow_text, default_answer, "
    "deadline_at, status, answer, answered_by, answered_at, defaulted, created_at, "
    "updated_at, version"
)
_UPSERT_QUESTION = upsert("questions", _QUESTION_COLUMNS)
_UPSERT_RESERVATION = upsert("reservations", RESERVATION_COLUMNS)
# Literals, not parameters: the partial index questions_by_deadline is chosen only for a
# query whose condition says its predicate (a generic plan of a prepared statement
# would not know a parameter's value).
_OPEN = f"'{QuestionStatus.OPEN.value}'"
_ANSWERED = f"'{QuestionStatus.ANSWERED.value}'"


def _message(row: Sequence[Any]) -> Message:
    """A message from a row of ``_MESSAGE_READ``."""
    return Message(
        id=row[0],
        project_id=row[1],
        thread_id=row[2],
        reply_to=row[3],
        from_session_id=row[4],
        sender=row[5],
        to=row[6],
        subject=row[7],
        body=row[8],
        created_at=row[9],
        recipients=[
            MessageRecipient(
                recipient=r[0], read_at=r[1], read_by=r[2], acked_at=r[3], acked_by=r[4]
            )
            for r in row[10] or ()
        ],
    )


def _question(row: Sequence[Any]) -> Question:
    return Question(
        id=row[0],
        project_id=row[1],
        session_id=row[2],
        task_id=row[3],
        text=row[4],
        choices=row[5],
        allow_text=row[6],
        default=row[7],
        deadline_at=row[8],
        status=row[9],
        answer=row[10],
        answered_by=row[11],
        answered_at=row[12],
        defaulted=row[13],
        created_at=row[14],
        updated_at=row[15],
        version=row[16],
    )


def _where(conditions: Iterable[tuple[str, object]]) -> tuple[str, list[Any]]:
    """``column = %s`` for each condition whose value is given, joined by AND."""
    given = [(column, value) for column, value in conditions if value is not None]
    clause = " AND ".join(f"{column} = %s" for column, _ in given) or "TRUE"
    return clause, [value for _, value in given]


class CoordinationQueries:
    __slots__ = ()
    conn: Connection
    tx: "Transaction | None"

    def lock_projects(self, project_ids: Iterable[str | None]) -> None: ...  # rows.py
    def lock_tasks_projects(self, task_ids: Iterable[str]) -> None: ...  # rows.py
    def lock_sessions_projects(self, session_ids: Iterable[str]) -> None: ...  # rows.py
    def _lock_owners(self, table: str, ids: Iterable[str]) -> None: ...  # rows.py

    # --- messages -----------------------------------------------------------------------

    def add_message(self, message: Message) -> None:
        self.lock_projects([message.project_id])
        recipients = message.recipients
        self.conn.execute(
            _INSERT_MESSAGE,
            (
                message.id,
                message.project_id,
                message.thread_id,
                message.reply_to,
                message.from_session_id,
                message.sender,
                list(message.to),
                message.subject,
                message.body,
                message.created_at,
                [r.recipient for r in recipients],
                [r.read_at for r in recipients],
                [r.read_by for r in recipients],
                [r.acked_at for r in recipients],
                [r.acked_by for r in recipients],
            ),
        )

    def get_message(self, message_id: str) -> Message | None:
        self._lock_owners("messages", [message_id])
        row = self.conn.execute(
            f"SELECT {_MESSAGE_READ} FROM messages AS m WHERE m.id = %s", (message_id,)
        ).fetchone()
        return None if row is None else _message(row)

    def list_messages(self, where: MessageFilter) -> list[Message]:
        if self.tx is not None:  # a write acts on what it reads: lock what it names
            self.lock_projects([where.project_id])
            self.lock_sessions_projects(
                s
                for s in (where.recipient, where.from_session_id)
                if s is not None and s.startswith(SESSION_PREFIX)
            )
            if where.thread_id is not None:
                self._lock_owners("messages", [where.thread_id])
        source = "messages AS m"
        params: list[Any] = []
        state: list[str] = []
        if where.recipient is not None:
            # By the recipient's primary key, (recipient, message_ord), in message order
            # (what it has not read: by message_recipients_unread, in the same order).
            source += (
                " JOIN message_recipients AS mine ON mine.message_ord = m.ord"
                " AND mine.recipient = %s"
            )
            params.append(where.recipient)
            if where.unread:
                state.append("mine.read_at IS NULL")
            if where.unacked:
                state.append("mine.acked_at IS NULL")
        condition, values = _where(
            (
                ("m.project_id", where.project_id),
                ("m.thread_id", where.thread_id),
                ("m.from_session_id", where.from_session_id),
            )
        )
        condition = " AND ".join([condition, *state])
        direction = "DESC" if where.newest else "ASC"
        rows = self.conn.execute(
            f"SELECT {_MESSAGE_READ} FROM {source} WHERE {condition} "
            f"ORDER BY m.ord {direction} LIMIT %s",
            (*params, *values, where.limit),
        ).fetchall()
        found = [_message(row) for row in rows]
        return found[::-1] if where.newest else found

    def set_recipient(self, message_id: str, state: MessageRecipient) -> None:
        self._lock_owners("messages", [message_id])
        self.conn.execute(
            "UPDATE message_recipients SET read_at = %s, read_by = %s, acked_at = %s, "
            "acked_by = %s "
            "WHERE recipient = %s AND message_ord = (SELECT ord FROM messages WHERE id = %s)",
            (
                state.read_at,
                state.read_by,
                state.acked_at,
                state.acked_by,
                state.recipient,
                message_id,
            ),
        )

    def unread_count(self, recipient: str, project_id: str | None = None) -> int:
        if recipient.startswith(SESSION_PREFIX):
            self.lock_sessions_projects([recipient])
        if project_id is not None:
            self.lock_projects([project_id])
            row = self.conn.execute(
                "SELECT count(*) FROM message_recipients AS r JOIN messages AS m "
                "ON m.ord = r.message_ord WHERE r.recipient = %s AND r.read_at IS NULL "
                "AND m.project_id = %s",
                (recipient, project_id),
            ).fetchone()
        else:
            row = self.conn.execute(
                "SELECT count(*) FROM message_recipients WHERE recipient = %s AND read_at IS NULL",
                (recipient,),
            ).fetchone()
        assert row is not None
        return int(row[0])

    # --- questions ----------------------------------------------------------------------

    def save_question(self, question: Question) -> None:
        self.lock_projects([question.project_id])
        self.conn.execute(
            _UPSERT_QUESTION,
            (
                question.id,
                question.project_id,
                question.session_id,
                question.task_id,
                question.text,
                list(question.choices),
                question.allow_text,
                question.default,
                question.deadline_at,
                question.status.value,
                question.answer,
                question.answered_by,
                question.answered_at,
                question.defaulted,
                question.created_at,
                question.updated_at,
                question.version,
            ),
        )

    def get_question(self, question_id: str) -> Question | None:
        self._lock_owners("questions", [question_id])
        row = self.conn.execute(
            f"SELECT {_QUESTION_COLUMNS} FROM questions WHERE id = %s", (question_id,)
        ).fetchone()
        return None if row is None else _question(row)

    def list_questions(self, where: QuestionFilter) -> list[Question]:
        self.lock_projects([where.project_id])
        if where.session_id is not None:
            self.lock_sessions_projects([where.session_id])
        condition, params = _where(
            (
                ("project_id", where.project_id),
                ("session_id", where.session_id),
                ("status", where.status.value if where.status is not None else None),
            )
        )
        direction = " DESC" if where.newest else ""
        rows = self.conn.execute(
            f"SELECT {_QUESTION_COLUMNS} FROM questions WHERE {condition} "
            f"ORDER BY ord{direction} LIMIT %s",
            (*params, where.limit),
        )
        found = [_question(row) for row in rows]
        return found[::-1] if where.newest else found

    def due_questions(self, now: int) -> list[str]:
        # Across projects, unlocked: the write that answers them reads each again under
        # its project's lock (get_question) and checks it is still due.
        rows = self.conn.execute(
            f"SELECT id FROM questions WHERE status = {_OPEN} AND deadline_at IS NOT NULL "
            "AND deadline_at <= %s ORDER BY deadline_at, ord",
            (now,),
        )
        return [row[0] for row in rows]

    def undelivered_answers(self, session_id: str) -> list[Question]:
        self.lock_sessions_projects([session_id])
        rows = self.conn.execute(
            f"SELECT {_QUESTION_COLUMNS} FROM questions WHERE session_id = %s "
            f"AND status = {_ANSWERED} AND delivered_at IS NULL ORDER BY ord",
            (session_id,),
        )
        return [_question(row) for row in rows]

    def mark_delivered(self, question_ids: list[str], now: int) -> None:
        self._lock_owners("questions", question_ids)
        self.conn.execute(
            "UPDATE questions SET delivered_at = %s WHERE id = ANY(%s)", (now, question_ids)
        )

    # --- file reservations --------------------------------------------------------------

    def save_reservation(self, reservation: Reservation) -> None:
        self.lock_projects([reservation.project_id])
        self.conn.execute(
            _UPSERT_RESERVATION,
            (
                reservation.id,
                reservation.project_id,
                reservation.session_id,
                reservation.task_id,
                reservation.pattern,
                reservation.exclusive,
                reservation.created_at,
                reservation.expires_at,
                reservation.lease_seconds * 1000,
            ),
        )

    def get_reservation(self, reservation_id: str) -> Reservation | None:
        self._lock_owners("reservations", [reservation_id])
        row = self.conn.execute(
            f"SELECT {RESERVATION_COLUMNS} FROM reservations WHERE id = %s", (reservation_id,)
        ).fetchone()
        return None if row is None else reservation_of(row)

    def delete_reservations(self, reservation_ids: list[str]) -> None:
        self._lock_owners("reservations", reservation_ids)
        self.conn.execute("DELETE FROM reservations WHERE id = ANY(%s)", (reservation_ids,))

    def list_reservations(
        self,
        *,
        project_id: str | None = None,
        session_id: str | None = None,
        task_id: str | None = None,
    ) -> list[Reservation]:
        self.lock_projects([project_id])
        if session_id is not None:
            self.lock_sessions_projects([session_id])
        if task_id is not None:
            self.lock_tasks_projects([task_id])
        condition, params = _where(
            (("project_id", project_id), ("session_id", session_id), ("task_id", task_id))
        )
        rows = self.conn.execute(
            f"SELECT {RESERVATION_COLUMNS} FROM reservations WHERE {condition} ORDER BY ord",
            params,
        )
        return [reservation_of(row) for row in rows]

    def expired_reservations(self, now: int) -> list[Reservation]:
        expired = f"SELECT {RESERVATION_COLUMNS} FROM reservations WHERE expires_at <= %s"
        order = " ORDER BY expires_at, ord"
        if self.tx is None:
            return [reservation_of(row) for row in self.conn.execute(expired + order, (now,))]
        # The write releases what this returns without reading it again: read it under
        # the locks of the projects it is in (see the module's docstring).
        projects = [
            row[0]
            for row in self.conn.execute(
                "SELECT DISTINCT project_id FROM reservations WHERE expires_at <= %s", (now,)
            )
        ]
        if not projects:
            return []
        self.lock_projects(projects)
        rows = self.conn.execute(expired + " AND project_id = ANY(%s)" + order, (now, projects))
        return [reservation_of(row) for row in rows]
